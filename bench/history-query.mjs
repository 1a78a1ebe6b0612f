// PostgreSQL history at scale: seeds ROWS postbacks (default 5,000,000) over the last 30
// days into the production schema (migrate() + day partitions, every index) with COPY
// through psql, then times GET /v1/postbacks through the real API (in-process, loopback)
// and reports PostgreSQL bytes per postback. Writes bench/history-query-results.json.
//
//   npm run build && node bench/history-query.mjs [--reseed] [--explain]
//   env: HISTORY_URL (postgres://postgres@127.0.0.1:5432/test), REDIS_URL
//   (redis://127.0.0.1:6379; the API's Runtime needs one, history reads do not touch it),
//   ROWS (5000000).
//
// The seeded schema (bench_history_q) is reused while it holds ROWS rows at the current
// SCHEMA_VERSION; --reseed drops and seeds it again. --explain prints EXPLAIN (ANALYZE,
// BUFFERS) of each query shape to stderr.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { buildApi } from '../dist/src/api/server.js';
import { loadConfig } from '../dist/src/config/schema.js';
import { newPostbackId } from '../dist/src/endpoints/postback-id.js';
import { F, encodeStatic } from '../dist/src/history/postback-record.js';
import { DAY_MS, daysToKeepReady, idTimeMs } from '../dist/src/history/postgres/day-partitions.js';
import { listQuery } from '../dist/src/history/postgres/list-query.js';
import { migrate } from '../dist/src/history/postgres/migrate.js';
import { DAYS_AHEAD, PartitionKeeper } from '../dist/src/history/postgres/partition-keeper.js';
import { ROW_COLUMNS, rowFromSnapshot } from '../dist/src/history/postgres/row-codec.js';
import { SCHEMA_VERSION, quoteIdent, schemaNameFor } from '../dist/src/history/postgres/schema.js';
import { createLogger } from '../dist/src/logging/logger.js';
import { Runtime } from '../dist/src/runtime/runtime.js';
import { percentile } from './lib.mjs';

export const QUEUE_PREFIX = 'bench_history_q';
const RESULTS_FILE = fileURLToPath(new URL('./history-query-results.json', import.meta.url));
const ENDPOINTS = 200;
const PUBLISHERS = 50;
const SPAN_DAYS = 30;
/** Default retry schedule (s) and request timeout: when a failing postback's attempts ran. */
const SCHEDULE_S = [0, 60, 90, 120, 150];
const TIMEOUT_MS = 10_000;

/**
 * Seeds (unless reusable), measures, and returns the result object (also written to
 * bench/history-query-results.json unless `write` is false).
 */
