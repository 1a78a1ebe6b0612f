import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnWorker } from '../helpers/load.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

const ALERT_SECRET = `whsec_${Buffer.from('alert-secret-0123456789').toString('base64')}`;

/** Events to one endpoint, ids `${prefix}-i`; returns their postback ids. */
async function send(stack: Stack, endpointId: string, prefix: string, n: number): Promise<string[]> {
  const events = Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'conversion', endpoint_id: endpointId }));
  const res = await stack.post('/v1/events', { events });
  expect(res.status, JSON.stringify(res.json)).toBe(202);
  return (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
}

async function healthOf(stack: Stack, id: string): Promise<{ state: string; consecutive_failures: number; last_error: string | null; disabled_reason: string | null }> {
  const res = await stack.get(`/v1/endpoints/${id}`);
  expect(res.status).toBe(200);
  return res.json.health;
}

/** SPEC, Isolation and endpoint health: lanes, circuit breaker, auto-disable, alerts, shared state. */
describe('isolation and endpoint health', () => {
  const t = usePerTestStacks();
  const extra: Receiver[] = [];
  const children: ChildProcess[] = [];
  const receiver = async (): Promise<Receiver> => {
    const r = new Receiver();
    await r.start();
    extra.push(r);
    return r;
  };
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(extra.splice(0).map((r) => r.stop()));
  });

  it('keeps a healthy endpoint delivered beside black-holed and slow origins, which move to the slow lane', async () => {
    const stack = await t.start({ WORKER_CONCURRENCY: '10', RETRY_SCHEDULE: '0,30', SLOW_ENDPOINT_MS: '300', REQUEST_TIMEOUT_MS: '3000' });
    const dead: Receiver[] = [];
    const slow: Receiver[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await receiver();
      d.responder = () => 'hang';
      dead.push(d);
      const s = await receiver();
      s.responder = (_r, _i, res) => void setTimeout(() => respond(200)(res), 1500);
      slow.push(s);
    }
    await stack.runtime.registry.upsert([
      { id: 'healthy', url: `${t.receiver.base}/ok?e={event_id}` },
      ...dead.map((d, i) => ({ id: `dead${i}`, url: `${d.base}/dead?e={event_id}`, timeout_ms: 2500 })),
      ...slow.map((s, i) => ({ id: `slow${i}`, url: `${s.base}/slow?e={event_id}` })),
    ]);
    // Bad origins first, so that without isolation they would hold every one of the 10 slots.
    const badIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      badIds.push(...(await send(stack, `dead${i}`, `d${i}`, 15)), ...(await send(stack, `slow${i}`, `s${i}`, 15)));
    }
    const healthyIds: string[] = [];
    for (let round = 0; round < 5; round++) healthyIds.push(...(await send(stack, 'healthy', `h${round}`, 10)));
    // All 50 healthy postbacks arrive while the dead origins still hold their first attempts.
    await t.receiver.waitFor(50, 10_000);
    for (const id of healthyIds) expect((await stack.waitFinal(id)).status).toBe('delivered');
    expect(dead.reduce((n, d) => n + d.requests.length, 0)).toBeGreaterThan(0);
    // The bad endpoints are degraded (or open) and their postbacks went to the slow lane.
    for (let i = 0; i < 4; i++) {
      await expect.poll(async () => (await healthOf(stack, `dead${i}`)).state, { timeout: 5000 }).toMatch(/^(degraded|open)$/);
    }
    await expect.poll(async () => (await stack.get('/metrics')).text, { timeout: 5000 }).toMatch(/^postback_lane_moves_total\{reason="(degraded|open|origin_limit)"\} [1-9]/m);
    // Slow origins still get every postback through, at their own pace.
    for (const s of slow) await s.waitFor(15, 20_000);
    expect(badIds.length).toBe(120);
  });

  it("reports a healthy endpoint's attempts in its health (success rate, latency) within a few seconds", async () => {
    const stack = await t.start();
    await stack.runtime.registry.upsert([{ id: 'fine', url: `${t.receiver.base}/fine?e={event_id}` }]);
    for (const id of await send(stack, 'fine', 'f', 5)) expect((await stack.waitFinal(id)).status).toBe('delivered');
    // Quiet news (only fast successes) reaches Redis every 2 s, not every 200 ms.
    await expect.poll(async () => (await stack.get('/v1/endpoints/fine')).json.health.attempts_5m, { timeout: 5000 }).toBe(5);
    const { health } = (await stack.get('/v1/endpoints/fine')).json;
    expect(health).toMatchObject({ state: 'healthy', success_rate_5m: 1, consecutive_failures: 0, last_error: null });
    expect(health.latency_p99_ms).toBeGreaterThan(0);
    expect(health.last_success_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('opens a circuit, records circuit_open without sending, probes, closes when the origin answers, then delivers the backlog', async () => {
    const stack = await t.start({ CIRCUIT_FAILURES: '3', CIRCUIT_PROBE_INTERVAL_MS: '400', RETRY_SCHEDULE: Array(20).fill('0.3').join(',') });
    const origin = await receiver();
    let up = false;
    origin.responder = (_r, _i, res) => respond(up ? 200 : 500)(res);
    await stack.runtime.registry.upsert([{ id: 'flaky', url: `${origin.base}/cb?e={event_id}` }]);
    const first = await send(stack, 'flaky', 'a', 3);
    await expect.poll(async () => (await healthOf(stack, 'flaky')).state, { timeout: 5000 }).toBe('open');
    const backlog = await send(stack, 'flaky', 'b', 10);
    // While open, attempts are recorded as circuit_open (status 0) and nothing is sent for them.
    const sentBefore = origin.requests.length;
    const r = await stack.waitStatus(backlog[0]!, ['retrying']);
    expect(r.attempts[0]).toMatchObject({ status_code: 0, error: 'circuit_open', duration_ms: 0 });
    await new Promise((res) => setTimeout(res, 1000));
    // At most one probe per probe interval (400 ms) went out in that second, not 10+ attempts.
    expect(origin.requests.length - sentBefore).toBeLessThanOrEqual(3);
    up = true;
    // The next probe answers, the circuit closes, and every pending postback is delivered.
    await expect.poll(async () => (await healthOf(stack, 'flaky')).state, { timeout: 5000 }).toBe('healthy');
    for (const id of [...first, ...backlog]) expect((await stack.waitFinal(id, 15_000)).status).toBe('delivered');
    const records = await Promise.all(backlog.map((id) => stack.waitFinal(id)));
    expect(records.some((rec) => rec.attempts.some((a) => a.error === 'circuit_open'))).toBe(true);
    // Every postback that ended had a real request: its last attempt sent one (status 200).
    for (const rec of records) expect(rec.attempts.at(-1)).toMatchObject({ status_code: 200, error: null });
  });

  it('keeps probing an open circuit under steady traffic, and closes it soon after the origin answers', async () => {
    const stack = await t.start({ CIRCUIT_FAILURES: '2', CIRCUIT_PROBE_INTERVAL_MS: '300', RETRY_SCHEDULE: '0,8' });
    const origin = await receiver();
    let up = false;
    origin.responder = (_r, _i, res) => respond(up ? 200 : 500)(res);
    await stack.runtime.registry.upsert([{ id: 'steady', url: `${origin.base}/s?e={event_id}`, timeout_ms: 1000 }]);
    await send(stack, 'steady', 'open', 2);
    await expect.poll(async () => (await healthOf(stack, 'steady')).state, { timeout: 5000 }).toBe('open');
    // A postback every 40 ms: attempts keep coming faster than the probe hint lasts.
    let i = 0;
    const sending = new Set<Promise<unknown>>();
    const stream = setInterval(() => {
      const p = send(stack, 'steady', `s${i++}`, 1).catch(() => undefined);
      sending.add(p);
      void p.finally(() => sending.delete(p));
    }, 40);
    try {
      await new Promise((r) => setTimeout(r, 600));
      up = true;
      const upAt = Date.now();
      // Closed by a probe (TTL 1 s timeout + 0.3 s interval), long before the 8 s last chances.
      await expect.poll(async () => (await healthOf(stack, 'steady')).state, { timeout: 4000, interval: 100 }).toBe('healthy');
      expect(Date.now() - upAt).toBeLessThan(4000);
    } finally {
      // No request may still be on its way when the stack closes.
      clearInterval(stream);
      await Promise.allSettled([...sending]);
    }
  });

  it('never fails a postback without one real request: the last attempt is sent although the circuit is open', async () => {
    const stack = await t.start({ CIRCUIT_FAILURES: '2', CIRCUIT_PROBE_INTERVAL_MS: '60000', RETRY_SCHEDULE: '0,0.2,0.2' });
    const origin = await receiver();
    origin.responder = (_r, _i, res) => respond(503)(res);
    await stack.runtime.registry.upsert([{ id: 'down', url: `${origin.base}/down?e={event_id}` }]);
    await send(stack, 'down', 'open', 2);
    await expect.poll(async () => (await healthOf(stack, 'down')).state, { timeout: 5000 }).toBe('open');
    const [id] = await send(stack, 'down', 'late', 1);
    const rec = await stack.waitFinal(id!, 10_000);
    expect(rec.status).toBe('failed');
    expect(rec.attempts.map((a) => a.error)).toEqual(['circuit_open', 'circuit_open', 'http_status']);
    expect(rec.attempts[2]).toMatchObject({ status_code: 503 });
    expect(origin.requests.filter((q) => q.url.includes('late-0'))).toHaveLength(1);
  });

  it('auto-disables after AUTO_DISABLE_FAILURES final failures, alerts (Standard Webhooks), skips new events, and enables again', async () => {
    const alerts = await receiver();
    const stack = await t.start({
      AUTO_DISABLE_FAILURES: '3',
      CIRCUIT_FAILURES: '50',
      RETRY_SCHEDULE: '0',
      ALERT_WEBHOOK_URL: `${alerts.base}/alerts`,
      ALERT_WEBHOOK_SECRET: ALERT_SECRET,
    });
    const origin = await receiver();
    let status = 500;
    origin.responder = (_r, _i, res) => respond(status)(res);
    await stack.runtime.registry.upsert([{ id: 'bad', url: `${origin.base}/bad?e={event_id}` }]);
    for (const id of await send(stack, 'bad', 'f', 3)) expect((await stack.waitFinal(id)).status).toBe('failed');
    await expect.poll(async () => (await healthOf(stack, 'bad')).state, { timeout: 5000 }).toBe('disabled');
    expect((await healthOf(stack, 'bad')).disabled_reason).toMatch(/^auto: 3 consecutive final failures/);

    // The alert arrives signed; the standardwebhooks package verifies it.
    const wh = new Webhook(ALERT_SECRET);
    const verified = async (type: string): Promise<Record<string, unknown>> => {
      await expect.poll(() => alerts.requests.some((q) => JSON.parse(q.body).type === type), { timeout: 5000 }).toBe(true);
      const q = alerts.requests.find((x) => JSON.parse(x.body).type === type)!;
      return wh.verify(q.body, q.headers as Record<string, string>) as Record<string, unknown>;
    };
    expect(await verified('endpoint.disabled')).toMatchObject({ type: 'endpoint.disabled', data: { endpoint_id: 'bad', state: 'disabled' } });
    expect(() => wh.verify(alerts.requests[0]!.body.replace('bad', 'bae'), alerts.requests[0]!.headers as Record<string, string>)).toThrow();

    // Disabled: a new event is skipped with reason `disabled`, nothing is sent.
    const sentBefore = origin.requests.length;
    const skipped = await stack.post('/v1/events', { id: 'while-off', type: 'conversion', endpoint_id: 'bad' });
    expect(skipped.status).toBe(202);
    expect(skipped.json.events[0]).toMatchObject({ postbacks: [], skipped: [{ endpoint_id: 'bad', reason: 'disabled' }] });
    expect(origin.requests.length).toBe(sentBefore);

    // Enable: healthy again, and the next event is delivered.
    status = 200;
    const enabled = await stack.post('/v1/endpoints/bad/enable', {});
    expect(enabled.status).toBe(200);
    expect(enabled.json.health).toMatchObject({ state: 'healthy', consecutive_failures: 0, disabled_at: null });
    const [id] = await send(stack, 'bad', 'after', 1);
    expect((await stack.waitFinal(id!)).status).toBe('delivered');
    // Only one disabled alert, however many workers saw it (rate-limited per endpoint and type).
    expect(alerts.requests.filter((q) => JSON.parse(q.body).type === 'endpoint.disabled')).toHaveLength(1);
  });

  it('fails the pending postbacks of a disabled endpoint with error class disabled, sending nothing', async () => {
    const stack = await t.start({ RETRY_SCHEDULE: '0,0.5,0.5' });
    const origin = await receiver();
    origin.responder = (_r, _i, res) => respond(500)(res);
    await stack.runtime.registry.upsert([{ id: 'off', url: `${origin.base}/off?e={event_id}` }]);
    const [id] = await send(stack, 'off', 'p', 1);
    await stack.waitStatus(id!, ['retrying']);
    const res = await stack.post('/v1/endpoints/off/disable', { reason: 'publisher asked' });
    expect(res.json.health).toMatchObject({ state: 'disabled', disabled_reason: 'publisher asked' });
    const rec = await stack.waitFinal(id!);
    expect(rec.status).toBe('failed');
    expect(rec.attempts.at(-1)).toMatchObject({ status_code: 0, error: 'disabled' });
    expect(origin.requests).toHaveLength(1);
    expect((await stack.get('/metrics')).text).toMatch(/^postback_endpoint_state\{endpoint_id="off",state="disabled"\} 1$/m);
  });

  it('shares one health state between worker processes: a circuit opened by one is obeyed by another', async () => {
    // The producer (this stack) stores the schedule in each job; workers only read it.
    const stack = await t.start({ RETRY_SCHEDULE: '0,0.2,60' }, { worker: false });
    const origin = await receiver();
    let up = false;
    origin.responder = (_r, _i, res) => respond(up ? 200 : 500)(res);
    await stack.runtime.registry.upsert([{ id: 'shared', url: `${origin.base}/sh?e={event_id}` }]);
    const env = {
      REDIS_URL: stack.config.redisUrl!,
      QUEUE_PREFIX: stack.config.queuePrefix,
      CIRCUIT_FAILURES: '3',
      CIRCUIT_PROBE_INTERVAL_MS: '60000',
      RETRY_SCHEDULE: '0,0.2,60',
      WORKER_STALLED_INTERVAL_MS: '1000',
    };
    const a = spawnWorker(env);
    children.push(a);
    await send(stack, 'shared', 'a', 3);
    await expect.poll(async () => (await healthOf(stack, 'shared')).state, { timeout: 10_000 }).toBe('open');
    a.kill('SIGTERM');
    await once(a, 'exit');
    // Worker B never saw a failure of its own: it reads the open circuit from Redis.
    const b = spawnWorker(env);
    children.push(b);
    const sentBefore = origin.requests.length;
    const ids = await send(stack, 'shared', 'b', 5);
    for (const id of ids) {
      const rec = await stack.waitStatus(id, ['retrying'], 10_000);
      await expect.poll(async () => (await stack.waitStatus(id, ['retrying'])).attempts.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(rec.attempts[0]).toMatchObject({ error: 'circuit_open', status_code: 0 });
    }
    expect(origin.requests.length).toBe(sentBefore);
    up = true;
  });

  it('does not leave a circuit stuck open when the worker holding the probe is killed', async () => {
    const schedule = Array(20).fill('0.3').join(',');
    const stack = await t.start({ RETRY_SCHEDULE: schedule }, { worker: false });
    const origin = await receiver();
    let mode: 'fail' | 'hang' | 'up' = 'fail';
    origin.responder = (_r, _i, res) => (mode === 'hang' ? 'hang' : respond(mode === 'up' ? 200 : 500)(res));
    await stack.runtime.registry.upsert([{ id: 'probe', url: `${origin.base}/p?e={event_id}`, timeout_ms: 1000 }]);
    const env = {
      REDIS_URL: stack.config.redisUrl!,
      QUEUE_PREFIX: stack.config.queuePrefix,
      CIRCUIT_FAILURES: '3',
      CIRCUIT_PROBE_INTERVAL_MS: '500',
      RETRY_SCHEDULE: schedule,
      REQUEST_TIMEOUT_MS: '1000',
      WORKER_LOCK_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '500',
    };
    const a = spawnWorker(env);
    children.push(a);
    const ids = await send(stack, 'probe', 'k', 6);
    await expect.poll(async () => (await healthOf(stack, 'probe')).state, { timeout: 20_000 }).toBe('open');
    // The next request is the probe: it hangs, and its worker dies holding it.
    mode = 'hang';
    const before = origin.requests.length;
    await origin.waitFor(before + 1, 10_000);
    a.kill('SIGKILL');
    await once(a, 'exit');
    mode = 'up';
    const b = spawnWorker(env);
    children.push(b);
    // The probe lock expires (timeout + interval), B probes, the circuit closes, all delivered.
    await expect.poll(async () => (await healthOf(stack, 'probe')).state, { timeout: 15_000 }).toBe('healthy');
    for (const id of ids) expect((await stack.waitFinal(id, 20_000)).status).toBe('delivered');
  });
});
