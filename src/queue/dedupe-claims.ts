import type { Redis } from 'ioredis';

/**
 * Claims dedupe keys (SET NX with the dedupe TTL, one pipeline) and returns the items that
 * are not duplicates. Items without a key are never duplicates.
 */
export async function claimDedupe<T extends { readonly dedupeKey: string | undefined }>(redis: Redis, items: readonly T[], ttlMs: number): Promise<Set<T>> {
  const fresh = new Set<T>();
  const claiming = items.filter((p) => p.dedupeKey !== undefined);
  for (const p of items) if (p.dedupeKey === undefined) fresh.add(p);
  if (claiming.length === 0) return fresh;
  const pipe = redis.pipeline();
  for (const p of claiming) pipe.set(p.dedupeKey!, '1', 'PX', ttlMs, 'NX');
  const res = await pipe.exec();
  claiming.forEach((p, i) => {
    const [err, value] = res?.[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    if (value === 'OK') fresh.add(p);
  });
  return fresh;
}
