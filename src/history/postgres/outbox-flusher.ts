import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logging/logger.js';
import { TOMBSTONE_FIELD } from '../create-records.js';
import type { HistoryContext } from '../history-context.js';
import { sweepQueued } from '../sweep-queued.js';
import { LuaScript } from '../scripts/run-script.js';
import { dayOf } from './day-partitions.js';
import type { PartitionKeeper } from './partition-keeper.js';
import type { PgPool } from './pg-pool.js';
import { rowFromSnapshot, type PostbackRow } from './row-codec.js';
import { deleteUndone, upsertRows } from './upsert-rows.js';

/** How long a record may stay queued before PostgreSQL gets a snapshot of it (else: one row, written when final). */
export const QUEUED_SNAPSHOT_AFTER_MS = 5000;

/** Renews the lease only for its holder. */
const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/** Drops the lease only for its holder. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface OutboxFlusherOptions {
  /** The live records, their outbox and keys. */
  readonly live: HistoryContext;
  readonly pool: PgPool;
  readonly schema: string;
  readonly upsertSql: string;
  readonly partitions: PartitionKeeper;
  readonly logger: Logger;
  /** Awaited before each flush (the schema exists). */
  readonly beforeFlush?: () => Promise<void>;
  /** Entries per flush (one transaction). */
  readonly batch?: number;
  /** Pause when the outbox is empty. */
  readonly idleMs?: number;
  /** The leader lease: another process takes over this long after the leader dies. */
  readonly leaseMs?: number;
  /** A record still queued this long after it was made is snapshotted (lists show it); the rest go once, final. */
  readonly queuedSnapshotAfterMs?: number;
}

/** The entries of one flush, merged: the last snapshot of each postback, and the undone ones. */
export interface FlushPlan {
  readonly rows: PostbackRow[];
  readonly undone: string[];
  readonly days: Set<number>;
}

/** Stream entries (XRANGE replies) to what one flush writes; later entries win. Pure. */
export function planFlush(entries: readonly [string, string[]][]): FlushPlan {
  const last = new Map<string, PostbackRow | null>();
  for (const [, fields] of entries) {
    let id: string | undefined;
    let tombstone = false;
    const hash: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) {
      const k = fields[i]!;
      const v = fields[i + 1]!;
      if (k === '_') id = v;
      else if (k === TOMBSTONE_FIELD) tombstone = true;
      else hash[k] = v;
    }
    if (id === undefined) continue;
    last.delete(id); // keep entry order: the map's order is each id's last entry
    last.set(id, tombstone ? null : (rowFromSnapshot(id, hash) ?? null));
  }
  const rows: PostbackRow[] = [];
  const undone: string[] = [];
  const days = new Set<number>();
  for (const [id, row] of last) {
    if (row === null) undone.push(id);
    else {
      rows.push(row);
      days.add(dayOf(id));
    }
  }
  return { rows, undone, days };
}

/** The stream id just after `id` (XTRIM MINID keeps it and everything later). */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}

/**
 * Writes the outbox to PostgreSQL in order: one process at a time (a lease in Redis, taken
 * over when its holder dies), a batch of entries per transaction, then trims what it wrote.
 * Snapshots are idempotent upserts, so a flush repeated after a crash between the commit
 * and the trim writes nothing new. PostgreSQL down: the entries wait (the producer refuses
 * new events past HISTORY_OUTBOX_MAX) and the flusher retries every second.
 */
export class OutboxFlusher {
  private readonly o: Required<OutboxFlusherOptions>;
  private readonly token = randomBytes(8).toString('hex');
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private leaseUntil = 0;
  private lastWarnMs = 0;
  /** Entries written to PostgreSQL by this process. */
  flushed = 0;

  constructor(options: OutboxFlusherOptions) {
    this.o = { batch: 2000, idleMs: 100, leaseMs: 5000, queuedSnapshotAfterMs: QUEUED_SNAPSHOT_AFTER_MS, beforeFlush: () => Promise.resolve(), ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the flush in progress (a last flush first, when this process leads), and gives up the lease. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await RELEASE.run(this.o.live.redis, [this.o.live.keys.outboxLeader], [this.token]).catch(() => undefined);
  }

  /**
   * One flush when this process holds the lease: returns the entries written (0 when none
   * wait or another process leads).
   */
  async flushOnce(): Promise<number> {
    if (!(await this.holdLease())) return 0;
    const { redis, keys } = this.o.live;
    await sweepQueued(this.o.live, Date.now() - this.o.queuedSnapshotAfterMs);
    const entries = (await redis.xrange(keys.outbox, '-', '+', 'COUNT', this.o.batch)) as [string, string[]][];
    if (entries.length === 0) return 0;
    await this.o.beforeFlush();
    const plan = planFlush(entries);
    await this.o.partitions.ensure(plan.days);
    const client = await this.o.pool.connect();
    try {
      await client.query('BEGIN');
      await upsertRows(client, this.o.upsertSql, plan.rows);
      await deleteUndone(client, this.o.schema, plan.undone);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await redis.xtrim(keys.outbox, 'MINID', nextStreamId(entries[entries.length - 1]![0]));
    this.flushed += entries.length;
    return entries.length;
  }

  private async holdLease(): Promise<boolean> {
    const now = Date.now();
    if (now < this.leaseUntil - this.o.leaseMs / 2) return true;
    const { leaseMs } = this.o;
    const { redis } = this.o.live;
    const leaderKey = this.o.live.keys.outboxLeader;
    const held = (await redis.set(leaderKey, this.token, 'PX', leaseMs, 'NX')) === 'OK' || (await RENEW.run(redis, [leaderKey], [this.token, leaseMs])) === 1;
    this.leaseUntil = held ? now + leaseMs : 0;
    return held;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let pause = this.o.idleMs;
      try {
        const n = await this.flushOnce();
        if (n >= this.o.batch) pause = 0;
      } catch (err) {
        pause = 1000;
        this.leaseUntil = 0;
        if (Date.now() - this.lastWarnMs > 30_000) {
          this.lastWarnMs = Date.now();
          this.o.logger.warn({ err }, 'history outbox not written to PostgreSQL yet; retrying every second (deliveries go on)');
        }
      }
      if (pause > 0 && this.running) await new Promise<void>((r) => {
        const t = setTimeout(r, pause);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    // Leaving: what waits now is written by the next leader, or by this one on restart.
    await this.flushOnce().catch(() => undefined);
  }
}
