import type { Redis } from 'ioredis';
import type { JobsOptions } from 'bullmq';
import type { PostbackEvent } from '../events/event.js';
import { validateEvents } from '../events/validate-event.js';
import type { CompiledEndpoint, SkipReason } from '../endpoints/compile-endpoint.js';
import { UnroutableEventError } from '../endpoints/errors.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { UnavailableError, ValidationError, type ErrorDetail } from '../errors/base-error.js';
import { createRecords, deleteRecords, type NewRecord } from '../history/create-records.js';
import type { HistoryContext } from '../history/history-context.js';
import type { RecordStatic } from '../history/postback-record.js';
import { SecretMasker } from '../endpoints/secrets.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RedisKeys } from '../redis/keys.js';
import type { HealthBoard } from '../health/health-board.js';
import { subjectOf, type Lane } from '../health/health-state.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { JOB_NAME, toJobData, type DeliveryJobData } from './job-data.js';
import { newPostbackId } from '../endpoints/postback-id.js';
import { BACKOFF_TYPE } from './retry-policy.js';

export interface ProduceResult {
  readonly id: string;
  readonly postbacks: string[];
  readonly duplicate: boolean;
  readonly skipped: { endpoint_id: string; reason: SkipReason | 'duplicate' }[];
}

export interface ProducerDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  /** One queue per lane: healthy endpoints' postbacks never wait behind degraded ones. */
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  /** Endpoint health, for the lane and for skipping disabled endpoints. */
  readonly health: HealthBoard;
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  readonly defaultScheduleS: readonly number[];
  readonly defaultTimeoutMs: number;
  readonly dedupeTtlMs: number;
  readonly metrics?: Metrics | undefined;
}

/** One postback about to be written: its record and job. */
interface EnqueueItem {
  readonly id: string;
  /** Undefined when replaying a postback whose endpoint is gone (defaults apply). */
  readonly endpoint: CompiledEndpoint | undefined;
  readonly endpointId?: string;
  readonly request: RenderedRequest;
  readonly dedupeKey: string | undefined;
  readonly record: NewRecord['data'];
}

/** Restores nothing: a recorded request with placeholders and no endpoint to fill them fails. */
const NO_SECRETS = new SecretMasker([]);

interface Planned {
  readonly eventIndex: number;
  readonly event: PostbackEvent;
  readonly endpoint: CompiledEndpoint;
  readonly id: string;
  readonly request: RenderedRequest;
  dedupeKey: string | undefined;
}

/** A recorded postback to send again: its record (or list row) and its replayable request. */
export interface ReplaySource {
  readonly original: RecordStatic & { readonly id: string };
  /** As history keeps it for replay: secrets as placeholders. */
  readonly request: RenderedRequest;
}

/** Per source, in order: the new postback id, or why it cannot be replayed. */
export type ReplayResult = { readonly id: string } | { readonly error: ValidationError };

/**
 * The producer: validates events, fans them out to endpoints, drops duplicates, renders
 * each postback's request once, writes `queued` history records, then enqueues one job per
 * postback with addBulk. A batch is all or nothing: an invalid event rejects the batch
 * before anything is written, and a failed enqueue undoes its records and dedupe claims.
 */
export class Producer {
  private readonly deps: ProducerDeps;

  constructor(deps: ProducerDeps) {
    this.deps = deps;
  }

  /** Raw input from the API, CLI or a library caller. Throws ValidationError (400) or UnavailableError (503). */
  async produce(raws: readonly unknown[], options: { force?: boolean; batch?: boolean } = {}): Promise<ProduceResult[]> {
    const batch = options.batch ?? raws.length !== 1;
    return this.produceEvents(validateEvents(raws, { batch }), { ...options, batch });
  }

