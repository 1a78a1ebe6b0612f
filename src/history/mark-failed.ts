import { outboxArgs, outboxKey, type HistoryContext } from './history-context.js';
import { MARK_FAILED } from './scripts/record-attempt.js';

/** Marks a postback failed unless its record is already final. Returns whether it changed. */
export async function markFailedIfPending(ctx: HistoryContext, postbackId: string, errorClass: string, nowMs: number): Promise<boolean> {
  return (await MARK_FAILED.run(ctx.redis, [outboxKey(ctx), ctx.keys.index, ctx.keys.record(postbackId)], [...outboxArgs(ctx), postbackId, nowMs, errorClass])) === 1;
}
