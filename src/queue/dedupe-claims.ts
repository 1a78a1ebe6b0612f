import type { Redis } from 'ioredis';
import { CLAIM_DEDUPE } from './scripts/claim-dedupe.js';

/**
 * Claims dedupe keys (SET NX with the dedupe TTL, one script call) and returns the items
 * that are not duplicates. Items without a key are never duplicates.
 */
export async function claimDedupe<T extends { readonly dedupeKey: string | undefined }>(redis: Redis, items: readonly T[], ttlMs: number): Promise<Set<T>> {
  const fresh = new Set<T>();
  const claiming = items.filter((p) => p.dedupeKey !== undefined);
  for (const p of items) if (p.dedupeKey === undefined) fresh.add(p);
  if (claiming.length === 0) return fresh;
  const claimed = (await CLAIM_DEDUPE.run(redis, claiming.map((p) => p.dedupeKey!), [ttlMs])) as number[];
  claiming.forEach((p, i) => {
    if (claimed[i] === 1) fresh.add(p);
  });
  return fresh;
}