export async function runHistoryQuery(options = {}) {
  const url = options.url ?? process.env.HISTORY_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const rows = Number(options.rows ?? process.env.ROWS ?? 5_000_000);
  const reseed = options.reseed ?? process.argv.includes('--reseed');
  const explain = options.explain ?? process.argv.includes('--explain');
  if (!Number.isInteger(rows) || rows < 1000) throw new Error(`ROWS must be an integer >= 1000, got ${rows}`);
  const schema = schemaNameFor(QUEUE_PREFIX);
  const s = quoteIdent(schema);
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'bench-history-query' });
  try {
    // 1. Seed (or reuse).
    let seedSeconds = null;
    let seedNoted;
    const present = await seededRows(pool, schema);
    if (reseed || present !== rows) {
      log(present === undefined ? `no usable ${schema}: seeding ${rows} rows` : reseed ? `--reseed: seeding ${rows} rows` : `${schema} holds ${present} rows, not ${rows}: seeding again`);
      const t0 = performance.now();
      await seed(pool, url, schema, rows);
      seedSeconds = (performance.now() - t0) / 1000;
      log(`seeded in ${seedSeconds.toFixed(1)} s (COPY, VACUUM ANALYZE included)`);
      const asWritten = await storageOf(pool, schema, rows);
      // Kept with the data, so a run that reuses it still reports what seeding took.
      seedNoted = { rows, seed_seconds: seedSeconds, seeded_at: new Date().toISOString(), bytes_per_row_as_written: asWritten.bytes_per_row };
      await pool.query(`COMMENT ON SCHEMA ${s} IS ${pg.escapeLiteral(JSON.stringify(seedNoted))}`);
    } else {
      log(`${schema} already holds ${rows} rows: reusing them (--reseed to seed again)`);
    }
    const seeded = seedNoted ?? (await seedNote(pool, schema));
    const span = await dataSpan(pool, s);
    const knownEvents = (await pool.query(`SELECT event_id FROM ${s}.postbacks TABLESAMPLE SYSTEM (1) LIMIT 1000`)).rows.map((r) => r.event_id);
    if (knownEvents.length === 0) knownEvents.push((await pool.query(`SELECT event_id FROM ${s}.postbacks LIMIT 1`)).rows[0].event_id);

    // 2. Storage, as production keeps it: the hourly maintenance has rebuilt the indexes of
    // the settled days (all but the last two), as many rounds as that takes.
    const keeper = new PartitionKeeper(pool, schema);
    const tc = performance.now();
    for (let round = 0; round < 20; round++) {
      await keeper.maintain(Date.now(), 3650 * DAY_MS);
      const left = await pool.query(
        `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace ns ON ns.oid = p.relnamespace
         WHERE ns.nspname = $1 AND p.relname = 'postbacks' AND obj_description(c.oid, 'pg_class') IS NULL
           AND c.relname < $2`,
        [schema, `postbacks_${new Date(Date.now() - 3 * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`],
      );
      if (left.rows[0].n === 0) break;
    }
    log(`settled partitions compacted in ${((performance.now() - tc) / 1000).toFixed(1)} s`);
    const storage = await storageOf(pool, schema, rows);
    storage.bytes_per_row_as_written = seeded.bytes_per_row_as_written ?? null;
    log(`bytes/row: ${storage.bytes_per_row.total.toFixed(0)} (table ${storage.bytes_per_row.table.toFixed(0)}, indexes ${storage.bytes_per_row.indexes.toFixed(0)})`);

    // 3. Queries through the API.
    const rand = prng(0x5eed);
    const pick = (arr) => arr[Math.floor(rand() * arr.length)];
    const endpoint = () => `ep-${Math.floor(rand() * ENDPOINTS)}`;
    const publisher = () => `pub-${Math.floor(rand() * PUBLISHERS)}`;
    const windowSizes = [1, 7, 30];
    const window = () => {
      const len = pick(windowSizes) * DAY_MS;
      const room = Math.max(0, span.toMs - span.fromMs - len);
      const from = span.fromMs + Math.floor(rand() * room);
      return { from: new Date(from).toISOString(), to: new Date(Math.min(span.toMs, from + len)).toISOString(), days: len / DAY_MS };
    };
    // Each call's query parameters, and the window length when it has one (reported apart).
    const filteredCall = () => {
      const w = window();
      return { query: { from: w.from, to: w.to, status: 'failed', endpoint_id: endpoint() }, days: w.days };
    };
    const shapes = {
      no_filter: () => ({ query: {} }),
      endpoint_id: () => ({ query: { endpoint_id: endpoint() } }),
      publisher_id: () => ({ query: { publisher_id: publisher() } }),
      event_id: () => ({ query: { event_id: pick(knownEvents) } }),
      status_failed: () => ({ query: { status: 'failed' } }),
    };
    if (explain) await explainShapes(pool, schema, filteredCall().query, span, knownEvents);

    const loadBefore = loadavg();
    const measureStart = performance.now();
    const api = await startApi(url, redisUrl, schema);
    const agent = new Agent({ connections: 1 });
    const measured = {};
    try {
      const get = async (query) => {
        const qs = new URLSearchParams(query).toString();
        const t0 = performance.now();
        const res = await request(`${api.base}/v1/postbacks${qs ? `?${qs}` : ''}`, { dispatcher: agent });
        const body = await res.body.json();
        const ms = performance.now() - t0;
        if (res.statusCode !== 200) throw new Error(`GET /v1/postbacks?${qs}: ${res.statusCode} ${JSON.stringify(body)}`);
        return { ms, items: body.items.length };
      };
      const series = async (name, calls, warmup, next) => {
        for (let i = 0; i < warmup; i++) await get(next().query);
        const ms = [];
        let items = 0;
        const byWindow = {};
        for (let i = 0; i < calls; i++) {
          const { query, days } = next();
          const r = await get(query);
          ms.push(r.ms);
          items += r.items;
          if (days !== undefined) (byWindow[`${days}d`] ??= []).push(r.ms);
        }
        const out = { calls, ...stats(ms), mean_items: items / calls };
        if (Object.keys(byWindow).length > 0) out.p99_by_window_ms = Object.fromEntries(Object.entries(byWindow).map(([k, v]) => [k, stats(v).p99_ms]));
        log(`${name}: p50 ${out.p50_ms.toFixed(1)} ms, p99 ${out.p99_ms.toFixed(1)} ms, max ${out.max_ms.toFixed(1)} ms, mean items ${out.mean_items.toFixed(1)}`);
        return out;
      };
      // The issue's query: failed postbacks of one endpoint in a time window, newest first.
      measured.failed_endpoint_window = await series('status=failed&endpoint_id + window', 500, 50, filteredCall);
      for (const [name, params] of Object.entries(shapes)) measured[name] = await series(name, 200, 20, params);
    } finally {
      await agent.close();
      await api.close();
    }
    const loadAfter = loadavg();
    const measureSeconds = (performance.now() - measureStart) / 1000;

    const filtered = measured.failed_endpoint_window;
    const result = {
      date: new Date().toISOString(),
      machine: { ...machine(), postgres: await pgInfo(pool) },
      load_average_1m: { before: loadBefore[0], after: loadAfter[0] },
      rows,
      schema,
      data_span: { from: new Date(span.fromMs).toISOString(), to: new Date(span.toMs).toISOString() },
      seeded_this_run: seedSeconds !== null,
      seeded_at: seeded.seeded_at ?? null,
      seed_seconds: seeded.seed_seconds ?? null,
      measure_seconds: measureSeconds,
      query: 'GET /v1/postbacks?from&to&status=failed&endpoint_id (windows 1/7/30 days, default limit 100), one at a time over HTTP',
      latency_ms: measured,
      storage,
      targets: {
        'filtered query p99 (ms)': { value: filtered.p99_ms, target: '< 100', met: filtered.p99_ms < 100 },
        'PostgreSQL bytes / postback': { value: storage.bytes_per_row.total, target: '<= 500', met: storage.bytes_per_row.total <= 500 },
      },
    };
    if (options.write !== false) writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await pool.end();
  }
}

