// One isolation run, as a network would run the dispatcher with its DEFAULT configuration:
// `postback start` (API + worker, one process) on a throw-away Redis, endpoints made with
// PUT /v1/endpoints/:id, events sent as batches to POST /v1/events, publishers on loopback.
//   - one healthy publisher (own process and port, answers 200 at once) at HEALTHY_RATE/s;
//   - ISOLATION_OTHERS other publishers, each its own origin (port), OTHER_RATE/s each,
//     ISOLATION_KIND "dead" (accepts TCP, never answers; timeout_ms 2000) or "slow"
//     (200 after 3 s), or "none" (the healthy publisher alone: the baseline).
// While sending it also records where time went: each part's CPU, the dispatcher's event-loop
// delay, Redis's PING time from a connection of its own, and Redis's slowlog (over 1 ms);
// ISOLATION_TRACE / ISOLATION_TIMELINE write per-postback latencies and 250 ms counters.
// Prints one JSON line (the run's figures) last, for lib.mjs runScenario. Every child is
// killed on the way out, whatever happens; every wait below is bounded in time.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { VARIABLES } from '../dist/src/config/schema.js';
import { freePort, percentile, redisCpuMicros, sleep, startChild, startRedis } from './lib.mjs';

const env = process.env;
const KIND = env.ISOLATION_KIND ?? 'none';
const OTHERS = KIND === 'none' ? 0 : Number(env.ISOLATION_OTHERS ?? 16);
const SECONDS = Number(env.ISOLATION_SECONDS ?? 20);
const GRACE_S = Number(env.ISOLATION_GRACE_SECONDS ?? 5);
const DRAIN_S = Number(env.ISOLATION_DRAIN_SECONDS ?? 30);
const WARM_S = Number(env.ISOLATION_WARM_SECONDS ?? 2);
const HEALTHY_RATE = Number(env.ISOLATION_HEALTHY_RATE ?? 200);
const OTHER_RATE = Number(env.ISOLATION_OTHER_RATE ?? 40);
const SLOW_MS = 3000;
const DEAD_TIMEOUT_MS = 2000;
// Compressed so a dead postback's five attempts can end within the drain (the default
// 0,60,90,120,150 would take 7 minutes); the same for the dispatcher and per endpoint.
const SCHEDULE = (env.ISOLATION_RETRY_SCHEDULE ?? '0,1,1,1,1').split(',').map(Number);
const TICK_MS = 50; // send cadence: a batch every 50 ms (10 healthy events per batch at 200/s)
const MAX_BATCH = 1000; // POST /v1/events limit
// One mixed batch per tick (a network's events interleave publishers) or one per publisher.
const BATCHING = env.ISOLATION_BATCHING === 'split' ? 'split' : 'mixed';
if (!['none', 'dead', 'slow', 'healthy'].includes(KIND)) throw new Error(`ISOLATION_KIND must be none, dead, slow or healthy, got ${KIND}`);

// ---- processes: tracked so that every exit path kills them ----------------------------
const children = new Set();
let redis;
function killAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  redis?.stop();
  redis = undefined;
}
process.on('exit', killAll); // synchronous kills: also runs after process.exit()
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
// A hard ceiling on the whole run, whatever hangs.
const HARD_MAX_MS = (60 + WARM_S + 15 + SECONDS * 3 + GRACE_S + DRAIN_S + 180) * 1000;
setTimeout(() => {
  process.stderr.write(`isolation: run exceeded ${HARD_MAX_MS / 1000} s, giving up\n`);
  process.exit(3);
}, HARD_MAX_MS).unref();

const log = (s) => process.stderr.write(`isolation[${KIND}${OTHERS ? ` x${OTHERS}` : ''}]: ${s}\n`);

