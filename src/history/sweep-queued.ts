import { outboxKey, type HistoryContext } from './history-context.js';
import { indexScore } from './query-postbacks.js';
import { SWEEP_QUEUED } from './scripts/create-records.js';

/** Index entries per sweep call. */
const SWEEP_CHUNK = 1000;

/**
 * With PostgreSQL history: snapshots into the outbox the records created up to `untilMs`
 * that are still queued (most are final long before and were written once, final). Goes
 * through the pending index from where the last sweep stopped (kept in Redis, so the next
 * flusher goes on from there); a window swept twice (a flusher died) only repeats
 * snapshots, which PostgreSQL takes as no change. Returns the snapshots written.
 */
export async function sweepQueued(ctx: HistoryContext, untilMs: number): Promise<number> {
  const { redis, keys } = ctx;
  const until = indexScore(untilMs, 0);
  const from = Number((await redis.get(keys.outboxSwept)) ?? '-1');
  if (from >= until) return 0;
  let written = 0;
  let cursor = from;
  for (;;) {
    const flat = await redis.zrangebyscore(keys.index, `(${cursor}`, until, 'WITHSCORES', 'LIMIT', 0, SWEEP_CHUNK);
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]!);
    if (ids.length > 0) {
      written += Number(await SWEEP_QUEUED.run(redis, [outboxKey(ctx), ...ids.map((id) => keys.record(id))], ids));
      cursor = Number(flat[flat.length - 1]);
    }
    if (ids.length < SWEEP_CHUNK) break;
  }
  // Everything up to `until` was read; records are made at "now", never that far back.
  await redis.set(keys.outboxSwept, String(until));
  return written;
}
