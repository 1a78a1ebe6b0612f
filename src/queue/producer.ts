import type { RedisClient } from '../redis/connection.js';
import type { FieldValue, PostbackEvent } from '../events/event.js';
import { validateEvents } from '../events/validate-event.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import type { Metrics } from '../metrics/metrics.js';
import { guardRedis } from '../redis/guard-redis.js';
import type { RedisKeys } from '../redis/keys.js';
import { claimDedupe } from './dedupe-claims.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { enqueuePostbacks, type EnqueueContext, type EnqueueItem } from './enqueue-postbacks.js';
import { planPostbacks, type PlannedPostback, type PlanOptions, type ProduceResult } from './plan-postbacks.js';
import { replayItems, type ReplayResult, type ReplaySource } from './replay-items.js';

export type { ProduceResult } from './plan-postbacks.js';
export type { ReplayResult, ReplaySource } from './replay-items.js';

export interface ProducerDeps {
  readonly redis: RedisClient;
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
  /** Most postbacks per batch job (1: no batching). */
  readonly batchSize?: number;
  readonly metrics?: Metrics | undefined;
}

/**
 * The producer: validate (validate-event), plan (route, skip, render: plan-postbacks),
 * drop duplicates (dedupe-claims), then write records and jobs (enqueue-postbacks). A batch
 * is all or nothing: an invalid event rejects the batch before anything is written, and a
 * failed enqueue undoes its records and dedupe claims. Redis being away is a 503
 * (UnavailableError); any other error is a bug and goes on as it is.
 */
export class Producer {
  private readonly deps: ProducerDeps;
  private readonly enqueueContext: EnqueueContext;

  constructor(deps: ProducerDeps) {
    this.deps = deps;
    this.enqueueContext = {
      redis: deps.redis,
      history: deps.history,
      queues: deps.queues,
      health: deps.health,
      defaults: { scheduleS: deps.defaultScheduleS, timeoutMs: deps.defaultTimeoutMs },
      batchSize: deps.batchSize ?? 1,
    };
  }

  /** Raw input from the API, CLI or a library caller. Throws ValidationError (400) or UnavailableError (503). */
  async produce(raws: readonly unknown[], options: PlanOptions = {}): Promise<ProduceResult[]> {
    const batch = options.batch ?? raws.length !== 1;
    return this.produceEvents(validateEvents(raws, { batch }), { ...options, batch });
  }

  async produceEvents(events: readonly PostbackEvent[], options: PlanOptions = {}): Promise<ProduceResult[]> {
    const { results, planned } = await this.plan(events, options);
    const fresh = await guardRedis(() => claimDedupe(this.deps.redis, planned, this.deps.dedupeTtlMs));
    const toSend: PlannedPostback[] = [];
    for (const p of planned) {
      const r = results[p.eventIndex]!;
      if (fresh.has(p)) {
        r.postbacks.push(p.id);
        toSend.push(p);
      } else {
        r.skipped.push({ endpoint_id: p.endpoint.id, reason: 'duplicate' });
        (r as { duplicate: boolean }).duplicate = true;
      }
    }
    const now = Date.now();
    await this.enqueue(toSend.map(newPostbackItem), now, false);
    const m = this.deps.metrics;
    if (m) for (const r of results) for (const s of r.skipped) m.skipped.inc({ reason: s.reason });
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

  /**
   * Sends recorded requests again as new postbacks (bypassing dedupe on purpose), each
   * linked to its original, with the endpoint's current secrets put back. A source whose
   * secrets are gone (endpoint deleted or changed) is not sent: its result is the error.
   */
  async replay(sources: readonly ReplaySource[]): Promise<ReplayResult[]> {
    await guardRedis(() => this.deps.registry.refresh());
    const now = Date.now();
    const { results, items } = replayItems(this.deps.registry, this.deps.keys, sources, now);
    await this.enqueue(items, now, true);
    return results;
  }

  private async plan(events: readonly PostbackEvent[], options: PlanOptions) {
    const { registry, health, keys } = this.deps;
    await guardRedis(() => Promise.all([registry.refresh(), health.refreshIfStale()]));
    return planPostbacks(registry, health, keys, events, options);
  }

  private async enqueue(items: readonly EnqueueItem[], now: number, replay: boolean): Promise<void> {
    await enqueuePostbacks(this.enqueueContext, items, now);
    if (items.length > 0) this.deps.metrics?.enqueued.inc({ replay: replay ? 'true' : 'false' }, items.length);
  }
}

/** A planned postback as it is written: the record's static part, secrets masked. */
function newPostbackItem(p: PlannedPostback): EnqueueItem {
  return {
    id: p.id,
    endpoint: p.endpoint,
    request: p.request,
    dedupeKey: p.dedupeKey,
    chainKey: p.chainKey,
    record: {
      event_id: p.event.id,
      endpoint_id: p.endpoint.id,
      publisher_id: p.endpoint.publisherId ?? p.event.publisherId ?? null,
      offer_id: fieldText(p.event.fields.offer_id),
      advertiser_name: fieldText(p.event.fields.advertiser_name),
      payout: p.event.payout ?? null,
      created_ms: p.createdMs,
      request: p.endpoint.maskRequest(p.request),
      ...(p.endpoint.delayS > 0 ? { delay_s: p.endpoint.delayS } : {}),
      ...(p.orderingKey !== undefined ? { ordering_key: p.orderingKey } : {}),
    },
  };
}

function fieldText(v: FieldValue | null | undefined): string | null {
  return v === undefined || v === null ? null : String(v);
}
