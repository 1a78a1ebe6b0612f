import type { Job } from 'bullmq';
import { batchJob, type BatchMember } from '../queue/delivery-job.js';
import type { JobAdder } from './job-adder.js';

/**
 * How long a retry batch stays open to the attempts that end together (an open circuit's,
 * all recorded at once) before it is added; attempts that end later (a probe, a last
 * chance, a send to a degraded origin) go in another, so none waits for the slowest.
 */
const WINDOW_MS = 50;

/** A retry batch being filled. */
export interface RetryGroup {
  readonly id: string;
  /** Attempts each member has made (the one just recorded included). */
  readonly made: number;
  readonly sentBefore: boolean;
  /** When its job is due: the latest of its members' next attempt times, so none goes early (each joins right after its record's time is taken). */
  dueMs: number;
  readonly members: BatchMember[];
  /** Members whose record write is in flight: the job is added once they are done. */
  writing: number;
  /**
   * A member's write failed (it may still have named this group in its record): the group
   * is not added, so every member's record names a missing batch, which the parent, run
   * again, settles (a job of its own each) rather than leave one out of a job that exists.
   */
  failed: boolean;
  onWritten: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
  /** Settles once the group's job is added (or could not be). */
  readonly added: Promise<void>;
  readonly settle: (err?: Error) => void;
}

/**
 * Retry batches being filled: postbacks of degraded or open endpoints whose attempt failed
 * retry together, a job per group (same attempts made, same delay, same "a request was
 * sent" flag) rather than a job each, so an open circuit's backlog costs the queue a job
 * per group and attempt. A group's id goes into each member's record with its attempt
 * (see history/batch-link: the orphan scan finds the job adding it), and its job is added
 * once those writes are done, WINDOW_MS after it opened (or at finish). A member joins,
 * and after its record write is told `written`; the job it came from ends only once the
 * group's job is added (`whenAdded`), so a crash in between runs that job again.
 */
export class RetryBatches {
  private readonly adder: JobAdder;
  private readonly idOf: (k: number) => string;
  private readonly open = new Map<string, RetryGroup>();
  /** Groups whose job is not added yet, and (`keepFailed`) those that could not be: finish() must see them. */
  private readonly pending = new Set<RetryGroup>();
  private readonly keepFailed: boolean;
  private opened = 0;

  /**
   * `idOf(k)`: the id of the kth group opened (unique: see retryBatchId). `keepFailed`: a
   * batch job's run, which completes only after `finish`, so a group that could not be added
   * (closed by its timer long before) must fail it; a long-lived instance whose members each
   * wait on `whenAdded` (lone jobs) keeps none.
   */
  constructor(adder: JobAdder, idOf: (k: number) => string, options: { keepFailed: boolean }) {
    this.adder = adder;
    this.idOf = idOf;
    this.keepFailed = options.keepFailed;
  }

  /** The group a postback with `made` attempts, due again after `delayMs`, joins; its record write counts as in flight until `written`. */
  join(made: number, delayMs: number, sentBefore: boolean): RetryGroup {
    const key = `${made}|${delayMs}|${sentBefore ? 1 : 0}`;
    let g = this.open.get(key);
    if (g === undefined) {
      let settle!: (err?: Error) => void;
      const added = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
      // Seen by finish() or whenAdded(); a rejection before it is asked for must not count as unhandled.
      added.catch(() => undefined);
      g = { id: this.idOf(this.opened++), made, sentBefore, dueMs: 0, members: [], writing: 0, failed: false, onWritten: undefined, timer: undefined, closed: false, added, settle };
      const opened = g;
      this.open.set(key, g);
      this.pending.add(g);
      g.timer = setTimeout(() => this.close(key, opened), WINDOW_MS);
      g.timer.unref();
    }
    g.dueMs = Math.max(g.dueMs, Date.now() + delayMs);
    g.writing++;
    return g;
  }

  /** The member's record write ended: `ok` when written (push it to `members` first), else the group is not added. */
  written(g: RetryGroup, ok: boolean): void {
    if (!ok) g.failed = true;
    if (--g.writing === 0) g.onWritten?.();
  }

  /** Resolves once the group's job is added (at most WINDOW_MS after it opened, plus its writes); rejects when it could not be. */
  whenAdded(g: RetryGroup): Promise<void> {
    return g.added;
  }

  /** Closes every open group and waits for their jobs; rejects when one could not be added. */
  async finish(): Promise<void> {
    for (const [key, g] of this.open) this.close(key, g);
    await Promise.all([...this.pending].map((g) => g.added));
  }

  private close(key: string, g: RetryGroup): void {
    if (g.closed) return;
    g.closed = true;
    if (this.open.get(key) === g) this.open.delete(key);
    clearTimeout(g.timer);
    const writes = g.writing === 0 ? Promise.resolve() : new Promise<void>((r) => (g.onWritten = r));
    writes
      .then(() => {
        if (g.failed) throw new Error(`retry batch ${g.id} not added: a member's record write failed`);
        return g.members.length === 0 ? undefined : this.add(g);
      })
      .then(
        () => {
          this.pending.delete(g);
          g.settle();
        },
        (err: unknown) => {
          if (!this.keepFailed) this.pending.delete(g);
          g.settle(err instanceof Error ? err : new Error(`retry batch not added: ${String(err)}`));
        },
      );
  }

  private add(g: RetryGroup): Promise<Job> {
    const spec = batchJob(g.members, Math.max(0, g.dueMs - Date.now()), 'slow', { jobId: g.id, attemptsBefore: g.made, sentBefore: g.sentBefore });
    return this.adder.add(spec.name, spec.data, spec.opts);
  }
}
