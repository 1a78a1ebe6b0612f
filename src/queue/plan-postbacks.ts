import type { PostbackEvent } from '../events/event.js';
import type { CompiledEndpoint, SkipReason } from '../endpoints/compile-endpoint.js';
import { UnroutableEventError } from '../endpoints/errors.js';
import { newPostbackId } from '../endpoints/postback-id.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { ValidationError, type ErrorDetail } from '../errors/base-error.js';
import type { HealthBoard } from '../health/health-board.js';
import { routeEvent } from './route-event.js';
import type { Shard, ShardRouter } from './shard.js';

export interface ProduceResult {
  readonly id: string;
  readonly postbacks: string[];
  readonly duplicate: boolean;
  readonly skipped: { endpoint_id: string; reason: SkipReason | 'duplicate' }[];
}

/** One postback an event will make, rendered; `dedupeKey` undefined when it is not deduplicated. */
export interface PlannedPostback {
  readonly eventIndex: number;
  readonly event: PostbackEvent;
  readonly endpoint: CompiledEndpoint;
  readonly id: string;
  /** Where its keys, record and job live: its endpoint's shard. */
  readonly shard: Shard;
  /** When it was made: the time its id starts with. */
  readonly createdMs: number;
  readonly request: RenderedRequest;
  readonly dedupeKey: string | undefined;
  /** Ordered endpoints: the rendered ordering key and the chain it joins (undefined: independent). */
  readonly orderingKey: string | undefined;
  readonly chainKey: string | undefined;
}

export interface PlanOptions {
  /** Bypass dedupe (QA: the same event id again, on purpose). */
  readonly force?: boolean;
  /** Name bad fields `events[i].field` (a batch) rather than `field`. */
  readonly batch?: boolean;
}

/**
 * Routes, filters and renders a batch of events, reading only the (refreshed) registry and
 * health board: every postback's id and request, and each event's result with what it
 * skips. Throws UnroutableEventError naming every event that routes nowhere or does not
 * render, so a bad batch writes nothing.
 */
export function planPostbacks(
  registry: EndpointRegistry,
  health: HealthBoard,
  shards: ShardRouter,
  events: readonly PostbackEvent[],
  options: PlanOptions,
): { results: ProduceResult[]; planned: PlannedPostback[] } {
  const batch = options.batch ?? events.length !== 1;
  const now = Date.now();
  const details: ErrorDetail[] = [];
  const results: ProduceResult[] = [];
  const planned: PlannedPostback[] = [];
  events.forEach((event, i) => {
    const result: ProduceResult = { id: event.id, postbacks: [], duplicate: false, skipped: [] };
    results.push(result);
    const prefix = batch ? `events[${i}].` : '';
    for (const endpoint of routeEvent(registry, event, prefix, details)) {
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
      const shard = shards.of(endpoint.dedupeScope);
      const keys = shard.keys;
      const dedupeKey = event.idGenerated || options.force ? undefined : keys.dedupe(event.id, endpoint.dedupeScope);
      const orderingKey = endpoint.ordered ? endpoint.orderingKeyOf(event, id) : undefined;
      const chainKey = orderingKey === undefined ? undefined : keys.chain(endpoint.dedupeScope, orderingKey);
      planned.push({ eventIndex: i, event, endpoint, id, shard, createdMs: now, request, dedupeKey, orderingKey, chainKey });
    }
  });
  if (details.length > 0) {
    throw new UnroutableEventError(`cannot enqueue: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  }
  return { results, planned };
}
