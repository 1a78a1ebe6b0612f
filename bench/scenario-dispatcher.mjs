// (c) This dispatcher end to end through the library producer, with history, metrics and
// logs on as in production (info-level JSON logs to a file). One process: producer + worker.
import { createWriteStream } from 'node:fs';
import { loadConfig } from '../dist/src/config/schema.js';
import { createLogger } from '../dist/src/logging/logger.js';
import { Runtime } from '../dist/src/runtime/runtime.js';
import { createRedis } from '../dist/src/redis/connection.js';
import { startWorker } from '../dist/src/worker/worker-service.js';
import { iteratePostbacks } from '../dist/src/history/history-store.js';
import { commandCalls, percentile, readsProcessed, redisCpuMicros, sleep, usedMemory } from './lib.mjs';

const { MODE, TARGET, N, LOG_FILE, ORDERING_KEY } = process.env;
const n = Number(N ?? 0);
const config = loadConfig(process.env);
const logger = createLogger(config.logLevel, createWriteStream(LOG_FILE ?? '/dev/null'));
const runtime = await Runtime.create(config, logger);
// INFO, SCAN and FLUSHDB below read one node: the benchmark measures a single Redis.
if (runtime.redisTopology.kind !== 'single') throw new Error('bench/scenario-dispatcher.mjs measures a single Redis node: unset REDIS_SENTINELS and REDIS_CLUSTER_NODES');
const probe = createRedis(runtime.redisTopology, 'worker', 'bench-probe');
// ORDERING_KEY (e.g. {click_id}): the benchmark endpoint orders its postbacks by it (docs/ordering.md).
const benchEndpoint = { id: 'bench', url: `${TARGET}/pb?click_id={click_id}&payout={payout}&e={event_id}`, ...(ORDERING_KEY ? { ordering_key: ORDERING_KEY } : {}) };
await runtime.registry.upsert([
  benchEndpoint,
  { id: 'bench-fail', url: `${TARGET}/fail?e={event_id}` },
  { id: 'bench-failtenth', url: `${TARGET}/failtenth?e={event_id}` },
  { id: 'bench-hold', url: `${TARGET}/hold?e={event_id}`, delay_s: 300 },
]);
const event = (i, endpoint) => ({ id: `ev-${i}`, type: 'conversion', endpoint_id: endpoint, click_id: `c${i}`, payout: 0.5, offer_id: '42' });

async function delivered() {
  const v = await runtime.metrics.finals.get();
  return v.values.reduce((a, x) => a + x.value, 0);
}
/** Every outcome recorded and, with PostgreSQL history, written there (the outbox empty). */
async function waitDelivered(total) {
  while ((await delivered()) < total) await sleep(10);
  if (config.historyUrl !== undefined) while ((await runtime.redis.xlen(runtime.keys.outbox)) > 0) await sleep(10);
}
async function produceAll(endpoint, count, offset = 0) {
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, j) => event(offset + i + j, endpoint));
    await runtime.producer.produce(batch, { batch: true });
  }
}

