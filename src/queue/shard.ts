import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import type { RedisKeys } from '../redis/keys.js';
import { shardIndexOf } from '../redis/shards.js';
import type { DeliveryQueue } from './delivery-queue.js';

/**
 * One key set of postbacks under one hash-tagged prefix: its two lanes' queues, and its
 * records, time index, dedupe keys and ordering chains (all through `history.keys`). Every
 * multi-key call of a postback stays inside its shard, so a shard fits one cluster slot.
 */
export interface Shard {
  /** Its prefix, e.g. `{postback-2}` (the plain QUEUE_PREFIX with one shard). */
  readonly prefix: string;
  readonly keys: RedisKeys;
  readonly history: HistoryContext;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
}

/**
 * The shards of the current layout (QUEUE_SHARDS), and which one an endpoint's postbacks
 * go to: `shardIndexOf(dedupeScope)`. One shard: always it, without hashing.
 */
export class ShardRouter {
  readonly shards: readonly Shard[];
  private readonly only: Shard | undefined;

  constructor(shards: readonly Shard[]) {
    if (shards.length === 0) throw new RangeError('ShardRouter needs at least one shard');
    this.shards = shards;
    this.only = shards.length === 1 ? shards[0] : undefined;
  }

  /** The shard of an endpoint's postbacks, by its dedupe scope (CompiledEndpoint.dedupeScope). */
  of(scope: string): Shard {
    return this.only ?? this.shards[shardIndexOf(scope, this.shards.length)]!;
  }
}