function log(msg) {
  process.stderr.write(`history-query: ${msg}\n`);
}

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50_ms: percentile(sorted, 50), p90_ms: percentile(sorted, 90), p99_ms: percentile(sorted, 99), max_ms: sorted.at(-1) };
}

/** Rows in the schema when it is one this script can reuse (current schema version), else undefined. */
async function seededRows(pool, schema) {
  const s = quoteIdent(schema);
  const { rows } = await pool.query(`SELECT to_regclass($1) AS t, to_regclass($2) AS v`, [`${s}.postbacks`, `${s}.schema_version`]);
  if (rows[0].t === null || rows[0].v === null) return undefined;
  const version = (await pool.query(`SELECT max(version) AS v FROM ${s}.schema_version`)).rows[0].v;
  if (version !== SCHEMA_VERSION) return undefined;
  return Number((await pool.query(`SELECT count(*) AS n FROM ${s}.postbacks`)).rows[0].n);
}

/** What the seeding run noted on the schema (COMMENT ON SCHEMA). */
async function seedNote(pool, schema) {
  const { rows } = await pool.query(`SELECT obj_description(oid, 'pg_namespace') AS note FROM pg_namespace WHERE nspname = $1`, [schema]);
  try {
    return JSON.parse(rows[0]?.note ?? '{}');
  } catch {
    return {};
  }
}