  async produceEvents(events: readonly PostbackEvent[], options: { force?: boolean; batch?: boolean } = {}): Promise<ProduceResult[]> {
    const { results, planned } = await this.plan(events, options);
    const fresh = await this.guard(() => this.claim(planned));
    for (const p of planned) {
      const r = results[p.eventIndex]!;
      if (fresh.has(p)) r.postbacks.push(p.id);
      else {
        r.skipped.push({ endpoint_id: p.endpoint.id, reason: 'duplicate' });
        (r as { duplicate: boolean }).duplicate = true;
      }
    }
    const now = Date.now();
    const toSend = planned.filter((p) => fresh.has(p));
    await this.enqueue(
      toSend.map((p) => ({
        id: p.id,
        endpoint: p.endpoint,
        request: p.request,
        dedupeKey: p.dedupeKey,
        record: {
          event_id: p.event.id,
          endpoint_id: p.endpoint.id,
          publisher_id: p.endpoint.publisherId ?? p.event.publisherId ?? null,
          offer_id: fieldText(p.event.fields.offer_id),
          advertiser_name: fieldText(p.event.fields.advertiser_name),
          payout: p.event.payout ?? null,
          created_ms: now,
          request: p.endpoint.maskRequest(p.request),
          ...(p.endpoint.delayS > 0 ? { delay_s: p.endpoint.delayS } : {}),
        },
      })),
      now,
      false,
    );
    const m = this.deps.metrics;
    if (m) {
      for (const r of results) for (const s of r.skipped) m.skipped.inc({ reason: s.reason });
    }
    return results;
  }

  /**
   * What `produce` would send, without writing anything: each postback's endpoint and
   * rendered request (secrets masked). For `postback replay --dry-run`.
   */
  async dryRun(raws: readonly unknown[]): Promise<{ event_id: string; endpoint_id: string; request: RenderedRequest }[]> {
    const events = validateEvents(raws, { batch: true });
    const { planned } = await this.plan(events, { batch: true, force: true });
    return planned.map((p) => ({ event_id: p.event.id, endpoint_id: p.endpoint.id, request: p.endpoint.maskRequest(p.request) }));
  }

