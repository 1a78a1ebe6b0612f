// `npm run bench -- --isolation`: does a healthy publisher keep its latency when other
// publishers are dead or slow? Three runs, each in its own process with its own Redis,
// dispatcher and receivers (bench/scenario-isolation.mjs): the healthy publisher alone,
// then beside ISOLATION_OTHERS (16) dead ones, then beside 16 slow ones. Prints a table and
// writes bench/isolation-results.json. Env: ISOLATION_SECONDS (20), ISOLATION_GRACE_SECONDS
// (5), ISOLATION_DRAIN_SECONDS (30), ISOLATION_OTHERS (16), ISOLATION_RETRY_SCHEDULE
// (0,1,1,1,1), ISOLATION_BATCHING (mixed|split), ISOLATION_RUNS (alone,dead,slow; healthy adds the control).
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { runScenario } from './lib.mjs';

export async function runIsolation() {
  const others = Number(process.env.ISOLATION_OTHERS ?? 16);
  const wanted = (process.env.ISOLATION_RUNS ?? 'alone,dead,slow').split(',');
  const plan = [
    { key: 'alone', name: 'healthy alone', env: { ISOLATION_KIND: 'none' } },
    { key: 'dead', name: `with ${others} dead`, env: { ISOLATION_KIND: 'dead' } },
    { key: 'slow', name: `with ${others} slow`, env: { ISOLATION_KIND: 'slow' } },
    // A control, on request (ISOLATION_RUNS=alone,healthy,...): as many other publishers, all
    // healthy, so that the cost of their traffic can be told apart from the cost of their being bad.
    { key: 'healthy', name: `with ${others} healthy (control)`, env: { ISOLATION_KIND: 'healthy' } },
  ].filter((r) => wanted.includes(r.key));

  const started = Date.now();
  const runs = {};
  for (const r of plan) {
    process.stderr.write(`bench --isolation: ${r.name}...\n`);
    try {
      runs[r.key] = await runScenario('bench/scenario-isolation.mjs', r.env);
    } catch (err) {
      // One failed run does not hide the others' figures; it is reported as such.
      runs[r.key] = { error: err.message };
      process.stderr.write(`bench --isolation: ${r.name} failed: ${err.message}\n`);
    }
  }

  const aloneP99 = runs.alone?.healthy?.p99_ms;
  const ratio = (run) => (run?.healthy?.p99_ms == null || aloneP99 == null ? null : run.healthy.p99_ms / Math.max(1, aloneP99));
  for (const run of Object.values(runs)) if (run.healthy) run.healthy.p99_over_alone = ratio(run);

  const sample = Object.values(runs).find((r) => r.seconds !== undefined);
  const targets = [];
  for (const key of ['dead', 'slow']) {
    const run = runs[key];
    if (!run) continue;
    const v = ratio(run);
    targets.push([`healthy p99 with ${others} ${key} / alone`, v, '<= 2', v !== null && v <= 2]);
  }
  for (const [key, run] of Object.entries(runs)) {
    const v = run.healthy?.arrived_by_grace_pct ?? null;
    targets.push([`healthy arrived within run + grace (${key}) %`, v, '100', v === 100]);
  }

  const results = {
    date: new Date().toISOString(),
    machine: machine(),
    config: {
      dispatcher: 'postback start (API + worker in one process), default configuration: WORKER_CONCURRENCY, PER_ORIGIN_CONCURRENCY, REQUEST_TIMEOUT_MS unset',
      dispatcher_env: { ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'warn', RETRY_SCHEDULE: process.env.ISOLATION_RETRY_SCHEDULE ?? '0,1,1,1,1', API_KEYS: 'unset' },
      retry_schedule_s: (process.env.ISOLATION_RETRY_SCHEDULE ?? '0,1,1,1,1').split(',').map(Number),
      healthy_rate_per_s: Number(process.env.ISOLATION_HEALTHY_RATE ?? 200),
      other_publishers: others,
      other_rate_per_s_each: Number(process.env.ISOLATION_OTHER_RATE ?? 40),
      dead: 'TCP listener that accepts and never answers; endpoint timeout_ms 2000',
      slow: 'answers 200 after 3000 ms; endpoint timeout default (10000 ms)',
      send_seconds: sample?.seconds ?? Number(process.env.ISOLATION_SECONDS ?? 20),
      grace_seconds: Number(process.env.ISOLATION_GRACE_SECONDS ?? 5),
      drain_limit_seconds: Number(process.env.ISOLATION_DRAIN_SECONDS ?? 30),
      warm_up_seconds: Number(process.env.ISOLATION_WARM_SECONDS ?? 2),
      batching: sample?.send?.batching ?? null,
      latency: 'receiver arrival time - sent_ms (stamped into each event just before its POST /v1/events, passed as a URL macro); same clock',
    },
    runs,
    targets: Object.fromEntries(targets.map(([k, v, t, ok]) => [k, { value: v, target: t, met: ok }])),
    total_seconds: (Date.now() - started) / 1000,
  };
  writeFileSync('bench/isolation-results.json', `${JSON.stringify(results, null, 2)}\n`);

  const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : x == null ? '-' : String(x));
  const c = results.config;
  console.log(`\npostback-dispatcher isolation benchmark, ${results.date}, ${results.machine.cpus} x ${results.machine.cpu}, ${results.machine.memory_gib} GiB, Node ${process.version}`);
  console.log(`healthy ${c.healthy_rate_per_s}/s beside ${others} publishers x ${c.other_rate_per_s_each}/s, ${c.send_seconds} s of sending, grace ${c.grace_seconds} s, drain <= ${c.drain_limit_seconds} s, retry schedule ${c.retry_schedule_s.join(',')} s, default WORKER_CONCURRENCY / PER_ORIGIN_CONCURRENCY\n`);
  console.log('| run | healthy postbacks | arrived by grace | arrived by end | p50 ms | p99 ms | p99 / alone | others: postbacks | others: outcome | API POST p99 ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  let footnote = false;
  for (const r of plan) {
    const run = runs[r.key];
    if (run.error) {
      console.log(`| ${r.name} | failed: ${run.error.slice(0, 120)} |||||||||`);
      continue;
    }
    const h = run.healthy;
    const o = run.others_figures;
    let outcome = '-';
    if (o?.kind === 'dead') {
      const t = o.created_to_final_ms?.all;
      const late = o.schedule_lateness_ms;
      const lateText = late ? `; behind schedule p50 / max ${f(late.first_4_s.p50 / 1000, 1)} / ${f(late.first_4_s.max / 1000, 1)} s (created in the first 4 s), ${f(late.after.p50 / 1000, 1)} / ${f(late.after.max / 1000, 1)} s (later)` : '';
      const when = t?.n ? `; final p50 / p99 / max ${f(t.p50 / 1000, 1)} / ${f(t.p99 / 1000, 1)} / ${f(t.max / 1000, 1)} s after creation (${f(o.on_schedule_ms / 1000, 1)} s if only the last attempt waits out its timeout)${lateText}` : '';
      outcome = `final ${o.final}/${o.postbacks} (${f(o.final_pct, 1)}%), queued ${o.still_queued}, retrying ${o.still_retrying}${when}`;
    }
    if (o?.kind === 'slow') outcome = `delivered ${o.delivered_by_grace} by grace (${f(o.delivered_per_s, 1)}/s), ${o.delivered_by_end} by end`;
    // Latencies exist only for postbacks that arrived: with some missing, p99 is a floor.
    const floor = h.arrived_by_end_pct !== null && h.arrived_by_end_pct < 100 ? '*' : '';
    if (floor) footnote = true;
    console.log(`| ${r.name} | ${h.postbacks} | ${f(h.arrived_by_grace_pct, 1)}% | ${f(h.arrived_by_end_pct, 1)}% | ${f(h.p50_ms)}${floor} | ${f(h.p99_ms)}${floor} | ${f(h.p99_over_alone, 2)}${floor} | ${o ? o.postbacks : '-'} | ${outcome} | ${f(run.send.post_p99_ms)} |`);
  }
  if (footnote) console.log('\n* over the healthy postbacks that arrived by the end of the drain; the others never arrived, so the true figure is higher.');
  // Where the time went while sending: CPU of each part, the dispatcher's event loop, Redis's
  // own answer time (a connection nothing else uses) and the commands that held it over 1 ms.
  console.log('\n| run (while sending) | dispatcher CPU s | Redis CPU s | sender CPU s | event loop delay p99 / max ms | Redis PING p99 / max ms | Redis commands over 1 ms (total ms) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of plan) {
    const s = runs[r.key]?.send;
    if (!s?.cpu_ms) continue;
    const loop = s.dispatcher_event_loop_delay;
    const slow = s.redis_slow_commands;
    console.log(`| ${r.name} | ${f(s.cpu_ms.dispatcher / 1000, 1)} | ${f(s.cpu_ms.redis / 1000, 1)} | ${f(s.cpu_ms.bench_sender / 1000, 1)} | ${f(loop.p99_ms, 1)} / ${f(loop.max_ms, 1)} | ${f(s.redis_ping_ms.p99, 1)} / ${f(s.redis_ping_ms.max, 1)} | ${slow.over_1ms} (${slow.ms_over_1ms}) |`);
  }
  console.log('\n| target | value | target | met |');
  console.log('|---|---|---|---|');
  for (const [k, v, t, ok] of targets) console.log(`| ${k} | ${f(v, 2)} | ${t} | ${ok ? 'yes' : 'no'} |`);
  console.log(`\nwritten: bench/isolation-results.json (${f(results.total_seconds)} s)`);
}

function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}
