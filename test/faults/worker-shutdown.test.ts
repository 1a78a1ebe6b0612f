import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/global-redis.js';
import { spawnWorker } from '../helpers/load.js';
import { waitUntil } from '../helpers/wait-until.js';
import { RedisProcess } from '../helpers/redis-process.js';

/** A worker told to stop must stop, also when its Redis is gone (a supervisor waits on it). */
describe('worker shutdown without Redis', () => {
  const redis = new RedisProcess();
  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it('exits 0 within SHUTDOWN_TIMEOUT_MS (+ slack) after SIGTERM while Redis is down', { timeout: 30_000 }, async () => {
    const metricsPort = await freePort();
    const worker = spawnWorker({ REDIS_URL: redis.url, QUEUE_PREFIX: 'shutdown', SHUTDOWN_TIMEOUT_MS: '1000', LOG_LEVEL: 'silent', METRICS_PORT: String(metricsPort) });
    try {
      // Up and taking jobs (its metrics server answers once its start is done and SIGTERM is
      // handled; a signal before that ends it the default way), then take Redis away.
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`).catch(() => undefined))?.status === 200, 15_000);
      // Redis shut down (AOF kept) and back only after 8 s: the worker is stopped meanwhile.
      const back = redis.restart(8000);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      worker.kill('SIGTERM');
      const [code] = (await Promise.race([once(worker, 'exit'), new Promise((r) => setTimeout(() => r(['still running']), 10_000))])) as [unknown];
      expect(code).toBe(0);
      // 1 s shutdown timeout, 1 s forced close, and the rest of the process's teardown.
      expect(Date.now() - started).toBeLessThan(6000);
      await back;
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
  });
});
