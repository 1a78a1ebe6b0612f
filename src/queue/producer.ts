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
import type { Metrics } from '../metrics/metrics.js';
import type { RedisKeys } from '../redis/keys.js';
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
  readonly queue: DeliveryQueue;
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  readonly defaultScheduleS: readonly number[];
  readonly defaultTimeoutMs: number;
  readonly dedupeTtlMs: number;
  readonly metrics?: Metrics | undefined;
}

interface Planned {
  readonly eventIndex: number;
  readonly event: PostbackEvent;
  readonly endpoint: CompiledEndpoint;
  readonly id: string;
  readonly request: RenderedRequest;
  dedupeKey: string | undefined;
}

export interface ReplaySource {
  readonly originalId: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly publisherId: string | null;
  readonly offerId: string | null;
  readonly advertiserName: string | null;
  readonly payout: number | null;
  readonly request: RenderedRequest;
}

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
    const events = validateEvents(raws, { batch: options.batch ?? raws.length !== 1 });
    return this.produceEvents(events, { ...options, batch: options.batch ?? raws.length !== 1 });
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
    const { registry } = this.deps;
    await this.guard(() => registry.refresh());
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
        const reason = endpoint.skipReason(event);
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
   * linked to its original. Returns the new ids in order.
   */
  async replay(sources: readonly ReplaySource[]): Promise<string[]> {
    const { registry } = this.deps;
    await this.guard(() => registry.refresh());
    const now = Date.now();
    const items = sources.map((s) => {
      const endpoint = registry.find(s.endpointId);
      const id = newPostbackId(now);
      // Secrets were stored as placeholders: put the endpoint's current ones back.
      const request = endpoint ? endpoint.restoreRequest(s.request) : assertNoSecrets(s.request);
      return {
        id,
        endpoint,
        endpointId: s.endpointId,
        request,
        dedupeKey: undefined,
        record: {
          event_id: s.eventId,
          endpoint_id: s.endpointId,
          publisher_id: s.publisherId,
          offer_id: s.offerId,
          advertiser_name: s.advertiserName,
          payout: s.payout,
          created_ms: now,
          request: endpoint ? endpoint.maskRequest(request) : request,
          replay_of: s.originalId,
        },
      };
    });
    await this.enqueue(items, now, true);
    return items.map((i) => i.id);
  }

  private route(event: PostbackEvent, prefix: string, details: ErrorDetail[]): readonly CompiledEndpoint[] {
    const { registry } = this.deps;
    if (event.endpointId !== undefined) {
      const ep = registry.find(event.endpointId);
      if (ep === undefined) {
        details.push({ path: `${prefix}endpoint_id`, message: `unknown endpoint ${JSON.stringify(event.endpointId)}` });
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
    items: readonly {
      id: string;
      endpoint: CompiledEndpoint | undefined;
      endpointId?: string;
      request: RenderedRequest;
      dedupeKey: string | undefined;
      record: NewRecord['data'];
    }[],
    now: number,
    replay: boolean,
  ): Promise<void> {
    if (items.length === 0) return;
    const { redis, history, queue, defaultScheduleS } = this.deps;
    const records: NewRecord[] = [];
    const jobs: { name: string; data: DeliveryJobData; opts: JobsOptions }[] = [];
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
      jobs.push({
        name: JOB_NAME,
        data,
        opts: {
          jobId: item.id,
          attempts: schedule.length,
          backoff: { type: BACKOFF_TYPE },
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
      await this.guard(() => queue.addBulk(jobs));
    } catch (err) {
      // Undo what we wrote so nothing is half-done, except for jobs Redis did create (a
      // timeout does not say whether addBulk ran): those keep their record and dedupe claim.
      const created = await this.existingJobs(records.map((r) => r.id)).catch(() => new Set<string>());
      const undoItems = items.filter((i) => !created.has(i.id));
      const undo = redis.multi();
      deleteRecords(history, undo, undoItems.map((i) => i.id));
      const claimed = undoItems.map((i) => i.dedupeKey).filter((k): k is string => k !== undefined);
      if (claimed.length > 0) undo.del(...claimed);
      await undo.exec().catch(() => undefined);
      throw err;
    }
    this.deps.metrics?.enqueued.inc({ replay: replay ? 'true' : 'false' }, items.length);
  }

  private async existingJobs(ids: readonly string[]): Promise<Set<string>> {
    const pipe = this.deps.redis.pipeline();
    for (const id of ids) pipe.exists(`${this.deps.queue.qualifiedName}:${id}`);
    const res = (await pipe.exec()) ?? [];
    return new Set(ids.filter((_, i) => res[i]?.[1] === 1));
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

function assertNoSecrets(request: RenderedRequest): RenderedRequest {
  const text = `${request.url}${JSON.stringify(request.headers)}${request.body ?? ''}`;
  if (text.includes('\u0000') || text.includes('\\u0000')) {
    throw new ValidationError('the recorded request needs secrets of an endpoint that no longer exists; it cannot be replayed', [
      { path: 'endpoint_id', message: 'endpoint not found' },
    ]);
  }
  return request;
}

function fieldText(v: unknown): string | null {
  return v === undefined || v === null ? null : String(v);
}

