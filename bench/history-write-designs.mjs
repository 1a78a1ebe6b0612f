// The measurement behind docs/decisions.md "PostgreSQL history: the outbox": what each
// design asks of PostgreSQL and of the producer, on the real schema and statements.
//   outbox (built): the producer writes Redis only; each postback reaches PostgreSQL once,
//     final, in the flusher's batched upsert.
//   synchronous insert (not built): the producer inserts the queued rows before answering
//     202, and the worker updates each row when final.
// And the layout of attempts: compact JSON arrays on the postback's row (built) against an
// attempts table of its own (one row per attempt, partitioned by day the same way).
// Usage: node bench/history-write-designs.mjs (HISTORY_URL, default the local PostgreSQL).
import { cpus } from 'node:os';
import pg from 'pg';
import { newPostbackId } from '../dist/src/endpoints/postback-id.js';
import { PartitionKeeper } from '../dist/src/history/postgres/partition-keeper.js';
import { migrate } from '../dist/src/history/postgres/migrate.js';
import { columnArrays, upsertSql } from '../dist/src/history/postgres/upsert-rows.js';
import { daysToKeepReady } from '../dist/src/history/postgres/day-partitions.js';
import { percentile } from './lib.mjs';

const url = process.env.HISTORY_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.N ?? 50_000);
const CALL = 100; // events per produce call (an API batch)
const FLUSH = 2000; // rows per flusher upsert

const row = (id, i, final) => ({
  id, endpoint_id: `ep-${i % 200}`, publisher_id: null, event_id: `ev-${i}`, status: final ? 'd' : 'q', attempts: final ? 1 : 0,
  http_status: final ? 200 : null, finished_ms: final ? Date.now() : null, next_ms: final ? null : Date.now(), last_error: null,
  d: JSON.stringify({ payout: 0.5, offer_id: '42', request: { url: `http://127.0.0.1:9/pb?click_id=c${i}&payout=0.5&e=ev-${i}` } }),
  rr: null, a: final ? JSON.stringify([[1, Date.now(), 3, 200, null, null, 'OK']]) : null,
});

async function design(pool, schema, name, fn) {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await migrate(pool, schema);
  await new PartitionKeeper(pool, schema).ensure(daysToKeepReady(Date.now(), 1));
  const sql = upsertSql(schema);
  const ids = Array.from({ length: N }, () => newPostbackId());
  const t0 = performance.now();
  const producerMs = await fn(pool, sql, ids);
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await pool.query(
    `SELECT sum(pg_table_size(c.oid) + pg_indexes_size(c.oid))::bigint AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace s ON s.oid = p.relnamespace WHERE s.nspname = $1 AND p.relname = 'postbacks'`,
    [schema],
  );
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  producerMs.sort((a, b) => a - b);
  return {
    design: name,
    postgres_ms_per_1000_postbacks: (seconds * 1000 * 1000) / N,
    postgres_statements_per_1000_postbacks: name === 'outbox' ? 1000 / FLUSH : 1000 / CALL + 1000 / FLUSH,
    added_produce_call_latency_ms: producerMs.length ? { p50: percentile(producerMs, 50), p99: percentile(producerMs, 99) } : { p50: 0, p99: 0 },
    bytes_per_postback_before_vacuum: Number(rows[0].bytes) / N,
  };
}

/** The attempts-table layout: postbacks without `a`, attempts as rows of their own. */
async function attemptsTable(pool, schema) {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await migrate(pool, schema);
  await new PartitionKeeper(pool, schema).ensure(daysToKeepReady(Date.now(), 1));
  const s = `"${schema}"`;
  await pool.query(`CREATE TABLE ${s}.attempts (postback_id text COLLATE "C" NOT NULL, n smallint NOT NULL, started_ms bigint NOT NULL,
    duration_ms integer NOT NULL, status_code smallint NOT NULL, error text, phase text, response_excerpt text, PRIMARY KEY (postback_id, n)) PARTITION BY RANGE (postback_id)`);
  const { rows: parts } = await pool.query(`SELECT pg_get_expr(c.relpartbound, c.oid) AS bound, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = 'postbacks'`, [schema]);
  for (const { bound, relname } of parts) await pool.query(`CREATE TABLE ${s}."a_${relname}" PARTITION OF ${s}.attempts ${bound}`);
  const sql = upsertSql(schema);
  const ids = Array.from({ length: N }, () => newPostbackId());
  const t0 = performance.now();
  for (let i = 0; i < N; i += FLUSH) {
    const chunk = ids.slice(i, i + FLUSH);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(sql, columnArrays(chunk.map((id, j) => ({ ...row(id, i + j, true), a: null }))));
      await client.query(`INSERT INTO ${s}.attempts SELECT * FROM unnest($1::text[], $2::smallint[], $3::bigint[], $4::int[], $5::smallint[], $6::text[], $7::text[], $8::text[])`,
        [chunk, chunk.map(() => 1), chunk.map(() => Date.now()), chunk.map(() => 3), chunk.map(() => 200), chunk.map(() => null), chunk.map(() => null), chunk.map(() => 'OK')]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await pool.query(
    `SELECT sum(pg_table_size(c.oid) + pg_indexes_size(c.oid))::bigint AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname IN ('postbacks', 'attempts')`,
    [schema],
  );
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  return { design: 'outbox, attempts in a table of their own', postgres_ms_per_1000_postbacks: (seconds * 1000 * 1000) / N, bytes_per_postback_before_vacuum: Number(rows[0].bytes) / N };
}

const pool = new pg.Pool({ connectionString: url, max: 2 });
const results = [];
try {
  for (let round = 0; round < 2; round++) {
    results.push(await design(pool, 'bench_design_outbox', 'outbox', async (p, sql, ids) => {
      for (let i = 0; i < N; i += FLUSH) await p.query(sql, columnArrays(ids.slice(i, i + FLUSH).map((id, j) => row(id, i + j, true))));
      return [];
    }));
    results.push(await design(pool, 'bench_design_sync', 'synchronous insert', async (p, sql, ids) => {
      const waits = [];
      for (let i = 0; i < N; i += CALL) {
        const t = performance.now();
        await p.query(sql, columnArrays(ids.slice(i, i + CALL).map((id, j) => row(id, i + j, false))));
        waits.push(performance.now() - t);
      }
      for (let i = 0; i < N; i += FLUSH) await p.query(sql, columnArrays(ids.slice(i, i + FLUSH).map((id, j) => row(id, i + j, true))));
      return waits;
    }));
    results.push(await attemptsTable(pool, 'bench_design_attempts'));
  }
} finally {
  await pool.end();
}
console.log(JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, postbacks: N, results }, null, 2));
