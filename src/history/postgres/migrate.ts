import type { PgPool } from './pg-pool.js';
import { migrationStatements } from './schema.js';

/** Advisory lock key of migrations and partition changes (any 64-bit number, fixed). */
export const SCHEMA_LOCK_KEY = 7_305_911_402;

/**
 * Creates or brings up to date the history schema, idempotently, in one transaction under
 * an advisory lock: processes starting at once take turns, and the later ones find
 * nothing to do.
 */
export async function migrate(pool: PgPool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    for (const sql of migrationStatements(schema)) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
