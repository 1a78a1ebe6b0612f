import type { PoolClient } from 'pg';
import { ROW_COLUMNS, type PostbackRow } from './row-codec.js';
import { quoteIdent } from './schema.js';

const TYPES: Readonly<Record<(typeof ROW_COLUMNS)[number], string>> = {
  id: 'text', endpoint_id: 'text', publisher_id: 'text', event_id: 'text', status: 'text', attempts: 'smallint',
  http_status: 'smallint', finished_ms: 'bigint', next_ms: 'bigint', last_error: 'text', url: 'text', d: 'text', rr: 'text', a: 'text',
};

/** The upsert statement of a schema: built once per store, not per flush. */
export function upsertSql(schema: string): string {
  const cols = ROW_COLUMNS.join(', ');
  const params = ROW_COLUMNS.map((c, i) => `$${i + 1}::${TYPES[c]}[]`).join(', ');
  const select = ROW_COLUMNS.map((c) => (c === 'status' ? 'u.status::"char"' : `u.${c}`)).join(', ');
  // A snapshot never moves a row back: a final row stays final, and an older snapshot (fewer
  // attempts) of a row already further on is ignored. Snapshots thus stand alone, in any number.
  return `INSERT INTO ${quoteIdent(schema)}.postbacks AS p (${cols})
SELECT ${select} FROM unnest(${params}) AS u(${cols})
ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, http_status = excluded.http_status,
  finished_ms = excluded.finished_ms, next_ms = excluded.next_ms, last_error = excluded.last_error, a = excluded.a
WHERE p.status IN ('q', 'r') AND excluded.attempts >= p.attempts`;
}

/** Rows as the upsert's column arrays (one array per column: one statement, any number of rows). */
export function columnArrays(rows: readonly PostbackRow[]): unknown[][] {
  return ROW_COLUMNS.map((c) => rows.map((r) => r[c]));
}

/** Writes rows (sorted by id, so concurrent writers lock in one order) with one statement. */
export async function upsertRows(client: PoolClient, sql: string, rows: readonly PostbackRow[]): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await client.query(sql, columnArrays(sorted));
}

/** Deletes undone records (tombstones) that never got an attempt. */
export async function deleteUndone(client: PoolClient, schema: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query(`DELETE FROM ${quoteIdent(schema)}.postbacks WHERE id = ANY($1::text[]) AND status = 'q' AND attempts = 0`, [ids]);
}
