// Shared benchmark plumbing: processes, Redis INFO, percentiles. Loopback only.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, waitReady } from '../dist/src/redis/connection.js';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A child that prints "READY <port>" when it listens. */
export function startChild(args, env = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c.toString();
      const m = /READY (\d+)/.exec(buf);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pbd-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  // A worker-role connection retries until the server listens.
  const redis = createRedis({ kind: 'single', url }, 'worker', 'bench');
  await waitReady(redis, 10_000);
  return { url, redis, child, stop: () => { redis.disconnect(); child.kill('SIGKILL'); } };
}

/** Runs a scenario script in its own process and returns the JSON it prints last. */
export function runScenario(script, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=4096', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (code !== 0 || !line) reject(new Error(`${script} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line));
    });
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function commandCalls(redis) {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

/** Redis's own CPU time so far (user + sys), in microseconds. */
export async function redisCpuMicros(redis) {
  const info = await redis.info('cpu');
  const num = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)[1]);
  return Math.round((num('used_cpu_user') + num('used_cpu_sys')) * 1e6);
}

/** Socket reads Redis has processed: each is one batch of commands a client sent at once, so a round trip. */
export async function readsProcessed(redis) {
  const info = await redis.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)[1]);
}

export async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Jobs still pending (waiting, active, delayed, prioritized) in both lanes of a Runtime. */
export async function pendingJobs(runtime) {
  let n = 0;
  for (const q of Object.values(runtime.queues)) {
    const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    n += c.wait + c.active + c.delayed + c.prioritized;
  }
  return n;
}
