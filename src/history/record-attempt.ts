import type { HistoryContext } from './history-context.js';
import { F, type AttemptRecord, type PostbackStatus } from './postback-record.js';

/**
 * Records one attempt and the status it leads to, in one HSET. The attempt is keyed by its
 * number, so recording it again (a worker that died after writing) overwrites, not appends.
 */
export async function recordAttempt(
  ctx: HistoryContext,
  postbackId: string,
  attempt: AttemptRecord,
  status: Exclude<PostbackStatus, 'queued'>,
  nowMs: number,
  nextAttemptMs: number | undefined,
): Promise<void> {
  await ctx.redis.hset(
    ctx.keys.record(postbackId),
    F.attempt(attempt.n),
    JSON.stringify(attempt),
    F.count,
    attempt.n,
    F.status,
    status,
    F.http,
    attempt.status_code,
    F.finished,
    status === 'retrying' ? '' : nowMs,
    F.next,
    nextAttemptMs ?? '',
    F.lastError,
    attempt.error ?? '',
  );
}
