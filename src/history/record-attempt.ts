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
  nextBatch: string | undefined,
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
      nextBatch ?? '',
    ],
  };
}

/**
 * Writes per script call. Redis runs a script to its end before it serves anyone else: a
 * wave of attempts ending at once (an open circuit's backlog) written as one call of
 * hundreds held every other client (a producer's POST, the fast lane) for 5-20 ms. Calls of
 * this size take well under a millisecond, and go out together in one pipeline.
 */
const WRITE_CHUNK = 64;

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

  /** `nextBatch`: the batch job that will hold the postback's next attempt (the record's `batch` field, for the orphan scan). */
  write(postbackId: string, attempt: AttemptRecord, status: AttemptStatus, nowMs: number, nextAttemptMs: number | undefined, nextBatch?: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ call: recordAttemptCall(this.ctx, postbackId, attempt, status, nowMs, nextAttemptMs, nextBatch), resolve, reject });
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
    const chunks: PendingWrite[][] = [];
    for (let i = 0; i < all.length; i += WRITE_CHUNK) chunks.push(all.slice(i, i + WRITE_CHUNK));
    const head = [outboxKey(this.ctx), this.ctx.keys.index];
    const outbox = outboxArgs(this.ctx);
    let replies: unknown[];
    try {
      replies = await RECORD_ATTEMPTS.runMany(
        this.ctx.redis,
        chunks.map((chunk) => ({ keys: [...head, ...chunk.map((w) => w.call.key)], args: [...outbox, ...chunk.flatMap((w) => w.call.args)] })),
      );
    } catch (err) {
      for (const w of all) w.reject(err);
      return;
    }
    chunks.forEach((chunk, c) => this.settle(chunk, replies[c]));
  }

  /** Each write of a chunk hears its own result: written, or not (gone or already final), or the chunk's error. */
  private settle(chunk: readonly PendingWrite[], reply: unknown): void {
    if (reply instanceof Error) {
      for (const w of chunk) w.reject(reply);
      return;
    }
    const written = reply as readonly (number | string)[];
    chunk.forEach((w, i) => {
      const r = written[i];
      if (typeof r === 'string') this.onTurn?.(r);
      w.resolve(r === 1 || typeof r === 'string');
    });
  }
}
