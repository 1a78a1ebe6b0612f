import type { RedisClient } from '../redis/connection.js';
import type { FieldValue, PostbackEvent } from '../events/event.js';
import { validateEvents } from '../events/validate-event.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import type { Metrics } from '../metrics/metrics.js';
import { guardRedis } from '../redis/guard-redis.js';
import type { RedisKeys } from '../redis/keys.js';
import { claimDedupe } from './dedupe-claims.js';
import type { DrainedDedupe } from './drained-dedupe.js';
import { enqueuePostbacks, type EnqueueContext, type EnqueueItem } from './enqueue-postbacks.js';
import { planPostbacks, type PlannedPostback, type PlanOptions, type ProduceResult } from './plan-postbacks.js';
import { replayItems, type ReplayResult, type ReplaySource } from './replay-items.js';
import type { Shard, ShardRouter } from './shard.js';

export type { ProduceResult } from './plan-postbacks.js';
export type { ReplayResult, ReplaySource } from './replay-items.js';

export interface ProducerDeps {
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  /**
   * The shards (QUEUE_SHARDS): each has one queue per lane (healthy endpoints' postbacks
   * never wait behind degraded ones) and its own records; an endpoint's postbacks go to one.
   */
  readonly shards: ShardRouter;
  /** Endpoint health, for the lane and for skipping disabled endpoints. */
  readonly health: HealthBoard;
  readonly registry: EndpointRegistry;
  /** With DRAIN_QUEUE_SHARDS: dedupe keys of the earlier layouts, looked up too. */
  readonly drainedDedupe?: DrainedDedupe | undefined;
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
  /** Each shard's enqueue context, by shard. */
  private readonly enqueueContexts: ReadonlyMap<Shard, EnqueueContext>;
  /** With one shard, its context: no grouping by shard. */
  private readonly onlyContext: EnqueueContext | undefined;

  constructor(deps: ProducerDeps) {
    this.deps = deps;
    const contexts = new Map<Shard, EnqueueContext>();
    for (const shard of deps.shards.shards) {
      contexts.set(shard, {
        redis: deps.redis,
        history: shard.history,
        queues: shard.queues,
        health: deps.health,
        defaults: { scheduleS: deps.defaultScheduleS, timeoutMs: deps.defaultTimeoutMs },
        batchSize: deps.batchSize ?? 1,
      });
    }
    this.enqueueContexts = contexts;
    this.onlyContext = contexts.size === 1 ? contexts.values().next().value : undefined;
  }

  /** Raw input from the API, CLI or a library caller. Throws ValidationError (400) or UnavailableError (503). */
  async produce(raws: readonly unknown[], options: PlanOptions = {}): Promise<ProduceResult[]> {
    const batch = options.batch ?? raws.length !== 1;
    return this.produceEvents(validateEvents(raws, { batch }), { ...options, batch });
  }

  async produceEvents(events: readonly PostbackEvent[], options: PlanOptions = {}): Promise<ProduceResult[]> {
    const { results, planned } = await this.plan(events, options);
    const fresh = await guardRedis(() => this.claim(planned));
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
    const { results, items } = replayItems(this.deps.registry, this.deps.shards, sources, now);
    await this.enqueue(items, now, true);
    return results;
  }

  private async plan(events: readonly PostbackEvent[], options: PlanOptions) {
    const { registry, health, shards } = this.deps;
    await guardRedis(() => Promise.all([registry.refresh(), health.refreshIfStale()]));
    return planPostbacks(registry, health, shards, events, options);
  }

  /** Dedupe claims, one script call per shard (a script's keys must share a cluster slot). */
  private async claim(planned: readonly PlannedPostback[]): Promise<Set<PlannedPostback>> {
    const { redis, dedupeTtlMs, drainedDedupe } = this.deps;
    let fresh: Set<PlannedPostback>;
    if (this.onlyContext !== undefined) fresh = await claimDedupe(redis, planned, dedupeTtlMs);
    else {
      const claimed = await Promise.all([...byShard(planned)].map(([, group]) => claimDedupe(redis, group, dedupeTtlMs)));
      fresh = new Set(claimed.flatMap((set) => [...set]));
    }
    if (drainedDedupe === undefined) return fresh;
    // Sent under an earlier QUEUE_SHARDS: a duplicate (its claim on the new layout stays, and blocks the next resend).
    for (const p of await drainedDedupe.seen(redis, [...fresh])) fresh.delete(p);
    return fresh;
  }

  /**
   * Records and jobs, per shard (all or nothing within a shard). With several shards, one
   * may fail while another wrote: the caller gets the error (503) and sends the batch again,
   * and dedupe drops what the shards that wrote already hold.
   */
  private async enqueue(items: readonly EnqueueItem[], now: number, replay: boolean): Promise<void> {
    if (this.onlyContext !== undefined) await enqueuePostbacks(this.onlyContext, items, now);
    else {
      const groups = [...byShard(items)];
      const settled = await Promise.allSettled(groups.map(([shard, group]) => enqueuePostbacks(this.enqueueContexts.get(shard)!, group, now)));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
    if (items.length > 0) this.deps.metrics?.enqueued.inc({ replay: replay ? 'true' : 'false' }, items.length);
  }
}

/** A planned postback as it is written: the record's static part, secrets masked. */
function newPostbackItem(p: PlannedPostback): EnqueueItem {
  return {
    id: p.id,
    shard: p.shard,
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
      currency: fieldText(p.event.fields.currency),
      created_ms: p.createdMs,
      request: p.endpoint.maskRequest(p.request),
      ...(p.endpoint.delayS > 0 ? { delay_s: p.endpoint.delayS } : {}),
      ...(p.orderingKey !== undefined ? { ordering_key: p.orderingKey } : {}),
    },
  };
}

/** Items grouped by their shard, in first-seen order. */
function byShard<T extends { readonly shard: Shard }>(items: readonly T[]): Map<Shard, T[]> {
  const groups = new Map<Shard, T[]>();
  for (const item of items) {
    const group = groups.get(item.shard);
    if (group === undefined) groups.set(item.shard, [item]);
    else group.push(item);
  }
  return groups;
}

function fieldText(v: FieldValue | null | undefined): string | null {
  return v === undefined || v === null ? null : String(v);
}
