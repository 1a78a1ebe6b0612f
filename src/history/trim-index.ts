import type { HistoryContext } from './history-context.js';
import { indexScore } from './query-postbacks.js';

/** Drops index entries older than the retention (their records expired by TTL already). */
export async function trimIndex(ctx: HistoryContext, nowMs: number): Promise<number> {
  return ctx.redis.zremrangebyscore(ctx.keys.index, '-inf', `(${indexScore(nowMs - ctx.retentionMs, 0)}`);
}
