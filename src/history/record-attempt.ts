import type { HistoryContext } from './history-context.js';
import { F, type AttemptRecord, type PostbackStatus } from './postback-record.js';
import { RECORD_ATTEMPT } from './scripts/record-attempt.js';

/**
 * Records one attempt and the status it leads to, atomically. The attempt is keyed by its
 * number, so recording it again (a worker that died after writing) overwrites, not
 * appends. Returns false when the record no longer exists (expired by retention).
 */
export async function recordAttempt(
  ctx: HistoryContext,
  postbackId: string,
  attempt: AttemptRecord,
  status: Exclude<PostbackStatus, 'queued'>,
  nowMs: number,
  nextAttemptMs: number | undefined,
): Promise<boolean> {
  const written = await RECORD_ATTEMPT.run(
    ctx.redis,
    [ctx.keys.record(postbackId)],
    [
      F.attempt(attempt.n),
      JSON.stringify(attempt),
      attempt.n,
      status,
      attempt.status_code,
      status === 'retrying' ? '' : nowMs,
      nextAttemptMs ?? '',
      attempt.error ?? '',
    ],
  );
  return written === 1;
}
