import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';

/**
 * With PostgreSQL history: every change to a live record is also appended, in the same
 * script call, as a snapshot to a Redis stream (the outbox) that one flusher at a time
 * writes to PostgreSQL in order. A final record then leaves the pending index and keeps
 * its hash only for `finalGraceMs` (reads see it while the flush catches up).
 */
export interface HistoryOutbox {
  readonly key: string;
  /** Most snapshots waiting; past it, new records are refused (the producer answers 503). */
  readonly max: number;
  readonly finalGraceMs: number;
}

/**
 * What every live-record operation needs; built once per process and passed first.
 * Live records (Redis hashes) are the worker's state for pending postbacks with either
 * store; with Redis history they are also the history itself.
 */
export interface HistoryContext {
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly retentionMs: number;
  /** Set with PostgreSQL history (HISTORY_URL). */
  readonly outbox?: HistoryOutbox | undefined;
}

/** How long a final live record stays readable in Redis after its snapshot went to the outbox. */
export const FINAL_GRACE_MS = 5000;

/** The outbox arguments every record script takes: on (1/0), most entries, final grace. */
export function outboxArgs(ctx: HistoryContext): [number, number, number] {
  const o = ctx.outbox;
  return o === undefined ? [0, 0, 0] : [1, o.max, o.finalGraceMs];
}

/** The outbox stream key (declared to Redis even when unused, as Cluster wants every key named). */
export function outboxKey(ctx: HistoryContext): string {
  return ctx.outbox?.key ?? ctx.keys.outbox;
}
