import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitReady } from '../../src/redis/connection.js';
import { Receiver } from '../helpers/receiver.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * SPEC: any route that needs Redis answers 503 with a JSON error while Redis is
 * unreachable, never 500; and works again once Redis is back. Checked against a Redis
 * that is stopped (connection refused: ioredis fails the command at once) and one that is
 * paused with SIGSTOP (the connection stays up: the producer's command timeout fires).
 */

interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `:postback` stands for the postback created in beforeAll. */
  readonly path: string;
  readonly body?: unknown;
  /** The status once Redis is back. */
  readonly ok: number;
}

const ROUTES: readonly RouteCase[] = [
  { method: 'GET', path: '/v1/postbacks', ok: 200 },
  { method: 'GET', path: '/v1/postbacks/:postback', ok: 200 },
  { method: 'GET', path: '/v1/postbacks.csv', ok: 200 },
  { method: 'POST', path: '/v1/postbacks/:postback/replay', ok: 202 },
  { method: 'POST', path: '/v1/postbacks/replay', body: { endpoint_id: 'ep' }, ok: 202 },
  { method: 'POST', path: '/v1/endpoints/ep/test', body: {}, ok: 200 },
  { method: 'GET', path: '/v1/endpoints', ok: 200 },
  { method: 'GET', path: '/v1/endpoints/ep', ok: 200 },
  { method: 'PUT', path: '/v1/endpoints/spare', body: { url: 'http://127.0.0.1:9/spare' }, ok: 200 },
  { method: 'DELETE', path: '/v1/endpoints/doomed', ok: 204 },
  { method: 'POST', path: '/v1/events', body: { id: 'while-down', type: 'conversion', endpoint_id: 'ep' }, ok: 202 },
];

const label = (r: RouteCase): string => `${r.method} ${r.path}`;

describe('Redis down: every route that needs it answers 503 with a JSON error, never 500', () => {
  let redis: RedisProcess;
  let receiver: Receiver;
  let stack: Stack;
  let postbackId: string;

  /** One route's answer; a response cut short (status sent, body not) shows as status 0. */
  async function call(r: RouteCase): Promise<{ route: string; status: number; contentType: string; body: unknown }> {
    let status = 0;
    let contentType = '';
    try {
      const res = await fetch(`${stack.base}${r.path.replace(':postback', postbackId)}`, {
        method: r.method,
        headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
        body: r.body === undefined ? undefined : JSON.stringify(r.body),
      });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      const text = await res.text();
      return { route: label(r), status, contentType, body: contentType.startsWith('application/json') ? JSON.parse(text) : text };
    } catch (err) {
      return { route: label(r), status: 0, contentType, body: `after ${status}: ${String(err)}` };
    }
  }

  /** Every route at once (a paused Redis makes each wait for the command timeout). */
  const callAll = (): Promise<Awaited<ReturnType<typeof call>>[]> => Promise.all(ROUTES.map(call));

  function expectAllUnavailable(results: Awaited<ReturnType<typeof call>>[]): void {
    expect(results).toEqual(
      ROUTES.map((r) => ({
        route: label(r),
        status: 503,
        contentType: expect.stringContaining('application/json'),
        body: { error: expect.stringMatching(/^Redis unavailable: /), details: [] },
      })),
    );
    expect(stack.logs.lines.filter((l) => l.includes('unhandled API error'))).toEqual([]);
  }

  /** Back to the state every scenario starts from: `doomed` exists (the DELETE's target). */
  async function resetEndpoints(): Promise<void> {
    await waitReady(stack.runtime.redis, 10_000);
    await stack.runtime.registry.upsert([{ id: 'doomed', url: `${receiver.base}/doomed` }]);
  }

  beforeAll(async () => {
    redis = new RedisProcess();
    await redis.start();
    receiver = new Receiver();
    await receiver.start();
    // No worker: the postback stays queued, and only the API's connection sees the outage.
    stack = await startStack({ REDIS_URL: redis.url, RETRY_SCHEDULE: '0' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${receiver.base}/ep?e={event_id}` }]);
    const res = await stack.post('/v1/events', { id: 'before', type: 'conversion', endpoint_id: 'ep' });
    expect(res.status).toBe(202);
    postbackId = res.json.events[0].postbacks[0];
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.stop();
    await redis?.stop();
  });

  it('Redis stopped (connection refused): 503 on every route; all work again once it is back', async () => {
    await resetEndpoints();
    const redisConn = stack.runtime.redis;
    const closed = new Promise((resolve) => redisConn.once('close', resolve));
    const shutdown = spawnSync('redis-cli', ['-p', String(redis.port), 'shutdown'], { timeout: 5000 });
    expect(shutdown.status).toBe(0);
    let during: Awaited<ReturnType<typeof call>>[];
    let metricsDuring: Response;
    try {
      await closed;
      during = await callAll();
      metricsDuring = await fetch(`${stack.base}/metrics`);
    } finally {
      await redis.start(); // same port, same data directory (AOF)
    }
    expectAllUnavailable(during);
    expect(stack.logs.lines.some((l) => l.includes('Redis unavailable: answered 503'))).toBe(true);
    // /metrics still serves the process's counters (the Redis-read gauges keep their last values).
    expect(metricsDuring.status).toBe(200);
    expect(await metricsDuring.text()).toMatch(/^postback_enqueued_total\{replay="false"\} \d+$/m);

    await waitReady(redisConn, 10_000);
    const after = await callAll();
    // Nothing the 503s refused was half-done: `doomed` is still there to delete.
    expect(after.map((r) => [r.route, r.status])).toEqual(ROUTES.map((r) => [label(r), r.ok]));
    const csv = after.find((r) => r.route === 'GET /v1/postbacks.csv')!.body as string;
    expect(csv).toContain(postbackId);
  });

  it('Redis paused (SIGSTOP, command timeout): 503 on every route; all work again once it resumes', async () => {
    await resetEndpoints();
    redis.pause();
    let during: Awaited<ReturnType<typeof call>>[];
    try {
      during = await callAll();
    } finally {
      redis.resume();
    }
    expectAllUnavailable(during);
    for (const r of during) expect((r.body as { error: string }).error).toBe('Redis unavailable: Command timed out');

    await waitReady(stack.runtime.redis, 10_000);
    const after = await callAll();
    expect(after.map((r) => [r.route, r.status])).toEqual(
      // A timed-out write is not known to have failed: the DELETE sent while Redis was
      // paused ran once it resumed, so deleting again finds nothing. (Retrying is safe.)
      ROUTES.map((r) => [label(r), r.method === 'DELETE' ? 404 : r.ok]),
    );
  });
});
