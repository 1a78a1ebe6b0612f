import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { serve, type Served } from '../../src/process/serve.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { LogCapture, testConfig } from '../helpers/stack.js';
import { waitForValue, waitUntil } from '../helpers/wait-until.js';

/** `postback start` as shipped: the fast lane on the main thread, the slow lane in a thread of its own (SLOW_LANE_THREAD). */
describe("the slow lane's thread", () => {
  const started: Served[] = [];
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
  });

  async function start(env: Record<string, string>): Promise<Served> {
    const config = testConfig({ LOG_LEVEL: 'warn', RETRY_SCHEDULE: '0,0.2,0.2', REQUEST_TIMEOUT_MS: '3000', ...env });
    const served = await serve(config, createLogger('warn', new LogCapture()), { api: true, worker: true });
    started.push(served);
    return served;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of any API answer; tests read its fields directly
  async function call(served: Served, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${served.address}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  }

  /** An endpoint at a publisher that answers 200 after `ms`, made degraded (slow lane) by its first postbacks. */
  async function degradedEndpoint(served: Served, id: string, ms: number): Promise<Receiver> {
    const r = new Receiver();
    r.responder = (_req, _i, res) => void setTimeout(() => respond(200)(res), ms);
    await r.start();
    receivers.push(r);
    expect((await call(served, 'PUT', `/v1/endpoints/${id}`, { url: `${r.base}/pb?e={event_id}` })).status).toBeLessThan(300);
    await sendEvents(served, id, `${id}-warm`, 3);
    await waitForValue(`${id} degraded`, async () => ((await call(served, 'GET', `/v1/endpoints/${id}`)).json.health.state === 'degraded' ? true : undefined), 15_000);
    return r;
  }

  async function sendEvents(served: Served, endpointId: string, prefix: string, n: number): Promise<string[]> {
    const events = Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'conversion', endpoint_id: endpointId }));
    const res = await call(served, 'POST', '/v1/events', { events });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    return (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
  }

  /** postback_endpoint_attempts_total{endpoint_id, outcome="delivered"} as /metrics shows it. */
  async function deliveredCount(served: Served, endpointId: string): Promise<number> {
    const text = await (await fetch(`${served.address}/metrics`)).text();
    const m = new RegExp(`postback_endpoint_attempts_total\\{endpoint_id="${endpointId}",outcome="delivered"\\} (\\d+)`).exec(text);
    return m === null ? 0 : Number(m[1]);
  }

  async function waitDelivered(served: Served, ids: readonly string[], timeoutMs: number): Promise<void> {
    await waitUntil(
      async () => {
        for (const id of ids) if ((await call(served, 'GET', `/v1/postbacks/${id}`)).json.status !== 'delivered') return false;
        return true;
      },
      timeoutMs,
      `${ids.length} postbacks delivered`,
    );
  }

  it("delivers a degraded endpoint's postbacks from its own thread, and /metrics counts them with the main thread's", async () => {
    const served = await start({ SLOW_ENDPOINT_MS: '100' });
    expect(served.slowLane).toBeDefined();
    expect(served.worker?.workers.fast).toBeDefined();
    expect(served.worker?.workers.slow).toBeUndefined(); // the main thread runs the fast lane only
    const slow = await degradedEndpoint(served, 'lagging', 300);
    const ids = await sendEvents(served, 'lagging', 'lag', 12);
    await waitDelivered(served, ids, 20_000);
    expect(served.slowLane!.threadId).toBeTypeOf('number');
    expect(new Set(slow.requests.map((r) => r.url)).size).toBe(15);

    // Only the slow lane's thread sent the 12: the main thread's own counters lack them, /metrics has them all.
    const own = (await served.runtime.metrics.registry.getSingleMetric('postback_endpoint_attempts_total')!.get()).values;
    const ownDelivered = own.filter((v) => v.labels.endpoint_id === 'lagging' && v.labels.outcome === 'delivered').reduce((a, v) => a + v.value, 0);
    expect(ownDelivered).toBeLessThan(15);
    const text = await (await fetch(`${served.address}/metrics`)).text();
    expect(text).toMatch(/postback_endpoint_attempts_total\{endpoint_id="lagging",outcome="delivered"\} 15\b/);
  });

  it('starts while the fast lane has nothing to do: at once in an idle process; in one started into healthy work, once that is done', async () => {
    const idle = await start({});
    await waitUntil(() => idle.slowLane!.threadId !== undefined, 10_000, 'thread started in an idle process');
    expect(await idle.runtime.queues.slow.getJobCountByTypes('active', 'waiting', 'delayed')).toBe(0);

    // A postback enqueued before the worker starts, which its publisher holds unanswered.
    const held: ServerResponse[] = [];
    const publisher = new Receiver();
    publisher.responder = (_req, _i, res) => void held.push(res);
    await publisher.start();
    receivers.push(publisher);
    const config = testConfig({ LOG_LEVEL: 'warn', REQUEST_TIMEOUT_MS: '5000', WORKER_LOCK_MS: '8000' });
    const producer = await Runtime.create(config, createLogger('warn', new LogCapture()));
    try {
      await producer.registry.upsert([{ id: 'busy', url: `${publisher.base}/pb?e={event_id}` }]);
      await producer.producer.produce([{ id: 'busy-0', type: 'conversion', endpoint_id: 'busy' }], {});
    } finally {
      await producer.close();
    }
    const busy = await serve(config, createLogger('warn', new LogCapture()), { api: true, worker: true });
    started.push(busy);
    await publisher.waitFor(1);
    // In flight on the fast lane: the thread is not started meanwhile (asked every 250 ms;
    // nothing to wait for but time to prove it, well inside the request's 5 s timeout).
    await new Promise((r) => setTimeout(r, 1000));
    expect(busy.slowLane!.threadId).toBeUndefined();
    expect(await busy.runtime.queues.slow.getJobCountByTypes('active', 'waiting', 'delayed')).toBe(0);
    held[0]!.end('OK');
    await waitUntil(() => busy.slowLane!.threadId !== undefined, 10_000, 'thread started once the fast lane was done');
  });

  it('is started again when it dies mid-delivery, every postback it held is delivered, and /metrics keeps what it counted', async () => {
    const served = await start({ SLOW_ENDPOINT_MS: '100', WORKER_LOCK_MS: '4000', WORKER_STALLED_INTERVAL_MS: '1000' });
    const slow = await degradedEndpoint(served, 'dying', 1500);
    // Some delivered by the first thread, and counted by it.
    await waitDelivered(served, await sendEvents(served, 'dying', 'early', 4), 20_000);
    const counted = await deliveredCount(served, 'dying');
    const before = slow.requests.length;
    const ids = await sendEvents(served, 'dying', 'die', 10);
    await waitUntil(() => slow.requests.length > before, 10_000, 'slow-lane requests in flight');
    const first = served.slowLane!.threadId;
    expect(first).toBeTypeOf('number');
    await served.slowLane!.terminate(); // as a crash would: requests in flight are lost with it
    await waitUntil(() => served.slowLane!.threadId !== undefined && served.slowLane!.threadId !== first, 10_000, 'thread started again');
    await waitDelivered(served, ids, 30_000);
    const arrived = new Set(slow.requests.map((r) => r.url));
    for (let i = 0; i < 10; i++) expect(arrived.has(`/pb?e=die-${i}`)).toBe(true);
    // The first thread's counts stay in /metrics after the restart: no counter goes back.
    expect(await deliveredCount(served, 'dying')).toBeGreaterThanOrEqual(counted + 10);
  });

  it('runs both lanes on the main thread with SLOW_LANE_THREAD=false', async () => {
    const served = await start({ SLOW_LANE_THREAD: 'false' });
    expect(served.slowLane).toBeUndefined();
    expect(served.worker?.workers.slow).toBeDefined();
  });
});
