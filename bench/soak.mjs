// npm run soak: the long runs behind docs/reliability.md, loopback only, bounded in time.
//  1. isolation: a healthy endpoint's delivery latency p99 alone, then with a dead endpoint
//     (never answers) taking the same load: the ratio must stay <= 2.
//  2. chaos: sustained load through 2 worker processes while workers are SIGKILLed and
//     restarted every few seconds and Redis is restarted once (AOF on): every postback
//     must reach a final state; duplicates are counted.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../dist/src/config/schema.js';
import { createLogger } from '../dist/src/logging/logger.js';
import { Runtime } from '../dist/src/runtime/runtime.js';
import { iteratePostbacks } from '../dist/src/history/history-store.js';
import { freePort, pendingJobs, percentile, sleep, startChild } from './lib.mjs';

const RATE = Number(process.env.SOAK_RATE ?? 500);
const PHASES = (process.env.SOAK_PHASES ?? 'isolation,chaos').split(',');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);

async function aofRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pbd-soak-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'];
  const r = { url: `redis://127.0.0.1:${port}`, child: spawn('redis-server', args, { stdio: 'ignore' }) };
  r.restart = async () => {
    spawnSync('redis-cli', ['-p', String(port), 'shutdown'], { timeout: 10_000 });
    if (r.child.exitCode === null) await new Promise((res) => r.child.once('exit', res));
    r.child = spawn('redis-server', args, { stdio: 'ignore' });
    await sleep(300);
  };
  await sleep(300);
  return r;
}

function worker(env) {
  return spawn(process.execPath, ['dist/workers/postback-worker.js'], { env: { ...process.env, ...env }, stdio: 'ignore' });
}

async function paced(runtime, endpointFor, prefix, rate, seconds) {
  const n = rate * seconds;
  const t0 = Date.now();
  let sent = 0;
  let refused = 0;
  while (sent < n) {
    const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
    if (due > sent) {
      const batch = Array.from({ length: due - sent }, (_, j) => ({ id: `${prefix}-${sent + j}`, type: 'conversion', endpoint_id: endpointFor(sent + j) }));
      try {
        await runtime.producer.produce(batch, { batch: true });
        sent = due;
      } catch {
        refused++; // 503 while Redis restarts: a real producer retries, and so do we
        await sleep(50);
      }
    } else await sleep(2);
  }
  return { sent: n, refused_batches: refused };
}