async function dataSpan(pool, s) {
  const { rows } = await pool.query(`SELECT min(id) AS lo, max(id) AS hi FROM ${s}.postbacks`);
  return { fromMs: idTimeMs(rows[0].lo), toMs: idTimeMs(rows[0].hi) + 1 };
}

/** Drops the bench schema, makes it as production does (migrate + partitions), COPYs the rows, VACUUM ANALYZE. */
async function seed(pool, url, schema, n) {
  const s = quoteIdent(schema);
  await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await migrate(pool, schema);
  const endMs = Date.now();
  const startMs = endMs - SPAN_DAYS * DAY_MS;
  const days = new Set(daysToKeepReady(endMs, DAYS_AHEAD));
  for (let d = startMs - (startMs % DAY_MS); d <= endMs; d += DAY_MS) days.add(d);
  await new PartitionKeeper(pool, schema).ensure(days);
  log(`schema ${schema} migrated, ${days.size} day partitions; COPY of ${n} rows from ${new Date(startMs).toISOString()} to ${new Date(endMs).toISOString()}`);
  const t0 = performance.now();
  await copyIn(url, `COPY ${s}.postbacks (${ROW_COLUMNS.join(', ')}) FROM STDIN`, copyChunks(n, startMs, endMs), (done) => {
    const secs = (performance.now() - t0) / 1000;
    const rate = done / secs;
    log(`seed: ${done}/${n} rows (${((100 * done) / n).toFixed(0)}%), ${Math.round(rate)} rows/s, ETA ${Math.round((n - done) / rate)} s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
  });
  log(`COPY done in ${((performance.now() - t0) / 1000).toFixed(1)} s; VACUUM ANALYZE (what autovacuum would do to an insert-only table)...`);
  const t1 = performance.now();
  await pool.query(`VACUUM (ANALYZE) ${s}.postbacks`);
  log(`VACUUM ANALYZE done in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
}

/**
 * Streams chunks (strings of COPY text rows) into `psql -c "COPY ... FROM STDIN"`, with
 * backpressure: memory stays one chunk and the pipe's buffer however many rows.
 */
async function copyIn(url, sql, chunks, onProgress) {
  const psql = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  psql.stderr.on('data', (c) => (stderr += c.toString()));
  psql.stdin.on('error', () => undefined); // EPIPE when psql exits early: its exit code says why
  const exited = new Promise((resolve) => psql.once('close', (code, signal) => resolve(code ?? signal)));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  let lastReport = performance.now();
  for (const { text, done } of chunks) {
    if (exitedEarly) break;
    if (!psql.stdin.write(text)) await Promise.race([once(psql.stdin, 'drain'), exited]);
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      onProgress(done);
    }
  }
  psql.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`psql COPY exited ${code}: ${stderr.trim()}`);
}

/** COPY text format: backslash, tab, newline and carriage return escaped; null is \N. */
const COPY_ESCAPES = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
function copyField(v) {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : v;
}

/** ~256 KiB strings of COPY rows, generated as they are asked for. */
function* copyChunks(n, startMs, endMs) {
  const rand = prng(20261121);
  const step = (endMs - startMs) / n;
  let text = '';
  for (let i = 0; i < n; i++) {
    const createdMs = startMs + Math.floor((i + rand()) * step);
    const row = rowFromSnapshot(newPostbackId(createdMs), snapshot(createdMs, rand));
    let line = copyField(row[ROW_COLUMNS[0]]);
    for (let c = 1; c < ROW_COLUMNS.length; c++) line += `\t${copyField(row[ROW_COLUMNS[c]])}`;
    text += `${line}\n`;
    if (text.length >= 256 * 1024) {
      yield { text, done: i + 1 };
      text = '';
    }
  }
  if (text.length > 0) yield { text, done: n };
}

const hex8 = (rand) => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0');
const PAYOUTS = [0.5, 1, 1.25, 2.5, 3, 4.75, 10, 12.5];
const EXCERPTS = ['OK', 'OK', 'ok', '{"success":true}', '1'];

/**
 * A final (or retrying) record's hash as the record scripts leave it: static part from
 * encodeStatic (a GET to a ~105-char URL with click_id, payout and offer id), status,
 * count, http status, finished, next, last error and each attempt's JSON. The row is what
 * rowFromSnapshot makes of it, as the outbox flusher writes it.
 */
function snapshot(createdMs, rand) {
  const ep = Math.floor(rand() * ENDPOINTS);
  const offer = 1000 + Math.floor(rand() * 500);
  const payout = PAYOUTS[offer % PAYOUTS.length];
  const click = `${hex8(rand)}${hex8(rand)}${hex8(rand)}${hex8(rand)}`;
  const data = {
    event_id: `evt_${hex8(rand)}${hex8(rand)}${hex8(rand).slice(0, 4)}`,
    endpoint_id: `ep-${ep}`,
    publisher_id: `pub-${ep % PUBLISHERS}`,
    offer_id: String(offer),
    advertiser_name: null,
    payout,
    created_ms: createdMs,
    request: { method: 'GET', url: `https://trk.partner${ep}.example.com/pb?click_id=${click}&payout=${payout}&offer_id=${offer}`, headers: {}, body: null },
  };
  const hash = { [F.static]: encodeStatic(data) };
  const r = rand();
  // ~2% failed after 5 timeouts, ~0.5% retrying after 1-4, the rest delivered at once.
  const failed = r < 0.02;
  const retrying = !failed && r < 0.025;
  if (!failed && !retrying) {
    const started = createdMs + 2 + Math.floor(rand() * 40);
    const duration = 30 + Math.floor(rand() * 370);
    const attempt = { n: 1, started_at: new Date(started).toISOString(), duration_ms: duration, status_code: 200, error: null, phase: null, response_excerpt: EXCERPTS[Math.floor(rand() * EXCERPTS.length)] };
    Object.assign(hash, { [F.status]: 'delivered', [F.count]: '1', [F.http]: '200', [F.finished]: String(started + duration), [F.next]: '', [F.lastError]: '', [F.attempt(1)]: JSON.stringify(attempt) });
    return hash;
  }
  const count = failed ? 5 : 1 + Math.floor(rand() * 4);
  let at = createdMs + 2;
  for (let n = 1; n <= count; n++) {
    at += SCHEDULE_S[n - 1] * 1000;
    const attempt = { n, started_at: new Date(at).toISOString(), duration_ms: TIMEOUT_MS, status_code: 0, error: 'timeout', phase: 'headers', response_excerpt: '' };
    hash[F.attempt(n)] = JSON.stringify(attempt);
    at += TIMEOUT_MS;
  }
  Object.assign(hash, {
    [F.status]: failed ? 'failed' : 'retrying',
    [F.count]: String(count),
    [F.http]: '0',
    [F.finished]: failed ? String(at) : '',
    [F.next]: failed ? '' : String(at + SCHEDULE_S[count] * 1000),
    [F.lastError]: 'timeout',
  });
  return hash;
}

/** Deterministic uniform [0, 1) (mulberry32): the same data on every seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sizes summed over the attached day partitions (heap + TOAST + FSM/VM, and their indexes). */
async function storageOf(pool, schema, rows) {
  const parts = `SELECT c.oid, c.reltoastrelid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = 'postbacks'`;
  const { rows: [t] } = await pool.query(
    `SELECT count(*)::int AS partitions, sum(pg_total_relation_size(oid))::bigint AS total, sum(pg_table_size(oid))::bigint AS tbl,
            sum(pg_indexes_size(oid))::bigint AS idx, sum(pg_relation_size(oid))::bigint AS heap,
            sum(CASE WHEN reltoastrelid <> 0 THEN pg_total_relation_size(reltoastrelid) ELSE 0 END)::bigint AS toast
       FROM (${parts}) x`,
    [schema],
  );
  const { rows: idx } = await pool.query(
    `SELECT pi.relname AS name, sum(pg_relation_size(ci.oid))::bigint AS bytes
       FROM pg_inherits ii JOIN pg_class ci ON ci.oid = ii.inhrelid JOIN pg_class pi ON pi.oid = ii.inhparent
       JOIN pg_namespace n ON n.oid = pi.relnamespace WHERE n.nspname = $1 AND pi.relkind = 'I' GROUP BY 1 ORDER BY 2 DESC`,
    [schema],
  );
  const s = quoteIdent(schema);
  const { rows: [w] } = await pool.query(
    `SELECT avg(pg_column_size(p.*)) AS tuple, avg(pg_column_size(d)) AS d, avg(coalesce(pg_column_size(a), 0)) AS a,
            avg(pg_column_size(id)) AS id, avg(pg_column_size(event_id)) AS event_id
       FROM ${s}.postbacks p TABLESAMPLE SYSTEM (1)`,
  );
  const per = (b) => Number(b) / rows;
  return {
    partitions: t.partitions,
    bytes: { total: Number(t.total), table: Number(t.tbl), heap: Number(t.heap), toast: Number(t.toast), indexes: Number(t.idx) },
    bytes_per_row: {
      total: per(t.total),
      table: per(t.tbl),
      indexes: per(t.idx),
      by_index: Object.fromEntries(idx.map((r) => [r.name, per(r.bytes)])),
    },
    // Sampled (1% of pages): the tuple as stored (before its 24-byte header and line pointer) and its widest columns.
    avg_column_bytes: Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v === null ? null : Math.round(Number(v) * 10) / 10])),
  };
}

