import type { PoolClient } from 'pg';
import { DAY_MS, daysToKeepReady, idFloor, isExpired, partitionDay, partitionName } from './day-partitions.js';
import { SCHEMA_LOCK_KEY } from './migrate.js';
import type { PgPool } from './pg-pool.js';
import { quoteIdent } from './schema.js';

/** Days of partitions made ahead of today. */
export const DAYS_AHEAD = 3;
/** A day partition this long past its end takes no more writes worth counting: its indexes are rebuilt once. */
const SETTLED_AFTER_MS = 2 * DAY_MS;
/** Partitions compacted per maintenance round (each is a full index rebuild). */
const COMPACT_PER_ROUND = 3;
const COMPACTED = 'compacted';

/**
 * Makes day partitions before rows need them and drops whole partitions past the
 * retention, never a bulk DELETE. Neither blocks writes: a partition is made as a table
 * of its own and then attached (SHARE UPDATE EXCLUSIVE on the parent, which inserts do
 * not wait for), and dropped after DETACH ... CONCURRENTLY; both give up after a short
 * lock timeout and try again on the next round rather than queue writers behind them.
 */
export class PartitionKeeper {
  private readonly pool: PgPool;
  private readonly schema: string;
  private readonly known = new Set<number>();

  constructor(pool: PgPool, schema: string) {
    this.pool = pool;
    this.schema = schema;
  }

  /** Makes sure the partitions of `days` exist (cheap when they are known to). */
  async ensure(days: Iterable<number>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.known.has(d));
    if (missing.length === 0) return;
    await this.inTransaction(async (client) => {
      const existing = await this.partitions(client);
      for (const day of missing) if (!existing.has(day)) await this.create(client, day);
    });
    for (const day of missing) this.known.add(day);
  }

  /**
   * One maintenance round: partitions ahead made, expired ones dropped, settled ones
   * compacted. Returns the names dropped.
   */
  async maintain(nowMs: number, retentionMs: number): Promise<string[]> {
    await this.ensure(daysToKeepReady(nowMs, DAYS_AHEAD));
    const client = await this.pool.connect();
    const dropped: string[] = [];
    try {
      // One maintainer at a time; the others skip this round.
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SCHEMA_LOCK_KEY + 1]);
      if (!rows[0]?.locked) return dropped;
      try {
        await client.query("SET lock_timeout = '5s'");
        const s = quoteIdent(this.schema);
        for (const [day, name] of await this.partitionNames(client)) {
          if (!isExpired(day, nowMs, retentionMs)) continue;
          const table = `${s}.${quoteIdent(name)}`;
          if (await this.isAttached(client, name)) {
            try {
              await client.query(`ALTER TABLE ${s}.postbacks DETACH PARTITION ${table} CONCURRENTLY`);
            } catch (err) {
              // A detach cut short earlier left it pending: finish that one.
              if (!/pending detach|FINALIZE/i.test((err as Error).message)) throw err;
              await client.query(`ALTER TABLE ${s}.postbacks DETACH PARTITION ${table} FINALIZE`);
            }
          }
          await client.query(`DROP TABLE IF EXISTS ${table}`);
          this.known.delete(day);
          dropped.push(name);
        }
        await this.compactSettled(client, nowMs);
      } finally {
        await client.query('RESET lock_timeout').catch(() => undefined);
        await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY + 1]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
    return dropped;
  }

  /**
   * Rebuilds the indexes of day partitions that no longer take writes, once each (marked by
   * a comment). Rows arrive in id order but spread over endpoints and publishers, so
   * those indexes' pages split half-empty; rebuilt, they are about a third smaller.
   * REINDEX CONCURRENTLY takes no lock that blocks writes or reads.
   */
  private async compactSettled(client: PoolClient, nowMs: number): Promise<void> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = $1 AND p.relname = 'postbacks' AND obj_description(c.oid, 'pg_class') IS DISTINCT FROM $2
        ORDER BY c.relname`,
      [this.schema, COMPACTED],
    );
    const s = quoteIdent(this.schema);
    let done = 0;
    for (const { name } of rows) {
      const day = partitionDay(name);
      if (day === undefined || day + DAY_MS + SETTLED_AFTER_MS > nowMs || done >= COMPACT_PER_ROUND) continue;
      await client.query(`REINDEX TABLE CONCURRENTLY ${s}.${quoteIdent(name)}`);
      await client.query(`COMMENT ON TABLE ${s}.${quoteIdent(name)} IS '${COMPACTED}'`);
      done++;
    }
  }

  private async create(client: PoolClient, day: number): Promise<void> {
    const s = quoteIdent(this.schema);
    const table = `${s}.${quoteIdent(partitionName(day))}`;
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (LIKE ${s}.postbacks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await client.query(`ALTER TABLE ${s}.postbacks ATTACH PARTITION ${table} FOR VALUES FROM ('${idFloor(day)}') TO ('${idFloor(day + DAY_MS)}')`);
  }

  /** Attached partitions, by day. */
  private async partitions(client: PoolClient): Promise<Set<number>> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = $1 AND p.relname = 'postbacks'`,
      [this.schema],
    );
    return new Set(rows.map((r) => partitionDay(r.name)).filter((d): d is number => d !== undefined));
  }

  /** Every table of the schema named like a partition (attached or left detached), by day. */
  private async partitionNames(client: PoolClient): Promise<[number, string][]> {
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE 'postbacks\\_%'`,
      [this.schema],
    );
    return rows.flatMap((r) => {
      const day = partitionDay(r.name);
      return day === undefined ? [] : [[day, r.name] as [number, string]];
    });
  }

  private async isAttached(client: PoolClient, name: string): Promise<boolean> {
    const { rows } = await client.query(
      `SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [this.schema, name],
    );
    return rows.length > 0;
  }

  private async inTransaction(fn: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL lock_timeout = '5s'");
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
      await fn(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