async function waitAllFinal(runtime, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await pendingJobs(runtime).catch(() => null);
    if (n === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

async function healthyLatencies(runtime, endpointId) {
  const lat = [];
  for await (const r of iteratePostbacks(runtime.historyStore, { endpointId })) if (r.status === 'delivered') lat.push(r.finished_ms - r.created_ms);
  return lat.sort((a, b) => a - b);
}

const { child: receiver, port } = await startChild(['bench/receiver.mjs', '0']);
process.stderr.write(`soak: ${RATE}/s for ${SECONDS} s per phase\n`);
const { child: dead, port: deadPort } = await startChild(['bench/dead-receiver.mjs']);
const results = { date: new Date().toISOString(), rate: RATE, seconds: SECONDS };
const baseEnv = { ALLOW_PRIVATE_TARGETS: 'true', LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '100', REQUEST_TIMEOUT_MS: '2000', WORKER_LOCK_MS: '5000', WORKER_STALLED_INTERVAL_MS: '1000', RETRY_SCHEDULE: '0,1' };

try {
  // 1. Isolation.
  if (PHASES.includes('isolation')) {
    const redis = await aofRedis();
    const env = { ...baseEnv, REDIS_URL: redis.url, QUEUE_PREFIX: 'iso' };
    const config = loadConfig({ ...process.env, ...env });
    const runtime = await Runtime.create(config, createLogger('silent'));
    await runtime.registry.upsert([
      { id: 'healthy', url: `http://127.0.0.1:${port}/pb?e={event_id}` },
      { id: 'healthy2', url: `http://127.0.0.1:${port}/pb?e={event_id}` },
      { id: 'dead', url: `http://localhost:${deadPort}/pb?e={event_id}`, timeout_ms: 2000 },
      { id: 'warm', url: `http://127.0.0.1:${port}/pb?e={event_id}` },
    ]);
    const w = worker(env);
    // Warm the worker (start-up, JIT, sockets) before measuring.
    await paced(runtime, () => 'warm', 'warm', RATE, 2);
    await waitAllFinal(runtime, 60_000);
    await paced(runtime, () => 'healthy', 'alone', RATE, SECONDS / 2);
    await waitAllFinal(runtime, 60_000);
    const alone = await healthyLatencies(runtime, 'healthy');
    await paced(runtime, (i) => (i % 2 ? 'dead' : 'healthy2'), 'mixed', RATE * 2, SECONDS / 2);
    await sleep(1000);
    const mixed = await healthyLatencies(runtime, 'healthy2');
    results.isolation = {
      healthy_alone: { samples: alone.length, p50_ms: percentile(alone, 50), p99_ms: percentile(alone, 99) },
      healthy_with_dead_endpoint: { samples: mixed.length, p50_ms: percentile(mixed, 50), p99_ms: percentile(mixed, 99) },
      p99_ratio: percentile(mixed, 99) / Math.max(1, percentile(alone, 99)),
    };
    process.stderr.write(`soak: isolation ${JSON.stringify(results.isolation)}\n`);
    w.kill('SIGKILL');
    await runtime.close();
    redis.child.kill('SIGKILL');
  }

  // 2. Chaos.
  if (PHASES.includes('chaos')) {
    const redis = await aofRedis();
    const env = { ...baseEnv, REDIS_URL: redis.url, QUEUE_PREFIX: 'chaos', PER_ORIGIN_CONCURRENCY: '100' };
    const config = loadConfig({ ...process.env, ...env });
    const runtime = await Runtime.create(config, createLogger('silent'));
    await runtime.registry.upsert([{ id: 'load', url: `http://127.0.0.1:${port}/pb?e={event_id}` }]);
    const workers = [worker(env), worker(env)];
    let kills = 0;
    let redisRestarts = 0;
    const chaos = (async () => {
      for (let s = 3; s < SECONDS; s += 3) {
        await sleep(3000);
        const i = kills % workers.length;
        workers[i].kill('SIGKILL');
        workers[i] = worker(env);
        kills++;
        // A worker that found Redis down at start exits; a supervisor would restart it.
        for (let j = 0; j < workers.length; j++) if (workers[j].exitCode !== null) workers[j] = worker(env);
        if (s >= SECONDS / 2 && redisRestarts === 0) {
          await redis.restart();
          redisRestarts++;
        }
      }
    })();
    const load = await paced(runtime, () => 'load', 'chaos', RATE, SECONDS);
    await chaos;
    const keeper = setInterval(() => {
      for (let j = 0; j < workers.length; j++) if (workers[j].exitCode !== null) workers[j] = worker(env);
    }, 1000);
    const done = await waitAllFinal(runtime, 120_000);
    clearInterval(keeper);
    const statuses = { delivered: 0, failed: 0, other: 0 };
    let total = 0;
    for await (const r of iteratePostbacks(runtime.historyStore, {})) {
      total++;
      if (r.status === 'delivered') statuses.delivered++;
      else if (r.status === 'failed') statuses.failed++;
      else statuses.other++;
    }
    for (const w of workers) w.kill('SIGTERM');
    receiver.send({ prefix: 'chaos-' });
    const seen = await new Promise((res) => receiver.once('message', (m) => res(m)));
    results.chaos = {
      ...load, drained: done, postbacks: total, ...statuses, worker_kills: kills, redis_restarts: redisRestarts,
      received_distinct: seen.distinct, duplicate_deliveries: seen.total - seen.distinct,
    };
    process.stderr.write(`soak: chaos ${JSON.stringify(results.chaos)}\n`);
    await runtime.close();
    redis.child.kill('SIGKILL');
  }
} finally {
  receiver.kill('SIGTERM');
  dead.kill('SIGTERM');
}
writeFileSync('bench/soak-faults-results.json', `${JSON.stringify(results, null, 2)}\n`);
console.log(JSON.stringify(results, null, 2));
process.exit(0);