  /** Routes and renders: pure but for reading the registry. Throws when any event routes nowhere. */
  private async plan(
    events: readonly PostbackEvent[],
    options: { force?: boolean; batch?: boolean },
  ): Promise<{ results: ProduceResult[]; planned: Planned[] }> {
    const { registry, health } = this.deps;
    await this.guard(() => Promise.all([registry.refresh(), health.refreshIfStale()]));
    const batch = options.batch ?? events.length !== 1;
    const now = Date.now();
    const details: ErrorDetail[] = [];
    const results: ProduceResult[] = [];
    const planned: Planned[] = [];
    events.forEach((event, i) => {
      const result: ProduceResult = { id: event.id, postbacks: [], duplicate: false, skipped: [] };
      results.push(result);
      const prefix = batch ? `events[${i}].` : '';
      for (const endpoint of this.route(event, prefix, details)) {
        const reason = endpoint.skipReason(event) ?? (health.stateOf(endpoint.id) === 'disabled' ? 'disabled' : undefined);
        if (reason !== undefined) {
          result.skipped.push({ endpoint_id: endpoint.id, reason });
          continue;
        }
        const id = newPostbackId(now);
        let request: RenderedRequest;
        try {
          request = endpoint.render(event, id);
        } catch (err) {
          if (err instanceof ValidationError) {
            details.push(...err.details.map((d) => ({ path: `${prefix}${d.path}`, message: err.message })));
            continue;
          }
          throw err;
        }
        const dedupeKey = event.idGenerated || options.force ? undefined : this.deps.keys.dedupe(event.id, endpoint.dedupeScope);
        planned.push({ eventIndex: i, event, endpoint, id, request, dedupeKey });
      }
    });
    if (details.length > 0) {
      throw new UnroutableEventError(`cannot enqueue: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
    }
    return { results, planned };
  }

  /**
   * Sends recorded requests again as new postbacks (bypassing dedupe on purpose), each
   * linked to its original, with the endpoint's current secrets put back. A source whose
   * secrets are gone (endpoint deleted or changed) is not sent: its result is the error.
   */
  async replay(sources: readonly ReplaySource[]): Promise<ReplayResult[]> {
    const { registry } = this.deps;
    await this.guard(() => registry.refresh());
    const now = Date.now();
    const results: ReplayResult[] = [];
    const items: EnqueueItem[] = [];
    for (const { original, request: recorded } of sources) {
      const endpoint = registry.find(original.endpoint_id);
      let request: RenderedRequest;
      try {
        request = (endpoint?.masker ?? NO_SECRETS).restoreRequest(recorded);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        results.push({ error: err });
        continue;
      }
      const id = newPostbackId(now);
      results.push({ id });
      items.push({
        id,
        endpoint,
        endpointId: original.endpoint_id,
        request,
        dedupeKey: undefined,
        record: {
          event_id: original.event_id,
          endpoint_id: original.endpoint_id,
          publisher_id: original.publisher_id,
          offer_id: original.offer_id,
          advertiser_name: original.advertiser_name,
          payout: original.payout,
          created_ms: now,
          request: endpoint ? endpoint.maskRequest(request) : request,
          replay_of: original.id,
        },
      });
    }
    await this.enqueue(items, now, true);
    return results;
  }

  private route(event: PostbackEvent, prefix: string, details: ErrorDetail[]): readonly CompiledEndpoint[] {
    const { registry } = this.deps;
    if (event.endpointId !== undefined) {
      const ep = registry.find(event.endpointId);
      if (ep === undefined) {
        const broken = registry.broken.get(event.endpointId);
        const name = JSON.stringify(event.endpointId);
        details.push({ path: `${prefix}endpoint_id`, message: broken ? `endpoint ${name} is stored but invalid: ${broken.message}` : `unknown endpoint ${name}` });
        return [];
      }
      return [ep];
    }
    if (event.publisherId !== undefined && event.target === undefined) {
      const eps = registry.forPublisher(event.publisherId);
      if (eps.length === 0) {
        details.push({ path: `${prefix}publisher_id`, message: `no endpoint for publisher ${JSON.stringify(event.publisherId)}` });
      }
      return eps;
    }
    if (event.target !== undefined) {
      try {
        return [registry.compileInline(event.target, `${prefix}target`)];
      } catch (err) {
        if (err instanceof ValidationError) {
          details.push(...err.details);
          return [];
        }
        throw err;
      }
    }
    return [];
  }

  /** Claims dedupe keys (SET NX) and returns the postbacks that are not duplicates. */
  private async claim(planned: readonly Planned[]): Promise<Set<Planned>> {
    const fresh = new Set<Planned>();
    const claiming = planned.filter((p) => p.dedupeKey !== undefined);
    for (const p of planned) if (p.dedupeKey === undefined) fresh.add(p);
    if (claiming.length === 0) return fresh;
    const pipe = this.deps.redis.pipeline();
    for (const p of claiming) pipe.set(p.dedupeKey!, '1', 'PX', this.deps.dedupeTtlMs, 'NX');
    const res = await pipe.exec();
    claiming.forEach((p, i) => {
      const [err, value] = res?.[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (value === 'OK') fresh.add(p);
    });
    return fresh;
  }

  private async enqueue(
    items: readonly EnqueueItem[],
    now: number,
    replay: boolean,
  ): Promise<void> {
    if (items.length === 0) return;
    const { redis, history, queues, health, defaultScheduleS } = this.deps;
    const records: NewRecord[] = [];
    const jobs: Record<Lane, { name: string; data: DeliveryJobData; opts: JobsOptions }[]> = { fast: [], slow: [] };
    for (const item of items) {
      const ep = item.endpoint;
      const schedule = ep?.scheduleS ?? defaultScheduleS;
      const delayMs = Math.round(((ep?.delayS ?? 0) + (schedule[0] ?? 0)) * 1000);
      const masked = item.record.request;
      records.push({
        id: item.id,
        data: item.record,
        replayRequest: masked === item.request || ep === undefined ? undefined : ep.tokenizeRequest(item.request),
        nextAttemptMs: now + delayMs,
      });
      const data = toJobData(item.request, {
        ep: ep?.id ?? item.endpointId ?? 'inline',
        to: ep?.timeoutMs ?? this.deps.defaultTimeoutMs,
        sch: schedule,
        ...(ep?.inline && ep.secrets.length > 0 ? { sk: ep.secrets } : {}),
        ...(ep?.successSpec !== undefined ? { ok: ep.successSpec } : {}),
        ...(ep?.webhookSigner !== undefined
          ? ep.inline
            ? { sg: ep.definition.signing! }
            : { ws: 1 as const }
          : {}),
      });
      jobs[health.laneOf(subjectOf(data.ep, data.u))].push({
        name: JOB_NAME,
        data,
        opts: {
          jobId: item.id,
          attempts: schedule.length,
          backoff: { type: BACKOFF_TYPE },
          // History keeps each attempt's error class; BullMQ's stack traces would only grow the job.
          stackTraceLimit: 0,
          ...(delayMs > 0 ? { delay: delayMs } : {}),
        },
      });
    }
    const tx = redis.multi();
    createRecords(history, tx, records);
    try {
      await this.guard(async () => {
        // A MULTI reports a failed command in its results, not by rejecting: check them.
        const replies = await tx.exec();
        const failed = replies?.find(([err]) => err !== null);
        if (replies === null || failed) throw failed?.[0] ?? new Error('transaction aborted');
      });
      await this.guard(() => Promise.all([addAll(queues.fast, jobs.fast), addAll(queues.slow, jobs.slow)]));
    } catch (err) {
      // Undo what we wrote so nothing is half-done, except for jobs Redis did create (a
      // timeout does not say whether addBulk ran): those keep their record and dedupe claim.
      // If even the check fails (Redis away), take it as no job: undo all, or leave it to the orphan reconciler.
      const created = await this.existingJobs(records.map((r) => r.id)).catch(() => new Set<string>());
      const undoItems = items.filter((i) => !created.has(i.id));
      const undo = redis.multi();
      deleteRecords(history, undo, undoItems.map((i) => i.id));
      const claimed = undoItems.map((i) => i.dedupeKey).filter((k): k is string => k !== undefined);
      if (claimed.length > 0) undo.del(...claimed);
      // Best effort, the caller gets the original error either way: records an undo could not
      // delete stay `queued` without a job, and the workers' orphan reconciler re-enqueues them.
      await undo.exec().catch(() => undefined);
      throw err;
    }
    this.deps.metrics?.enqueued.inc({ replay: replay ? 'true' : 'false' }, items.length);
  }

  private async existingJobs(ids: readonly string[]): Promise<Set<string>> {
    const pipe = this.deps.redis.pipeline();
    const { fast, slow } = this.deps.queues;
    for (const id of ids) pipe.exists(`${fast.qualifiedName}:${id}`, `${slow.qualifiedName}:${id}`);
    const res = (await pipe.exec()) ?? [];
    return new Set(ids.filter((_, i) => Number(res[i]?.[1] ?? 0) > 0));
  }

  /** Maps Redis connection failures to UnavailableError (503): nothing was accepted. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ValidationError || err instanceof UnavailableError) throw err;
      throw new UnavailableError(`Redis unavailable: ${(err as Error).message}`);
    }
  }
}

async function addAll(queue: DeliveryQueue, jobs: Parameters<DeliveryQueue['addBulk']>[0]): Promise<void> {
  if (jobs.length > 0) await queue.addBulk(jobs);
}

function fieldText(v: unknown): string | null {
  return v === undefined || v === null ? null : String(v);
}