let result;
if (MODE === 'bytes') {
  // Pending postbacks (held by delay_s): job + history record + index entry, per postback.
  const before = await usedMemory(probe);
  await produceAll('bench-hold', n);
  const after = await usedMemory(probe);
  result = { pending: n, bytes_per_pending: (after - before) / n };
} else {
  const worker = startWorker(runtime);
  if (MODE === 'throughput') {
    // Warm up connections and JIT, then measure.
    await produceAll('bench', 2000, 10_000_000);
    await waitDelivered(2000);
    const rssBefore = process.memoryUsage().rss;
    const callsBefore = await commandCalls(probe);
    const readsBefore = await readsProcessed(probe);
    // CPU per postback (this process, producer and worker; and Redis): what a run costs,
    // far steadier than deliveries/s on a machine others share.
    const redisCpuBefore = await redisCpuMicros(probe);
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    await produceAll('bench', n);
    await waitDelivered(2000 + n);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const redisCpu = (await redisCpuMicros(probe)) - redisCpuBefore;
    const callsAfter = await commandCalls(probe);
    const readsAfter = await readsProcessed(probe);
    result = {
      deliveries: n, seconds, per_second: n / seconds,
      cpu_us_per_delivered: (cpu.user + cpu.system) / n,
      redis_cpu_us_per_delivered: redisCpu / n,
      commands_per_delivered: (callsAfter - callsBefore) / n,
      round_trips_per_delivered: (readsAfter - readsBefore) / n,
      rss_before: rssBefore, rss_after: process.memoryUsage().rss,
    };
  } else if (MODE === 'latency') {
    // A fixed offered rate: RATE per second for N events, in 10 ms ticks.
    const rate = Number(process.env.RATE ?? 2000);
    // Warm up (JIT, sockets) like a running service, then clear history so only measured postbacks count.
    await produceAll('bench', 2000, 10_000_000);
    await waitDelivered(2000);
    const base = await delivered();
    const t0 = Date.now();
    let sent = 0;
    while (sent < n) {
      const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
      if (due > sent) {
        const batch = Array.from({ length: due - sent }, (_, j) => event(sent + j, 'bench'));
        await runtime.producer.produce(batch, { batch: true });
        sent = due;
      } else await sleep(2);
    }
    const offeredSeconds = (Date.now() - t0) / 1000;
    await waitDelivered(base + n);
    const lat = [];
    for await (const r of iteratePostbacks(runtime.historyStore, { fromMs: t0 })) lat.push(r.finished_ms - r.created_ms);
    lat.sort((a, b) => a - b);
    result = { offered_rate: rate, achieved_rate: n / offeredSeconds, samples: lat.length, p50_ms: percentile(lat, 50), p90_ms: percentile(lat, 90), p99_ms: percentile(lat, 99), max_ms: lat.at(-1) };
  } else if (MODE === 'lateness' || MODE === 'lateness-open') {
    // Postbacks fail once, then are due again after the (scaled) schedule step. `lateness`:
    // one in ten fails, so the endpoint stays healthy and this measures the retry timer.
    // `lateness-open`: every one fails, so the endpoint's circuit opens and its retries go
    // through the slow lane, paced behind healthy work on purpose.
    const stepMs = config.retryScheduleS[1] * 1000;
    await produceAll(MODE === 'lateness' ? 'bench-failtenth' : 'bench-fail', n);
    await waitDelivered(n);
    const late = [];
    for await (const r of iteratePostbacks(runtime.historyStore, {})) {
      const full = await runtime.historyStore.getRecord(r.id);
      const [a1, a2] = full.attempts;
      if (!a1 || !a2) continue;
      late.push(Date.parse(a2.started_at) - (Date.parse(a1.started_at) + a1.duration_ms + stepMs));
    }
    late.sort((a, b) => a - b);
    result = { samples: late.length, step_ms: stepMs, p50_ms: percentile(late, 50), p99_ms: percentile(late, 99) };
  } else if (MODE === 'bytes-delivered') {
    // What stays in Redis per delivered postback once it is final (and, with PostgreSQL
    // history, written there and past its few seconds of grace): dedupe key, and with Redis
    // history the record and its index entry.
    await produceAll('bench', 2000, 10_000_000);
    await waitDelivered(2000);
    await sleep(6000);
    const before = await usedMemory(probe);
    await produceAll('bench', n);
    await waitDelivered(2000 + n);
    await sleep(6000);
    const after = await usedMemory(probe);
    // Keys past their TTL are reclaimed by Redis's active expiry over time; a SCAN reclaims
    // the rest now (it expires what it touches): the figure is then what is really kept.
    let cursor = '0';
    do [cursor] = await probe.scan(cursor, 'COUNT', 1000);
    while (cursor !== '0');
    const kept = await usedMemory(probe);
    result = { delivered: n, bytes_per_delivered: (kept - before) / n, bytes_per_delivered_before_scan: (after - before) / n, history: config.historyUrl === undefined ? 'redis' : 'postgres' };
  } else if (MODE === 'soak') {
    const rssStart = process.memoryUsage().rss;
    const chunk = 50_000;
    const rss = [];
    for (let i = 0; i < n; i += chunk) {
      await produceAll('bench', Math.min(chunk, n - i), i);
      await waitDelivered(Math.min(n, i + chunk));
      if (i === chunk) rss.push(['warm', process.memoryUsage().rss]);
      process.stderr.write(`soak: ${Math.min(n, i + chunk)}/${n}\n`);
      await runtime.redis.flushdb(); // keep Redis flat: the soak is about the worker's memory
      await runtime.registry.upsert([benchEndpoint]);
    }
    const warm = rss[0]?.[1] ?? rssStart;
    const end = process.memoryUsage().rss;
    result = { deliveries: n, rss_start: rssStart, rss_warm: warm, rss_end: end, growth_after_warmup: (end - warm) / warm };
  }
  await worker.close();
}
probe.disconnect();
await runtime.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
