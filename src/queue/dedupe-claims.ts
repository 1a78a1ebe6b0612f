import type { RedisClient } from '../redis/connection.js';
import { CLAIM_DEDUPE } from './scripts/claim-dedupe.js';

/** Keys per script call (its arguments are spread into one function call on the way out). */
const CLAIM_CHUNK = 2000;

/**
 * Claims dedupe keys (SET NX with the dedupe TTL, one script call per CLAIM_CHUNK) and returns the items
 * that are not duplicates. Items without a key are never duplicates.
 */
export async function claimDedupe<T extends { readonly dedupeKey: string | undefined }>(redis: RedisClient, items: readonly T[], ttlMs: number): Promise<Set<T>> {
  const fresh = new Set<T>();
  const claiming = items.filter((p) => p.dedupeKey !== undefined);
  for (const p of items) if (p.dedupeKey === undefined) fresh.add(p);
  if (claiming.length === 0) return fresh;
  for (let from = 0; from < claiming.length; from += CLAIM_CHUNK) {
    const chunk = claiming.slice(from, from + CLAIM_CHUNK);
    const claimed = (await CLAIM_DEDUPE.run(redis, chunk.map((p) => p.dedupeKey!), [ttlMs])) as number[];
    chunk.forEach((p, i) => {
      if (claimed[i] === 1) fresh.add(p);
    });
  }
  return fresh;
}
