import type { RedisClient } from '../redis/connection.js';
import { RedisKeys } from '../redis/keys.js';
import { shardIndexOf, shardPrefixes } from '../redis/shards.js';

/** What a duplicate check needs of a planned postback. */
export interface DedupeSubject {
  readonly dedupeKey: string | undefined;
  readonly event: { readonly id: string };
  readonly endpoint: { readonly dedupeScope: string };
}

/**
 * After a change of QUEUE_SHARDS, an endpoint's dedupe keys of the last DEDUPE_TTL_DAYS sit
 * on its shard of the earlier layout (DRAIN_QUEUE_SHARDS). While that is set, an event
 * claimed fresh on the current layout is also looked up there (one EXISTS per postback and
 * earlier layout), so resending it across the change is still caught. A read, not a claim:
 * two producers racing one event across the change in the same moment may both send it.
 */
export class DrainedDedupe {
  private readonly layouts: readonly { readonly count: number; readonly shards: readonly RedisKeys[] }[];

  constructor(prefix: string, counts: readonly number[]) {
    this.layouts = counts.map((count) => ({ count, shards: shardPrefixes(prefix, count).map((p) => new RedisKeys(p)) }));
  }

  /** The subjects whose event already went to their endpoint under an earlier layout. */
  async seen<T extends DedupeSubject>(redis: RedisClient, subjects: readonly T[]): Promise<Set<T>> {
    const checked = subjects.filter((s) => s.dedupeKey !== undefined);
    const hits = await Promise.all(
      checked.map(async (s) => {
        const keys = this.layouts.map(({ count, shards }) => shards[shardIndexOf(s.endpoint.dedupeScope, count)]!.dedupe(s.event.id, s.endpoint.dedupeScope));
        // One key per command: a Cluster refuses keys of different slots in one.
        const found = await Promise.all(keys.filter((k) => k !== s.dedupeKey).map((k) => redis.exists(k)));
        return found.some((n) => n > 0);
      }),
    );
    return new Set(checked.filter((_, i) => hits[i]));
  }
}
