// npm run bench: side by side, in one process tree on this machine, against one Redis and
// one receiver process: (a) the HTTP limit, (b) BullMQ + fetch, (c) this dispatcher via the
// library producer and via POST /v1/events. Prints a table and writes bench/results.json.
// `npm run bench -- --soak` runs the 1,000,000-postback worker-memory soak instead.
// `npm run bench -- --isolation` runs the healthy-beside-dead/slow publishers benchmark
// instead (bench/isolation-report.mjs; its own Redis and processes per run).
// `npm run bench -- --ordering` runs (c) with and without ordering_key, side by side.
// `npm run bench -- --history postgres` runs (c) with Redis history and with PostgreSQL
// history side by side, then the 5,000,000-record query benchmark (bench/history-query.mjs);
// PostgreSQL is HISTORY_URL, else the local postgres://postgres@127.0.0.1:5432/test.
// `npm run bench -- --cluster` runs the dispatcher on a local 3-master Redis Cluster with
// QUEUE_SHARDS=1 and 6 (bench/cluster-report.mjs) and writes bench/cluster-results.json.
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { runScenario, startChild, startRedis } from './lib.mjs';

if (process.argv.includes('--isolation')) {
  const { runIsolation } = await import('./isolation-report.mjs');
  await runIsolation();
  process.exit(0);
}

if (process.argv.includes('--cluster')) {
  const { runClusterBench } = await import('./cluster-report.mjs');
  await runClusterBench();
  process.exit(0);
}

const historyArg = process.argv.indexOf('--history');
const history = historyArg === -1 ? undefined : process.argv[historyArg + 1];
if (history !== undefined && history !== 'postgres') {
  console.error(`--history ${history}: the one store to compare with Redis is postgres`);
  process.exit(2);
}
const soak = process.argv.includes('--soak');
const ordering = process.argv.includes('--ordering');
const N = Number(process.env.BENCH_N ?? 20_000);
const CONCURRENCY = 100;

const redis = await startRedis();
const { child: receiver, port } = await startChild(['bench/receiver.mjs', '0']);
const target = `http://127.0.0.1:${port}`;
const common = {
  REDIS_URL: redis.url,
  TARGET: target,
  CONCURRENCY: String(CONCURRENCY),
  WORKER_CONCURRENCY: String(CONCURRENCY),
  // One origin in the benchmark: let it use the whole concurrency, like (a) and (b).
  PER_ORIGIN_CONCURRENCY: String(CONCURRENCY),
  ALLOW_PRIVATE_TARGETS: 'true',
  LOG_LEVEL: 'info',
  QUEUE_PREFIX: 'bench',
};
const run = async (name, script, env) => {
  await redis.redis.flushall();
  process.stderr.write(`bench: ${name}...\n`);
  const r = await runScenario(script, { ...common, ...env });
  process.stderr.write(`bench: ${name}: ${JSON.stringify(r)}\n`);
  return r;
};

