// npm run bench -- --history postgres: (c) with Redis history and with PostgreSQL history,
// side by side (alternating, two rounds each, medians), then the query benchmark over
// 5,000,000 records. Writes bench/history-results.json and prints the README's table.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';

const HISTORY_URL = process.env.HISTORY_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

export async function runHistoryComparison(run, { N }) {
  const pool = new pg.Pool({ connectionString: HISTORY_URL, max: 1 });
  // Each PostgreSQL run starts from an empty schema (QUEUE_PREFIX bench -> schema "bench").
  const pgRun = async (name, script, env) => {
    await pool.query('DROP SCHEMA IF EXISTS "bench" CASCADE');
    return run(name, script, { ...env, HISTORY_URL });
  };
  const rows = { throughput: { redis: [], postgres: [] }, latency: { redis: [], postgres: [] } };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      rows.throughput.redis.push(await run('(c) Redis history', 'bench/scenario-dispatcher.mjs', { MODE: 'throughput', N: String(N) }));
      rows.throughput.postgres.push(await pgRun('(c) PostgreSQL history', 'bench/scenario-dispatcher.mjs', { MODE: 'throughput', N: String(N) }));
      rows.latency.redis.push(await run('latency at 2000/s, Redis history', 'bench/scenario-dispatcher.mjs', { MODE: 'latency', N: '10000', RATE: '2000' }));
      rows.latency.postgres.push(await pgRun('latency at 2000/s, PostgreSQL history', 'bench/scenario-dispatcher.mjs', { MODE: 'latency', N: '10000', RATE: '2000' }));
    }
    const bytesRedis = await run('Redis bytes per delivered postback, Redis history', 'bench/scenario-dispatcher.mjs', { MODE: 'bytes-delivered', N: '20000' });
    const bytesPg = await pgRun('Redis bytes per delivered postback, PostgreSQL history', 'bench/scenario-dispatcher.mjs', { MODE: 'bytes-delivered', N: '20000' });
    const pgBytes = await postgresBytesPerRow(pool, 'bench');
    const query = process.argv.includes('--no-query') ? undefined : await (await import('./history-query.mjs')).runHistoryQuery();

    const med = (xs, k) => median(xs.map((x) => x[k]));
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
      postbacks_per_run: N,
      rounds: ROUNDS,
      deliveries_per_second: { redis_history: med(rows.throughput.redis, 'per_second'), postgres_history: med(rows.throughput.postgres, 'per_second'), runs: rows.throughput },
      latency_at_2000_per_s_ms: {
        redis_history: { p50: med(rows.latency.redis, 'p50_ms'), p99: med(rows.latency.redis, 'p99_ms') },
        postgres_history: { p50: med(rows.latency.postgres, 'p50_ms'), p99: med(rows.latency.postgres, 'p99_ms') },
      },
      redis_commands_per_delivered: { redis_history: med(rows.throughput.redis, 'commands_per_delivered'), postgres_history: med(rows.throughput.postgres, 'commands_per_delivered') },
      redis_bytes_per_delivered_postback: { redis_history: bytesRedis.bytes_per_delivered, postgres_history: bytesPg.bytes_per_delivered },
      postgres_bytes_per_postback_one_attempt: pgBytes,
      query,
    };
    const ratio = results.deliveries_per_second.postgres_history / results.deliveries_per_second.redis_history;
    results.ratio_postgres_over_redis = ratio;
    const filtered = query?.latency_ms?.failed_endpoint_window;
    const q = filtered?.p99_ms;
    results.targets = {
      'throughput PostgreSQL / Redis history': { value: ratio, target: '>= 0.8', met: ratio >= 0.8 },
      'Redis bytes / delivered postback (PostgreSQL history)': { value: bytesPg.bytes_per_delivered, target: '<= 250', met: bytesPg.bytes_per_delivered <= 250 },
      'PostgreSQL bytes / postback, one attempt, indexes included': { value: pgBytes.bytes_per_row, target: '<= 500', met: pgBytes.bytes_per_row <= 500 },
      ...(q === undefined ? {} : { 'filtered query over 5M records, p99 (ms)': { value: q, target: '< 100', met: q < 100 } }),
    };
    writeFileSync('bench/history-results.json', `${JSON.stringify(results, null, 2)}\n`);
    const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
    console.log(`\nhistory stores side by side, ${results.date}, ${results.machine.cpus} x ${results.machine.cpu}, Node ${process.version}; ${N} postbacks per run, ${ROUNDS} rounds, medians\n`);
    console.log('| | Redis history | PostgreSQL history |');
    console.log('|---|---|---|');
    console.log(`| (c) deliveries/s, library producer (history written) | ${f(results.deliveries_per_second.redis_history)} | ${f(results.deliveries_per_second.postgres_history)} |`);
    console.log(`| latency p50 / p99 at 2000/s (ms) | ${f(results.latency_at_2000_per_s_ms.redis_history.p50)} / ${f(results.latency_at_2000_per_s_ms.redis_history.p99)} | ${f(results.latency_at_2000_per_s_ms.postgres_history.p50)} / ${f(results.latency_at_2000_per_s_ms.postgres_history.p99)} |`);
    console.log(`| Redis commands / delivered postback | ${f(results.redis_commands_per_delivered.redis_history, 1)} | ${f(results.redis_commands_per_delivered.postgres_history, 1)} |`);
    console.log(`| Redis bytes / delivered postback (kept) | ${f(bytesRedis.bytes_per_delivered)} | ${f(bytesPg.bytes_per_delivered)} |`);
    console.log(`| PostgreSQL bytes / postback, one attempt (table ${f(pgBytes.table_bytes_per_row)} + indexes ${f(pgBytes.index_bytes_per_row)}) | | ${f(pgBytes.bytes_per_row)} |`);
    if (filtered) console.log(`| GET /v1/postbacks?from&to&status=failed&endpoint_id over ${query.rows} records, p50 / p99 (ms) | | ${f(filtered.p50_ms, 1)} / ${f(filtered.p99_ms, 1)} |`);
    console.log('\n| target | value | met |');
    console.log('|---|---|---|');
    for (const [k, v] of Object.entries(results.targets)) console.log(`| ${k} ${v.target} | ${f(v.value, 2)} | ${v.met ? 'yes' : 'no'} |`);
  } finally {
    await pool.query('DROP SCHEMA IF EXISTS "bench" CASCADE').catch(() => undefined);
    await pool.end();
  }
}

/** Table, TOAST and index bytes of the schema's partitions, per row. */
async function postgresBytesPerRow(pool, schema) {
  const { rows } = await pool.query(
    `SELECT sum(pg_table_size(c.oid))::bigint AS table_bytes, sum(pg_indexes_size(c.oid))::bigint AS index_bytes,
            (SELECT count(*) FROM "${schema}".postbacks)::bigint AS n
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace s ON s.oid = p.relnamespace
      WHERE s.nspname = $1 AND p.relname = 'postbacks'`,
    [schema],
  );
  const { table_bytes: t, index_bytes: ix, n } = rows[0];
  return { rows: Number(n), table_bytes_per_row: Number(t) / Number(n), index_bytes_per_row: Number(ix) / Number(n), bytes_per_row: (Number(t) + Number(ix)) / Number(n) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
