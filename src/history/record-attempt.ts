import { outboxArgs, outboxKey, type HistoryContext } from './history-context.js';
import { F, type AttemptRecord, type PostbackStatus } from './postback-record.js';
import { RECORD_ATTEMPTS } from './scripts/record-attempt.js';

export type AttemptStatus = Exclude<PostbackStatus, 'queued'>;

/** The key and arguments of one record in a RECORD_ATTEMPTS call. */
function recordAttemptCall(
  ctx: HistoryContext,
  postbackId: string,
  attempt: AttemptRecord,
  status: AttemptStatus,
  nowMs: number,
  nextAttemptMs: number | undefined,
): { key: string; args: (string | number)[] } {
  return {
    key: ctx.keys.record(postbackId),
    args: [
      postbackId,
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

/** Writes per script call (its arguments are spread into one function call on the way out). */
const WRITE_CHUNK = 1000;

interface PendingWrite {
  readonly call: { key: string; args: (string | number)[] };
  readonly resolve: (written: boolean) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Records attempts and the status each leads to, atomically per record. An attempt is keyed
 * by its number, so recording it again (a worker that died after writing) overwrites, not
 * appends; a final record is never written over. The writes asked for within one turn of
 * the event loop (a batch's outcomes) go out as one script call, a command or two rather
 * than one each; each caller still hears about its own write: true when written, false
 * when the record is gone (expired by retention) or already final. A final write that
 * hands an ordering key's turn to the next postback calls `onTurn` with that postback's id
 * (the worker wakes its waiting job).
 */
export class AttemptWriter {
  private readonly ctx: HistoryContext;
  private readonly onTurn: ((postbackId: string) => void) | undefined;
  private pending: PendingWrite[] = [];
  private scheduled = false;

  constructor(ctx: HistoryContext, options: { onTurn?: (postbackId: string) => void } = {}) {
    this.ctx = ctx;
    this.onTurn = options.onTurn;
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
    const all = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (let i = 0; i < all.length; i += WRITE_CHUNK) await this.writeChunk(all.slice(i, i + WRITE_CHUNK));
  }

  private async writeChunk(batch: readonly PendingWrite[]): Promise<void> {
    try {
      const keys = [outboxKey(this.ctx), this.ctx.keys.index, ...batch.map((w) => w.call.key)];
      const args = [...outboxArgs(this.ctx), ...batch.flatMap((w) => w.call.args)];
      const written = (await RECORD_ATTEMPTS.run(this.ctx.redis, keys, args)) as (number | string)[];
      batch.forEach((w, i) => {
        const r = written[i];
        if (typeof r === 'string') this.onTurn?.(r);
        w.resolve(r === 1 || typeof r === 'string');
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