try {
  if (history === 'postgres') {
    const { runHistoryComparison } = await import('./history-report.mjs');
    await runHistoryComparison(run, { N });
  } else if (ordering) {
    // (c) with and without ordering_key on the benchmark endpoint, alternating, medians.
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
    const rows = { off: [], on: [] };
    const lat = { off: [], on: [] };
    for (let round = 0; round < rounds; round++) {
      rows.off.push(await run('(c) unordered', 'bench/scenario-dispatcher.mjs', { MODE: 'throughput', N: String(N) }));
      rows.on.push(await run('(c) ordering_key {click_id}', 'bench/scenario-dispatcher.mjs', { MODE: 'throughput', N: String(N), ORDERING_KEY: '{click_id}' }));
      lat.off.push(await run('latency at 2000/s, unordered', 'bench/scenario-dispatcher.mjs', { MODE: 'latency', N: '10000', RATE: '2000' }));
      lat.on.push(await run('latency at 2000/s, ordering_key {click_id}', 'bench/scenario-dispatcher.mjs', { MODE: 'latency', N: '10000', RATE: '2000', ORDERING_KEY: '{click_id}' }));
    }
    const med = (xs, k) => xs.map((x) => x[k]).sort((p, q) => p - q)[Math.floor(xs.length / 2)];
    const off = med(rows.off, 'per_second');
    const on = med(rows.on, 'per_second');
    const results = {
      date: new Date().toISOString(),
      machine: machine(),
      postbacks_per_run: N,
      rounds,
      note: 'every postback its own key (one event per click_id): the common case',
      deliveries_per_second: { unordered: off, ordered: on, runs: rows },
      ratio_ordered_over_unordered: on / off,
      cpu_us_per_delivered: {
        dispatcher: { unordered: med(rows.off, 'cpu_us_per_delivered'), ordered: med(rows.on, 'cpu_us_per_delivered') },
        redis: { unordered: med(rows.off, 'redis_cpu_us_per_delivered'), ordered: med(rows.on, 'redis_cpu_us_per_delivered') },
      },
      redis_commands_per_delivered: { unordered: med(rows.off, 'commands_per_delivered'), ordered: med(rows.on, 'commands_per_delivered') },
      latency_at_2000_per_s_ms: { unordered: { p50: med(lat.off, 'p50_ms'), p99: med(lat.off, 'p99_ms') }, ordered: { p50: med(lat.on, 'p50_ms'), p99: med(lat.on, 'p99_ms') } },
    };
    const cpuOff = results.cpu_us_per_delivered.dispatcher.unordered + results.cpu_us_per_delivered.redis.unordered;
    const cpuOn = results.cpu_us_per_delivered.dispatcher.ordered + results.cpu_us_per_delivered.redis.ordered;
    results.cpu_ratio_unordered_over_ordered = cpuOff / cpuOn;
    results.targets = {
      'throughput ordered / unordered': { value: on / off, target: '>= 0.9', met: on / off >= 0.9 },
      'CPU per postback (dispatcher + Redis), unordered / ordered': { value: cpuOff / cpuOn, target: '>= 0.9', met: cpuOff / cpuOn >= 0.9 },
    };
    writeFileSync('bench/ordering-results.json', `${JSON.stringify(results, null, 2)}\n`);
    const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
    console.log(`\nordering cost, ${results.date}, ${results.machine.cpus} x ${results.machine.cpu}, Node ${process.version}; ${N} postbacks per run, ${rounds} rounds, medians\n`);
    console.log('| | unordered | ordering_key {click_id} |');
    console.log('|---|---|---|');
    console.log(`| (c) deliveries/s, library producer | ${f(off)} | ${f(on)} (${f(on / off, 2)}x) |`);
    console.log(`| CPU per delivered postback, dispatcher + Redis (µs) | ${f(results.cpu_us_per_delivered.dispatcher.unordered)} + ${f(results.cpu_us_per_delivered.redis.unordered)} | ${f(results.cpu_us_per_delivered.dispatcher.ordered)} + ${f(results.cpu_us_per_delivered.redis.ordered)} (${f(cpuOn / cpuOff, 2)}x) |`);
    console.log(`| Redis commands / delivered postback | ${f(results.redis_commands_per_delivered.unordered, 1)} | ${f(results.redis_commands_per_delivered.ordered, 1)} |`);
    console.log(`| latency p50 / p99 at 2000/s (ms) | ${f(results.latency_at_2000_per_s_ms.unordered.p50)} / ${f(results.latency_at_2000_per_s_ms.unordered.p99)} | ${f(results.latency_at_2000_per_s_ms.ordered.p50)} / ${f(results.latency_at_2000_per_s_ms.ordered.p99)} |`);
  } else if (soak) {
    const n = Number(process.env.BENCH_SOAK_N ?? 1_000_000);
    const r = await run('soak', 'bench/scenario-dispatcher.mjs', { MODE: 'soak', N: String(n) });
    const pct = (r.growth_after_warmup * 100).toFixed(1);
    console.log(`soak: ${r.deliveries} postbacks, worker RSS ${mb(r.rss_warm)} after warm-up -> ${mb(r.rss_end)} at the end (${pct}% growth; target < 20%)`);
    writeFileSync('bench/soak-memory-results.json', `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), ...r }, null, 2)}\n`);
  } else {
    const a = await run('(a) limit: undici straight at the receiver', 'bench/scenario-limit.mjs', { N: String(N) });
    const b = await run('(b) BullMQ + fetch', 'bench/scenario-bullmq-fetch.mjs', { N: String(N) });
    const c = await run('(c) dispatcher, library producer', 'bench/scenario-dispatcher.mjs', { MODE: 'throughput', N: String(N) });
    const api = await run('(c) dispatcher, POST /v1/events x1000', 'bench/scenario-api.mjs', { N: String(N) });
    const latency = await run('latency at 2000/s', 'bench/scenario-dispatcher.mjs', { MODE: 'latency', N: '10000', RATE: '2000' });
    const lateness = await run('retry-timer lateness', 'bench/scenario-dispatcher.mjs', { MODE: 'lateness', N: '1000', RETRY_SCHEDULE: '0,0.5' });
    const latenessOpen = await run('retry lateness, endpoint failing every first attempt', 'bench/scenario-dispatcher.mjs', { MODE: 'lateness-open', N: '1000', RETRY_SCHEDULE: '0,0.5' });
    const bytes = await run('Redis bytes per pending postback', 'bench/scenario-dispatcher.mjs', { MODE: 'bytes', N: '10000' });
    const scale1 = await run('scale-out: 1 worker process', 'bench/scenario-scale.mjs', { N: String(N), WORKERS: '1', LOG_LEVEL: 'warn' });
    const scale2 = await run('scale-out: 2 worker processes', 'bench/scenario-scale.mjs', { N: String(N), WORKERS: '2', LOG_LEVEL: 'warn' });

    const results = {
      date: new Date().toISOString(),
      machine: machine(),
      postbacks_per_run: N,
      concurrency: CONCURRENCY,
      deliveries_per_second: { a_limit: a.per_second, b_bullmq_fetch: b.per_second, c_library: c.per_second, c_api: api.per_second },
      ratios: { c_library_over_a: c.per_second / a.per_second, c_library_over_b: c.per_second / b.per_second, c_api_over_a: api.per_second / a.per_second },
      latency_at_2000_per_s_ms: { p50: latency.p50_ms, p99: latency.p99_ms, achieved_rate: latency.achieved_rate },
      retry_lateness_ms: { p50: lateness.p50_ms, p99: lateness.p99_ms, step_ms: lateness.step_ms, samples: lateness.samples },
      retry_lateness_failing_endpoint_ms: { p50: latenessOpen.p50_ms, p99: latenessOpen.p99_ms, step_ms: latenessOpen.step_ms, samples: latenessOpen.samples },
      redis_bytes_per_pending_postback: bytes.bytes_per_pending,
      redis_commands_per_delivered_postback: c.commands_per_delivered,
      redis_round_trips_per_delivered_postback: c.round_trips_per_delivered,
      scale_out: { one_worker: scale1.per_second, two_workers: scale2.per_second, ratio: scale2.per_second / scale1.per_second },
      worker_rss: { c_before: c.rss_before, c_after: c.rss_after, b_before: b.rss_before, b_after: b.rss_after },
    };
    const targets = [
      ['c (library) / b', results.ratios.c_library_over_b, '>= 2.0', results.ratios.c_library_over_b >= 2],
      ['c (library) / a', results.ratios.c_library_over_a, '>= 0.5', results.ratios.c_library_over_a >= 0.5],
      ['c (API) / a', results.ratios.c_api_over_a, '>= 0.35', results.ratios.c_api_over_a >= 0.35],
      ['latency p99 at 2000/s (ms)', latency.p99_ms, '<= 25', latency.p99_ms <= 25],
      ['retry lateness p99 (ms)', lateness.p99_ms, '<= 150', lateness.p99_ms <= 150],
      ['Redis bytes / pending postback', bytes.bytes_per_pending, '<= 1000', bytes.bytes_per_pending <= 1000],
    ];
    results.targets = Object.fromEntries(targets.map(([k, v, t, ok]) => [k, { value: v, target: t, met: ok }]));
    writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
    const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
    console.log(`\npostback-dispatcher benchmark, ${results.date}, ${results.machine.cpus} x ${results.machine.cpu}, ${results.machine.memory_gib} GiB, Node ${process.version}`);
    console.log(`${N} postbacks per run, concurrency ${CONCURRENCY}, receiver + Redis + dispatcher on this machine\n`);
    console.log('| run | deliveries/s |');
    console.log('|---|---|');
    console.log(`| (a) undici straight at the receiver (the limit) | ${f(a.per_second)} |`);
    console.log(`| (b) BullMQ + fetch, default retention, 5 attempts exponential | ${f(b.per_second)} |`);
    console.log(`| (c) dispatcher, library producer | ${f(c.per_second)} |`);
    console.log(`| (c) dispatcher, POST /v1/events x1000 | ${f(api.per_second)} |`);
    console.log('\n| measure | value | target | met |');
    console.log('|---|---|---|---|');
    for (const [k, v, t, ok] of targets) console.log(`| ${k} | ${f(v, 2)} | ${t} | ${ok ? 'yes' : 'no'} |`);
    console.log(`| latency p50 at 2000/s (ms) | ${f(latency.p50_ms)} | | |`);
    console.log(`| retry lateness p50 (ms) | ${f(lateness.p50_ms)} | | |`);
    console.log(`| retry lateness, endpoint failing every first attempt (circuit open, slow lane), p50 / p99 (ms) | ${f(latenessOpen.p50_ms)} / ${f(latenessOpen.p99_ms)} | | |`);
    console.log(`| Redis commands / delivered postback (Lua-internal included) | ${f(c.commands_per_delivered, 1)} | | |`);
    console.log(`| Redis round trips / delivered postback (socket reads Redis processed) | ${f(c.round_trips_per_delivered, 2)} | | |`);
    console.log(`| 2 worker processes / 1 (drain ${N}) | ${f(scale2.per_second / scale1.per_second, 2)} (${f(scale1.per_second)} -> ${f(scale2.per_second)}/s) | | |`);
    console.log(`| worker RSS before -> after (c) | ${mb(c.rss_before)} -> ${mb(c.rss_after)} | | |`);
    console.log(`| worker RSS before -> after (b) | ${mb(b.rss_before)} -> ${mb(b.rss_after)} | | |`);
  }
} finally {
  receiver.kill('SIGTERM');
  redis.stop();
}

function mb(bytes) {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}
function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}
