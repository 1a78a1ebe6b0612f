import type { HistoryContext } from './history-context.js';
import { F, type AttemptRecord, type PostbackStatus } from './postback-record.js';
import { RECORD_ATTEMPT } from './scripts/record-attempt.js';

export type AttemptStatus = Exclude<PostbackStatus, 'queued'>;

/** The keys and arguments of one RECORD_ATTEMPT call. */
function recordAttemptCall(
  ctx: HistoryContext,
  postbackId: string,
  attempt: AttemptRecord,
  status: AttemptStatus,
  nowMs: number,
  nextAttemptMs: number | undefined,
): { keys: string[]; args: (string | number)[] } {
  return {
    keys: [ctx.keys.record(postbackId)],
    args: [
      F.attempt(attempt.n),
      JSON.stringify(attempt),
      attempt.n,
      status,
      attempt.status_code,
      status === 'retrying' ? '' : nowMs,
      nextAttemptMs ?? '',
      attempt.error ?? '',
    ],
  };
}

/**
 * Records one attempt and the status it leads to, atomically. The attempt is keyed by its
 * number, so recording it again (a worker that died after writing) overwrites, not
 * appends. Returns false when the record no longer exists (expired by retention).
 */
export async function recordAttempt(
  ctx: HistoryContext,
  postbackId: string,
  attempt: AttemptRecord,
  status: AttemptStatus,
  nowMs: number,
  nextAttemptMs: number | undefined,
): Promise<boolean> {
  const { keys, args } = recordAttemptCall(ctx, postbackId, attempt, status, nowMs, nextAttemptMs);
  return (await RECORD_ATTEMPT.run(ctx.redis, keys, args)) === 1;
}

interface PendingWrite {
  readonly call: { keys: string[]; args: (string | number)[] };
  readonly resolve: (written: boolean) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * recordAttempt for many postbacks finishing at about the same time (a batch's): the writes
 * asked for within one turn of the event loop go out as one pipeline, so a batch's outcomes
 * cost a round trip or two, not one each. Each caller still hears about its own write.
 */
export class AttemptWriter {
  private readonly ctx: HistoryContext;
  private pending: PendingWrite[] = [];
  private scheduled = false;

  constructor(ctx: HistoryContext) {
    this.ctx = ctx;
  }

  write(postbackId: string, attempt: AttemptRecord, status: AttemptStatus, nowMs: number, nextAttemptMs: number | undefined): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ call: recordAttemptCall(this.ctx, postbackId, attempt, status, nowMs, nextAttemptMs), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const replies = await RECORD_ATTEMPT.runMany(this.ctx.redis, batch.map((w) => w.call));
      batch.forEach((w, i) => {
        const r = replies[i];
        if (r instanceof Error) w.reject(r);
        else w.resolve(r === 1);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