/** Distinct free loopback ports (one per publisher origin). */
async function freePorts(n) {
  const ports = new Set();
  for (let i = 0; ports.size < n && i < n * 10; i++) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free ports`);
  return [...ports];
}

async function receivers(args) {
  const r = await startChild(['bench/isolation-receivers.mjs', ...args]);
  children.add(r.child);
  return r.child;
}

let askSeq = 0;
/** Asks a receiver for its figures (bounded: 10 s). */
function report(child, prefix, extra = {}) {
  const id = ++askSeq;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error('receiver did not report within 10 s'));
    }, 10_000);
    function onMessage(m) {
      if (m?.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m);
    }
    child.on('message', onMessage);
    child.send({ id, cmd: 'report', prefix, ...extra });
  });
}

// ---- the dispatcher, default configuration --------------------------------------------
/** The parent's environment without any dispatcher setting, so only defaults + ours apply. */
function defaultEnv() {
  const out = { ...process.env };
  for (const v of VARIABLES) delete out[v.env];
  for (const k of Object.keys(out)) if (k.startsWith('ISOLATION_')) delete out[k];
  return out;
}

let dispatcherChild;
async function startDispatcher(redisUrl, logFile) {
  const port = await freePort();
  const dispatcherEnv = {
    ...defaultEnv(),
    REDIS_URL: redisUrl,
    PORT: String(port),
    ALLOW_PRIVATE_TARGETS: 'true',
    LOG_LEVEL: 'warn',
    RETRY_SCHEDULE: SCHEDULE.join(','),
    // Comparing runs: ISOLATION_BATCH_SIZE=1 sends every postback as a job of its own.
    ...(env.ISOLATION_BATCH_SIZE ? { BATCH_SIZE: env.ISOLATION_BATCH_SIZE } : {}),
    // Experiments: ISOLATION_DISPATCHER_ENV="SLOW_LANE_CONCURRENCY=1 ..." sets more dispatcher variables.
    ...Object.fromEntries((env.ISOLATION_DISPATCHER_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const fd = openSync(logFile, 'a');
  // ISOLATION_CPU_PROF=DIR writes a V8 CPU profile of the dispatcher there (for `node --cpu-prof` readers).
  const prof = env.ISOLATION_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.ISOLATION_CPU_PROF}`] : [];
  // ISOLATION_NODE_ARGS="--trace-gc ...": more node flags for the dispatcher (its output goes to the log).
  if (env.ISOLATION_NODE_ARGS) prof.push(...env.ISOLATION_NODE_ARGS.split(' ').filter(Boolean));
  const child = spawn(process.execPath, [...prof, 'dist/src/cli/main.js', 'start'], { env: dispatcherEnv, stdio: ['ignore', fd, fd] });
  children.add(child);
  dispatcherChild = child;
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`dispatcher exited ${child.exitCode} at start; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`dispatcher not ready within 30 s; see ${logFile}`);
    try {
      const r = await request(`${base}/readyz`, { dispatcher: agent });
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  return { child, base, env: dispatcherEnv };
}

// API client: a few keep-alive connections, every call bounded in time.
const agent = new Agent({ connections: 8, headersTimeout: 30_000, bodyTimeout: 30_000 });
async function api(base, method, path, body) {
  const r = await request(`${base}${path}`, {
    dispatcher: agent,
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, text, json: () => JSON.parse(text) };
}

/** A process's CPU time so far (user + system, ms), from /proc (Linux). */
function processCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Math.round(((Number(fields[11]) + Number(fields[12])) * 1000) / 100); // utime, stime in clock ticks (100/s)
}

/** CPU time used by every process on the machine so far (ms): /proc/stat's first line, idle and iowait left out. */
function machineCpuMs() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
  const n = ticks.map(Number);
  return Math.round(((n.reduce((a, b) => a + b, 0) - n[3] - n[4]) * 1000) / 100);
}

/** The slowlog entries tallied by command (a script by its SHA's first 8 characters): count and ms. */
function slowByCommand(entries) {
  const out = {};
  for (const e of entries) {
    const [cmd, arg] = e.cmd.split(' ');
    const name = cmd.toLowerCase() === 'evalsha' ? `evalsha ${arg.slice(0, 8)}` : cmd.toLowerCase();
    const t = (out[name] ??= { count: 0, ms: 0 });
    t.count++;
    t.ms += e.us / 1000;
  }
  for (const t of Object.values(out)) t.ms = Math.round(t.ms);
  return out;
}

/** Sum of a Prometheus metric's samples whose labels contain `labels` (text format). */
function metricSum(text, name, labels = '') {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

// ---- the run -----------------------------------------------------------------------------
const t0 = Date.now();
const logFile = join(mkdtempSync(join(tmpdir(), 'pbd-isolation-')), 'dispatcher.log');
let result;
try {
  redis = await startRedis();
  const [healthyPort, ...otherPorts] = await freePorts(1 + OTHERS);
  const healthyRx = await receivers(['healthy', String(healthyPort)]);
  const othersRx = OTHERS === 0 ? undefined : await receivers(KIND === 'slow' ? ['slow', String(SLOW_MS), ...otherPorts.map(String)] : [KIND, ...otherPorts.map(String)]);
  const d = await startDispatcher(redis.url, logFile);
  log(`dispatcher at ${d.base}, log ${logFile}`);

  // Endpoints through the API. t={sent_ms}: the send time travels in the event as a macro
  // value, so the receiver computes send-to-arrival without any shared state.
  const url = (port) => `http://127.0.0.1:${port}/pb?e={event_id}&t={sent_ms}`;
  // healthy-warm: the same origin, for the warm-up, so that the `healthy` endpoint's history
  // holds only the measured postbacks.
  const endpoints = [
    { id: 'healthy', publisher_id: 'pub-healthy', url: url(healthyPort) },
    { id: 'healthy-warm', publisher_id: 'pub-healthy', url: url(healthyPort) },
  ];
  otherPorts.forEach((port, k) =>
    endpoints.push({
      id: `other-${KIND}-${k}`,
      publisher_id: `pub-other-${KIND}-${k}`,
      url: url(port),
      retry_schedule: SCHEDULE,
      ...(KIND === 'dead' ? { timeout_ms: DEAD_TIMEOUT_MS } : {}),
    }),
  );
  for (const ep of endpoints) {
    const { id, ...body } = ep;
    const r = await api(d.base, 'PUT', `/v1/endpoints/${id}`, body);
    if (r.status !== 200) throw new Error(`PUT /v1/endpoints/${id}: ${r.status} ${r.text.slice(0, 300)}`);
    const warnings = r.json().warnings ?? [];
    if (warnings.length) throw new Error(`PUT /v1/endpoints/${id} warns: ${warnings.join('; ')}`);
  }

  // Paced sender: per publisher, a due count from elapsed time, sent every TICK_MS in
  // batches; bounded by count (rate x seconds) and by a time ceiling if the API stalls.
  const tally = { healthy: newTally(), others: newTally(), warm: newTally() };
  const postLatencies = [];
  let postErrors = 0;
  async function post(events, groupOf) {
    const t = performance.now();
    let r;
    try {
      r = await api(d.base, 'POST', '/v1/events', { events });
    } catch (err) {
      postErrors++;
      log(`POST /v1/events failed: ${err.message}`);
      return;
    }
    postLatencies.push(performance.now() - t);
    if (r.status !== 202) {
      postErrors++;
      log(`POST /v1/events: ${r.status} ${r.text.slice(0, 200)}`);
      for (const e of events) tally[groupOf(e)].refused++;
      return;
    }
    r.json().events.forEach((res, i) => {
      const g = tally[groupOf(events[i])];
      g.sent++;
      g.postbacks += res.postbacks.length;
      for (const s of res.skipped ?? []) g.skipped[s.reason] = (g.skipped[s.reason] ?? 0) + 1;
    });
  }
  async function paced(publishers, seconds, groupOf) {
    for (const p of publishers) (p.total = Math.round(p.rate * seconds)), (p.next = 0);
    const start = Date.now();
    const ceiling = start + seconds * 3000 + 10_000;
    while (publishers.some((p) => p.next < p.total) && Date.now() < ceiling) {
      const elapsed = (Date.now() - start) / 1000;
      const sentMs = Date.now();
      const perPublisher = publishers.map((p) => {
        const due = Math.min(p.total, Math.floor(elapsed * p.rate) + 1);
        const out = [];
        for (; p.next < due; p.next++) out.push({ id: `${p.prefix}${p.next}`, type: 'conversion', endpoint_id: p.endpoint, sent_ms: sentMs });
        return out;
      });
      const batches = BATCHING === 'split' ? perPublisher : [perPublisher.flat()];
      for (const events of batches) for (let i = 0; i < events.length; i += MAX_BATCH) await post(events.slice(i, i + MAX_BATCH), groupOf);
      const wait = TICK_MS - ((Date.now() - start) % TICK_MS);
      await sleep(wait);
    }
    return { seconds: (Date.now() - start) / 1000, unsent: publishers.reduce((a, p) => a + p.total - p.next, 0) };
  }
  const healthyPublisher = { endpoint: 'healthy', rate: HEALTHY_RATE };
  const otherPublishers = otherPorts.map((_, k) => ({ endpoint: `other-${KIND}-${k}`, rate: OTHER_RATE, prefix: `o${k}-` }));

  // Warm-up (start-up, JIT, sockets), healthy only, the same in every run; not measured.
  await paced([{ ...healthyPublisher, endpoint: 'healthy-warm', prefix: 'w-' }], WARM_S, () => 'warm');
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(100)) {
    if ((await report(healthyRx, 'w-')).distinct >= tally.warm.postbacks) break;
  }

  // The measured run (API timings from here on only).
  postLatencies.length = 0;
  log(`sending ${HEALTHY_RATE}/s healthy + ${OTHERS} x ${OTHER_RATE}/s ${KIND} for ${SECONDS} s`);
  // The event loop's delay during the send: prom-client resets its histogram on every read.
  await api(d.base, 'GET', '/metrics').catch(() => undefined);
  // Redis's own answer time during the send, from a connection nothing else uses: tells a
  // busy Redis apart from a busy dispatcher when the healthy figures move.
  await redis.redis.config('SET', 'slowlog-log-slower-than', '1000');
  await redis.redis.config('SET', 'slowlog-max-len', '100000');
  await redis.redis.slowlog('RESET');
  const pings = [];
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const t = performance.now();
      await redis.redis.ping();
      pings.push(performance.now() - t);
      await sleep(10);
    }
  })();
  // ISOLATION_TIMELINE=FILE: the dispatcher's work counters every 250 ms during the send
  // (one JSON line each), to line latency spikes up with what the dispatcher was doing.
  const timeline = env.ISOLATION_TIMELINE ? createWriteStream(env.ISOLATION_TIMELINE) : undefined;
  const sampler = timeline && setInterval(async () => {
    const m = await api(d.base, 'GET', '/metrics').catch(() => undefined);
    if (!m) return;
    const t = m.text;
    timeline.write(JSON.stringify({
      at: Date.now(),
      sent: metricSum(t, 'postback_attempts_total'),
      circuit_open: metricSum(t, 'postback_endpoint_attempts_total', 'outcome="circuit_open"'),
      parked: metricSum(t, 'postback_parked_total'),
      lane_moves: metricSum(t, 'postback_lane_moves_total'),
      finals: metricSum(t, 'postback_deliveries_total'),
      skipped: metricSum(t, 'postback_skipped_total'),
    }) + '\n');
  }, 250);
  const cpuStart = {
    dispatcher: processCpuMs(dispatcherChild.pid),
    redis: await redisCpuMicros(redis.redis),
    bench: process.cpuUsage(),
    healthyRx: processCpuMs(healthyRx.pid),
    othersRx: othersRx ? processCpuMs(othersRx.pid) : 0,
    machine: machineCpuMs(),
  };
  const sendStart = Date.now();
  const sending = await paced([{ ...healthyPublisher, prefix: 'h-' }, ...otherPublishers], SECONDS, (e) => (e.endpoint_id === 'healthy' ? 'healthy' : 'others'));
  const sendEnd = Date.now();
  if (sampler) clearInterval(sampler);
  // CPU the run's parts used while sending (ms): what the other publishers' traffic costs, in
  // figures the machine's noise moves less than latency.
  const benchCpu = process.cpuUsage(cpuStart.bench);
  const cpuMs = {
    dispatcher: processCpuMs(dispatcherChild.pid) - cpuStart.dispatcher,
    redis: Math.round(((await redisCpuMicros(redis.redis)) - cpuStart.redis) / 1000),
    bench_sender: Math.round((benchCpu.user + benchCpu.system) / 1000),
    // The publishers' stand-ins share this machine's cores (in production they are elsewhere).
    healthy_receiver: processCpuMs(healthyRx.pid) - cpuStart.healthyRx,
    other_receivers: othersRx ? processCpuMs(othersRx.pid) - cpuStart.othersRx : 0,
    // Every process on the machine, and how much of its cores that is.
    machine_busy: machineCpuMs() - cpuStart.machine,
    machine_busy_pct: Math.round((100 * (machineCpuMs() - cpuStart.machine)) / ((sendEnd - sendStart) * cpus().length)),
  };
  pinging = false;
  await pinger;
  pings.sort((a, b) => a - b);
  const loopText = (await api(d.base, 'GET', '/metrics').catch(() => undefined))?.text ?? '';
  const loopMs = (name) => Math.round(metricSum(loopText, `postback_process_nodejs_eventloop_lag_${name}_seconds`) * 1e4) / 10;
  const eventLoop = { p50_ms: loopMs('p50'), p99_ms: loopMs('p99'), max_ms: loopMs('max') };

  // Grace: the healthy postbacks have GRACE_S after the last send to arrive.
  const graceEnd = sendEnd + GRACE_S * 1000;
  while (Date.now() < graceEnd && (await report(healthyRx, 'h-')).distinct < tally.healthy.postbacks) await sleep(100);
  const graceDone = Date.now(); // graceEnd, or earlier when every healthy postback arrived
  const atGrace = await report(healthyRx, 'h-', { before: graceEnd });
  const othersAtGrace = othersRx && (await report(othersRx, 'o', { before: graceEnd }));

  // Drain (bounded): a dead run waits for every postback to be final (possible once dead
  // attempts stop holding worker slots; the compressed schedule keeps it within the drain);
  // the others only for the healthy ones still missing
  // (a slow backlog of 3 s requests cannot drain in bounded time, and is reported as such).
  const createdTotal = tally.warm.postbacks + tally.healthy.postbacks + tally.others.postbacks;
  const drainEnd = Date.now() + DRAIN_S * 1000;
  let finals = 0;
  let drained = false;
  while (Date.now() < drainEnd) {
    if (KIND === 'dead') {
      const m = await api(d.base, 'GET', '/metrics').catch(() => undefined);
      if (m?.status === 200) finals = metricSum(m.text, 'postback_deliveries_total');
      if (finals >= createdTotal) break;
    } else if ((await report(healthyRx, 'h-')).distinct >= tally.healthy.postbacks) break;
    await sleep(500);
  }
  drained = KIND === 'dead' ? finals >= createdTotal : true;
  const drainSeconds = (Date.now() - graceDone) / 1000;

  // Final figures. History: one pass over GET /v1/postbacks (unfiltered, 1000 a page),
  // tallied by endpoint and status: the same numbers as one query per endpoint_id x status,
  // in one scan of the index instead of (1 + OTHERS) x 4.
  const end = await report(healthyRx, 'h-', { latencies: true });
  const othersEnd = othersRx && (await report(othersRx, 'o'));
  const metricsText = (await api(d.base, 'GET', '/metrics').catch(() => undefined))?.text ?? '';
  // Redis work of the run (before the history read below adds its own): calls per command.
  const redisCommands = topCommands(await redis.redis.info('commandstats'));
  // Commands that held Redis over 1 ms during the run (its slowlog), longest first.
  const slow = (await redis.redis.slowlog('GET', 100000)).map(([, , us, args]) => ({ us, cmd: args.slice(0, 3).map((a) => String(a).slice(0, 60)).join(' ') }));
  slow.sort((a, b) => b.us - a.us);
  const history = await historyByEndpoint(d.base, createdTotal);
  const lat = end.latencies;
  postLatencies.sort((a, b) => a - b);
  const healthyCreated = tally.healthy.postbacks;
  const others = sumStatuses(history.byEndpoint, (id) => !id.startsWith('healthy'));
  result = {
    kind: KIND,
    redis_commands: redisCommands,
    // Work besides attempts: postbacks moved fast -> slow lane, jobs parked at an origin's limit, attempts by outcome.
    dispatcher_work: {
      lane_moves: metricSum(metricsText, 'postback_lane_moves_total'),
      parked: metricSum(metricsText, 'postback_parked_total'),
      parked_fast: metricSum(metricsText, 'postback_parked_total', 'lane="fast"'),
      attempts_sent: metricSum(metricsText, 'postback_attempts_total'),
      circuit_open: metricSum(metricsText, 'postback_endpoint_attempts_total', 'outcome="circuit_open"'),
    },
    others: OTHERS,
    seconds: SECONDS,
    send: { ...sending, batching: BATCHING, tick_ms: TICK_MS, post_errors: postErrors, post_p50_ms: percentile(postLatencies, 50), post_p99_ms: percentile(postLatencies, 99), dispatcher_event_loop_delay: eventLoop, redis_slow_commands: { over_1ms: slow.length, ms_over_1ms: Math.round(slow.reduce((a, c) => a + c.us, 0) / 1000), by_command: slowByCommand(slow), longest: slow.slice(0, 12) }, cpu_ms: cpuMs, redis_ping_ms: { p50: percentile(pings, 50), p99: percentile(pings, 99), max: pings.at(-1) } },
    healthy: {
      rate: HEALTHY_RATE,
      sent: tally.healthy.sent,
      postbacks: healthyCreated,
      skipped: tally.healthy.skipped,
      arrived_by_grace: atGrace.distinct_before,
      arrived_by_grace_pct: pct(atGrace.distinct_before, healthyCreated),
      arrived_by_end: end.distinct,
      arrived_by_end_pct: pct(end.distinct, healthyCreated),
      duplicates: end.duplicates,
      // Over the postbacks that arrived (by the end of the drain); missing ones are counted
      // above, and make these figures floors.
      latency_over: 'postbacks arrived by the end of the drain',
      p50_ms: percentile(lat, 50),
      p90_ms: percentile(lat, 90),
      p99_ms: percentile(lat, 99),
      max_ms: lat.at(-1) ?? null,
      history: history.byEndpoint.healthy ?? {},
    },
    others_figures: OTHERS === 0 ? null : {
      kind: KIND,
      rate_each: OTHER_RATE,
      sent: tally.others.sent,
      postbacks: tally.others.postbacks,
      skipped: tally.others.skipped,
      history: others,
      // delivered = a 200 went out from a slow receiver (once per postback; repeats counted apart)
      ...(KIND === 'slow'
        ? {
            delivered_by_grace: othersAtGrace.distinct_before,
            delivered_per_s: othersAtGrace.distinct_before / ((graceEnd - sendStart) / 1000),
            delivered_by_end: othersEnd.distinct,
            duplicate_deliveries: othersEnd.duplicates,
            requests_received: othersEnd.requests,
            connections_received: othersEnd.connections,
          }
        : {}),
      ...(KIND === 'dead'
        ? {
            final: others.delivered + others.failed,
            final_pct: pct(others.delivered + others.failed, tally.others.postbacks),
            still_queued: others.queued,
            still_retrying: others.retrying,
            // On schedule: the schedule's steps plus the last attempt's timeout after creation.
            on_schedule_ms: SCHEDULE.reduce((a, b) => a + b, 0) * 1000 + DEAD_TIMEOUT_MS,
            created_to_final_ms: timeToFinal(history.othersFinal, sendStart),
            schedule_lateness_ms: await scheduleLateness(d.base, history.othersFinal, sendStart),
            connections_received: othersEnd.connections,
          }
        : {}),
    },
    grace_waited_s: (graceDone - sendEnd) / 1000,
    drain: { waited_s: drainSeconds, limit_s: DRAIN_S, all_final: KIND === 'dead' ? drained : null, finals_metric: metricSum(metricsText, 'postback_deliveries_total'), created_total: createdTotal },
    queue_at_end: {
      waiting: metricSum(metricsText, 'postback_queue_jobs', 'state="waiting"'),
      delayed: metricSum(metricsText, 'postback_queue_jobs', 'state="delayed"'),
      active: metricSum(metricsText, 'postback_queue_jobs', 'state="active"'),
    },
    history_rows_read: history.rows,
    history_complete: history.complete,
    dispatcher_log: logFile,
    run_seconds: (Date.now() - t0) / 1000,
  };
  log(`done in ${result.run_seconds.toFixed(0)} s`);
} finally {
  // A CPU or heap profile (ISOLATION_NODE_ARGS='--heap-prof ...') is written when the process
  // exits on its own: SIGTERM, then wait (bounded).
  if ((env.ISOLATION_CPU_PROF || env.ISOLATION_NODE_ARGS) && dispatcherChild?.exitCode === null) {
    dispatcherChild.kill('SIGTERM');
    await Promise.race([new Promise((r) => dispatcherChild.once('exit', r)), sleep(20_000)]);
  }
  killAll();
  await agent.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);

