import { newPostbackId } from '../endpoints/postback-id.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { SecretMasker } from '../endpoints/secrets.js';
import { ValidationError } from '../errors/base-error.js';
import type { RecordStatic } from '../history/postback-record.js';
import type { EnqueueItem } from './enqueue-postbacks.js';
import type { ShardRouter } from './shard.js';

/** A recorded postback to send again: its record (or list row) and its replayable request. */
export interface ReplaySource {
  readonly original: RecordStatic & { readonly id: string };
  /** As history keeps it for replay: secrets as placeholders. */
  readonly request: RenderedRequest;
}

/** Per source, in order: the new postback id, or why it cannot be replayed. */
export type ReplayResult = { readonly id: string } | { readonly error: ValidationError };

/** Restores nothing: a recorded request with placeholders and no endpoint to fill them fails. */
const NO_SECRETS = new SecretMasker([]);

/**
 * New postbacks for recorded ones, linked by `replay_of`, never deduplicated, with the
 * endpoint's current secrets put back. A source whose secrets are gone (endpoint deleted
 * or changed) gets its error instead of an item: it is not sent masked. A replay to an
 * endpoint that is ordered takes its place at the end of its original's chain.
 */
export function replayItems(
  registry: EndpointRegistry,
  shards: ShardRouter,
  sources: readonly ReplaySource[],
  now: number,
): { results: ReplayResult[]; items: EnqueueItem[] } {
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
    const orderingKey = endpoint?.ordered === true ? original.ordering_key : undefined;
    // The endpoint's shard now (QUEUE_SHARDS may have changed since the original); a deleted endpoint's by its id.
    const shard = shards.of(endpoint?.dedupeScope ?? original.endpoint_id);
    items.push({
      id,
      shard,
      endpoint,
      endpointId: original.endpoint_id,
      request,
      dedupeKey: undefined,
      chainKey: orderingKey === undefined || endpoint === undefined ? undefined : shard.keys.chain(endpoint.dedupeScope, orderingKey),
      record: {
        event_id: original.event_id,
        endpoint_id: original.endpoint_id,
        publisher_id: original.publisher_id,
        offer_id: original.offer_id,
        advertiser_name: original.advertiser_name,
        payout: original.payout,
        currency: original.currency,
        created_ms: now,
        request: endpoint ? endpoint.maskRequest(request) : request,
        replay_of: original.id,
        ...(orderingKey !== undefined ? { ordering_key: orderingKey } : {}),
      },
    });
  }
  return { results, items };
}
