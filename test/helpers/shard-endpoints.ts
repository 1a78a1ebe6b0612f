import { shardIndexOf } from '../../src/redis/shards.js';

/** `n` endpoint ids on each of `k` shards (shardIndexOf is deterministic: the same ids every run). */
export function endpointIdsPerShard(k: number, n: number, stem = 'sh-ep'): string[][] {
  const out: string[][] = Array.from({ length: k }, () => []);
  for (let i = 0; out.some((ids) => ids.length < n); i++) {
    const id = `${stem}-${i}`;
    const ids = out[shardIndexOf(id, k)]!;
    if (ids.length < n) ids.push(id);
  }
  return out;
}