/** The busiest Redis commands from INFO commandstats: calls and total CPU µs. */
function topCommands(info) {
  const rows = [];
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) rows.push({ command: m[1], calls: Number(m[2]), usec: Number(m[3]) });
  rows.sort((a, b) => b.usec - a.usec);
  return { total_calls: rows.reduce((n, r) => n + r.calls, 0), total_usec: rows.reduce((n, r) => n + r.usec, 0), top: rows.slice(0, 12) };
}

function newTally() {
  return { sent: 0, postbacks: 0, refused: 0, skipped: {} };
}
function pct(n, of) {
  return of === 0 ? null : (100 * n) / of;
}

/** {endpoint_id: {queued, retrying, delivered, failed, attempts}} from GET /v1/postbacks, bounded. */
/**
 * Every postback's status per endpoint, and for the other publishers' final postbacks the
 * time from creation to final (ms), by the second of the send they were created in.
 */
async function historyByEndpoint(base, expected) {
  const byEndpoint = {};
  /** [created ms, created -> final ms, id] of the other publishers' final postbacks. */
  const othersFinal = [];
  let rows = 0;
  let cursor;
  const maxPages = Math.ceil(expected / 1000) + 10;
  const deadline = Date.now() + 120_000;
  for (let page = 0; page < maxPages && Date.now() < deadline; page++) {
    const r = await api(base, 'GET', `/v1/postbacks?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (r.status !== 200) throw new Error(`GET /v1/postbacks: ${r.status} ${r.text.slice(0, 200)}`);
    const { items, next_cursor } = r.json();
    for (const it of items) {
      const s = (byEndpoint[it.endpoint_id] ??= { queued: 0, retrying: 0, delivered: 0, failed: 0, attempts: 0 });
      s[it.status] = (s[it.status] ?? 0) + 1;
      s.attempts += it.attempts ?? 0;
      if (!it.endpoint_id.startsWith('healthy') && it.finished_at) {
        const created = Date.parse(it.created_at);
        othersFinal.push([created, Date.parse(it.finished_at) - created, it.id]);
      }
      rows++;
    }
    if (!next_cursor) return { byEndpoint, othersFinal, rows, complete: true };
    cursor = next_cursor;
  }
  return { byEndpoint, othersFinal, rows, complete: false };
}

/** Created -> final (ms) p50/p99/max, over all and by the second of the send each postback was created in. */
function timeToFinal(rows, sendStart) {
  const figures = (v) => {
    v.sort((a, b) => a - b);
    return { n: v.length, p50: percentile(v, 50), p99: percentile(v, 99), max: v.at(-1) ?? null };
  };
  const bySecond = [];
  for (const [created, ms] of rows) (bySecond[Math.max(0, Math.floor((created - sendStart) / 1000))] ??= []).push(ms);
  return { all: figures(rows.map(([, ms]) => ms)), by_second_of_send: [...bySecond].map((v) => figures(v ?? [])) };
}

/**
 * How late the attempts of a sample of the others' final postbacks came against their
 * schedule (a sample: one GET per postback): attempt 1 is due at creation + step 0, attempt
 * k+1 at the end of attempt k + step k (a timed-out attempt takes its timeout; a
 * circuit_open one no time). Per postback the sum of its attempts' lateness; the sample is
 * spread over the send, and split into the first 4 s (circuits opening) and the rest.
 */
async function scheduleLateness(base, rows, sendStart, want = 400) {
  const sorted = [...rows].sort((a, b) => a[0] - b[0]);
  const step = Math.max(1, Math.ceil(sorted.length / want));
  const early = [];
  const later = [];
  for (let i = 0; i < sorted.length; i += step) {
    const [created, , id] = sorted[i];
    const r = await api(base, 'GET', `/v1/postbacks/${encodeURIComponent(id)}`);
    if (r.status !== 200) continue;
    const attempts = r.json().attempts ?? [];
    let due = created + SCHEDULE[0] * 1000;
    let late = 0;
    attempts.forEach((a, k) => {
      const started = Date.parse(a.started_at);
      late += Math.max(0, started - due);
      due = started + a.duration_ms + (SCHEDULE[k + 1] ?? 0) * 1000;
    });
    (created - sendStart < 4000 ? early : later).push(late);
    // ISOLATION_LATENESS_DETAIL=1: each sampled early postback's attempts (start+duration:status since creation).
    if (env.ISOLATION_LATENESS_DETAIL && created - sendStart < 4000) process.stderr.write(`lateness ${id} ${created - sendStart} ${late} ${attempts.map((a) => `${Date.parse(a.started_at) - created}+${a.duration_ms}:${a.status_code}${a.error ?? ''}`).join(' ')}\n`);
  }
  const figures = (v) => {
    v.sort((a, b) => a - b);
    return { n: v.length, p50: percentile(v, 50), p99: percentile(v, 99), max: v.at(-1) ?? null };
  };
  return { first_4_s: figures(early), after: figures(later) };
}

function sumStatuses(byEndpoint, pick) {
  const out = { queued: 0, retrying: 0, delivered: 0, failed: 0, attempts: 0 };
  for (const [id, s] of Object.entries(byEndpoint)) if (pick(id)) for (const k of Object.keys(out)) out[k] += s[k] ?? 0;
  return out;
}
