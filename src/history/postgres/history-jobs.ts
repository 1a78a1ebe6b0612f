import type { Logger } from '../../logging/logger.js';
import type { HistoryContext } from '../history-context.js';
import { OutboxFlusher } from './outbox-flusher.js';
import type { PostgresHistoryStore } from './postgres-history-store.js';

/** How often partitions are made ahead and expired ones dropped. */
const MAINTAIN_EVERY_MS = 3_600_000;

export interface PostgresHistoryJobs {
  /** The first shard's flusher (the only one without QUEUE_SHARDS). */
  readonly flusher: OutboxFlusher;
  /** One per shard: each shard has its own outbox (its records' scripts append to it). */
  readonly flushers: readonly OutboxFlusher[];
  /** One maintenance round now (tests, and the first one at start). */
  maintain(nowMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * What a worker process runs for PostgreSQL history: an outbox flusher per shard it
 * consumes (each shard's records append to that shard's outbox; one process at a time
 * writes each) and partition maintenance (one at a time, hourly).
 */
export function startPostgresHistoryJobs(store: PostgresHistoryStore, lives: readonly HistoryContext[], logger: Logger): PostgresHistoryJobs {
  const live = lives[0]!;
  const flushers = lives.map((shard) => new OutboxFlusher({
    live: shard,
    pool: store.pool,
    schema: store.schema,
    upsertSql: store.upsertSql,
    partitions: store.partitions,
    logger,
    beforeFlush: () => store.ensureSchema(),
  }));
  const maintain = async (nowMs = Date.now()): Promise<string[]> => {
    await store.ensureSchema();
    const dropped = await store.partitions.maintain(nowMs, live.retentionMs);
    if (dropped.length > 0) logger.info({ dropped }, 'history partitions past HISTORY_RETENTION_DAYS dropped');
    return dropped;
  };
  const warn = (err: unknown): void => logger.warn({ err }, 'history partition maintenance failed; next round in an hour');
  void maintain().catch(warn);
  const timer = setInterval(() => void maintain().catch(warn), MAINTAIN_EVERY_MS);
  timer.unref();
  for (const f of flushers) f.start();
  return {
    flusher: flushers[0]!,
    flushers,
    maintain,
    async stop() {
      clearInterval(timer);
      await Promise.all(flushers.map((f) => f.stop()));
    },
  };
}
