import { once } from 'node:events';
import { createServer } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/logging/logger.js';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';
import { serve } from '../../src/process/serve.js';
import { freePort } from '../helpers/global-redis.js';
import { spawnWorker } from '../helpers/load.js';
import { Receiver } from '../helpers/receiver.js';
import { startStack, testPrefix, type Stack } from '../helpers/stack.js';

/** Polls `url` until it answers (the child process is starting), then returns the answer. */
async function waitHttp(url: string, timeoutMs = 15_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Scrapes until `pattern` shows up (counters move right after history is written). */
async function scrapeUntil(url: string, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(url)).text();
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const refused = (url: string): Promise<boolean> => fetch(url).then(() => false, () => true);

describe('worker metrics (METRICS_PORT) in a worker process', () => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // API and producer only: the attempts are made, and counted, by the child process.
    stack = await startStack({}, { worker: false });
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('serves /healthz, /readyz and /metrics with its own attempts, and closes the port on SIGTERM', async () => {
    await stack.runtime.registry.upsert([{ id: 'wm', url: `${receiver.base}/wm?e={event_id}` }]);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawnWorker({
      REDIS_URL: stack.config.redisUrl!,
      QUEUE_PREFIX: stack.config.queuePrefix,
      METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      REQUEST_TIMEOUT_MS: '2000',
      WORKER_LOCK_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '2000',
    });
    try {
      const health = await waitHttp(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ok: true, redis: 'up' });

      const res = await stack.post('/v1/events', { id: 'wm-1', type: 'conversion', endpoint_id: 'wm' });
      expect(res.status).toBe(202);
      const record = await stack.waitFinal(res.json.events[0].postbacks[0] as string, 20_000);
      expect(record.status).toBe('delivered');
      expect(receiver.requests.map((r) => r.url)).toEqual(['/wm?e=wm-1']);

      const counted = /^postback_attempts_total\{outcome="success",status_class="2xx"\} 1$/m;
      const text = await scrapeUntil(`${base}/metrics`, counted);
      expect(text).toMatch(counted);
      expect(text).toMatch(/^postback_deliveries_total\{outcome="delivered"\} 1$/m);
      expect(text).toMatch(/^postback_endpoint_attempts_total\{endpoint_id="wm",outcome="delivered"\} 1$/m);
      expect(text).toMatch(/^postback_attempt_duration_seconds_count 1$/m);
      // The scrape-time gauges the API has, read from Redis by the worker.
      expect(text).toMatch(/^postback_queue_jobs\{state="waiting"\} \d+$/m);
      expect(text).toMatch(/^postback_endpoint_state\{endpoint_id="wm",state="healthy"\} 1$/m);
      expect(text).toMatch(/^postback_process_process_resident_memory_bytes \d+/m);
      // Each gauge once (a registry rejects a second registration; a text format would repeat it).
      expect(text.match(/^# TYPE postback_queue_jobs gauge$/gm)).toHaveLength(1);
      // The API's process made no attempt: the worker's counters are only on the worker's port.
      expect((await stack.get('/metrics')).text).not.toMatch(/^postback_attempts_total\{/m);

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect((await fetch(`${base}/v1/events`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);

      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(await refused(`${base}/healthz`)).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('serve() and METRICS_PORT', () => {
  const logger = createLogger('silent');
  const configFor = (env: Record<string, string>) =>
    loadConfig({ REDIS_URL: inject('redisUrl'), QUEUE_PREFIX: testPrefix(), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env });

  it('starts a metrics server for a worker-only process and closes it on stop', async () => {
    const served = await serve(configFor({ METRICS_PORT: '0' }), logger, { api: false, worker: true });
    try {
      expect(served.api).toBeUndefined();
      expect(served.metricsAddress).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${served.metricsAddress}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${served.metricsAddress}/metrics`)).text()).toMatch(/^postback_queue_jobs\{state="active"\} 0$/m);
    } finally {
      await served.stop();
    }
    expect(await refused(`${served.metricsAddress}/healthz`)).toBe(true);
  });

  it('starts no second server when the API is in the process: its /metrics covers the worker, gauges registered once', async () => {
    const port = await freePort();
    const served = await serve(configFor({ METRICS_PORT: String(port) }), logger, { api: true, worker: true });
    try {
      expect(served.metricsAddress).toBeUndefined();
      expect(await refused(`http://127.0.0.1:${port}/metrics`)).toBe(true);
      const text = await (await fetch(`${served.address}/metrics`)).text();
      expect(text.match(/^# TYPE postback_queue_jobs gauge$/gm)).toHaveLength(1);
      expect(text.match(/^# TYPE postback_endpoint_state gauge$/gm)).toHaveLength(1);
      expect(text).toMatch(/^# TYPE postback_attempts_total counter$/m);
    } finally {
      await served.stop();
    }
  });

  it('fails the start, taking no job, when METRICS_PORT is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(serve(configFor({ METRICS_PORT: String(port) }), logger, { api: false, worker: true })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe('startMetricsServer', () => {
  it('answers /healthz 200 but /readyz 503 while Redis is down, and /metrics 503 when a gauge cannot be read', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'postback_test_unreadable',
      help: 'A gauge whose source is away.',
      registers: [registry],
      collect() {
        throw new Error('redis down');
      },
    });
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry, ready: () => Promise.resolve(false) });
    try {
      const health = await fetch(`${server.address}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const ready = await fetch(`${server.address}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ ok: false, redis: 'down' });
      expect((await fetch(`${server.address}/metrics`)).status).toBe(503);
      const head = await fetch(`${server.address}/healthz`, { method: 'HEAD' });
      expect(head.status).toBe(200);
    } finally {
      await server.close();
    }
    expect(await refused(`${server.address}/healthz`)).toBe(true);
  });
});
