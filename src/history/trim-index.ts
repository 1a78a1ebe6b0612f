import type { HistoryContext } from './history-context.js';

/** Drops index entries older than the retention (their records expired by TTL already). */
export async function trimIndex(ctx: HistoryContext, nowMs: number): Promise<number> {
  return ctx.redis.zremrangebyscore(ctx.keys.index, '-inf', `(${nowMs - ctx.retentionMs}`);
}
