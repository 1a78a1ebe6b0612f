import type { HistoryContext } from './history-context.js';
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
  const { key, args } = recordAttemptCall(ctx, postbackId, attempt, status, nowMs, nextAttemptMs);
  const [written] = (await RECORD_ATTEMPTS.run(ctx.redis, [key], args)) as number[];
  return written === 1;
}

const WRITE_CHUNK = 1000;

interface PendingWrite {
  readonly call: { key: string; args: (string | number)[] };
  readonly resolve: (written: boolean) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * recordAttempt for many postbacks finishing at about the same time (a batch's): the writes
 * asked for within one turn of the event loop go out as one script call, so a batch's
 * outcomes cost a command or two, not one each. Each caller still hears about its own write.
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
    const all = this.pending;
    this.pending = [];
    this.scheduled = false;
    // A script call's arguments are spread into one function call on the way out: bound it.
    for (let i = 0; i < all.length; i += WRITE_CHUNK) await this.writeChunk(all.slice(i, i + WRITE_CHUNK));
  }

  private async writeChunk(batch: readonly PendingWrite[]): Promise<void> {
    try {
      const keys = batch.map((w) => w.call.key);
      const args = batch.flatMap((w) => w.call.args);
      const written = (await RECORD_ATTEMPTS.run(this.ctx.redis, keys, args)) as number[];
      batch.forEach((w, i) => w.resolve(written[i] === 1));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