async function pgInfo(pool) {
  const { rows } = await pool.query(
    `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers,
            current_setting('work_mem') AS work_mem, current_setting('random_page_cost') AS random_page_cost`,
  );
  return rows[0];
}

function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** The API as `postback api` serves it (buildApi over a Runtime), on a free loopback port. */
async function startApi(url, redisUrl, schema) {
  const config = loadConfig({ REDIS_URL: redisUrl, HISTORY_URL: url, QUEUE_PREFIX, LOG_LEVEL: 'silent' });
  const runtime = await Runtime.create(config, createLogger(config.logLevel, createWriteStream('/dev/null')));
  if (runtime.historyStore.schema !== schema) throw new Error(`QUEUE_PREFIX ${QUEUE_PREFIX} reads schema ${runtime.historyStore.schema}, not ${schema}`);
  const app = buildApi(runtime);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${app.server.address().port}`;
  return {
    base,
    close: async () => {
      await app.close();
      await runtime.close();
    },
  };
}

/** EXPLAIN (ANALYZE, BUFFERS) of each query shape as the store sends it (listQuery), to stderr. */
async function explainShapes(pool, schema, filtered, span, knownEvents) {
  const filters = {
    [`status=failed&endpoint_id, ${filtered.from} to ${filtered.to}`]: { fromMs: Date.parse(filtered.from), toMs: Date.parse(filtered.to), status: 'failed', endpointId: filtered.endpoint_id },
    'status=failed&endpoint_id, 30 days': { fromMs: span.fromMs, toMs: span.toMs, status: 'failed', endpointId: 'ep-7' },
    'no filter': {},
    endpoint_id: { endpointId: 'ep-7' },
    publisher_id: { publisherId: 'pub-7' },
    event_id: { eventId: knownEvents[0] },
    'status=failed': { status: 'failed' },
  };
  for (const [name, f] of Object.entries(filters)) {
    const q = listQuery(schema, f, 100, undefined);
    const { rows } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.text}`, q.values);
    log(`EXPLAIN ${name}: ${JSON.stringify(q.values)}\n${rows.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runHistoryQuery();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
