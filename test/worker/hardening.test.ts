import { describe, expect, it } from 'vitest';
import { Receiver, respond } from '../helpers/receiver.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

/** SSRF guard, slow-endpoint isolation, Retry-After and hostile receivers, end to end. */
describe('hardening', () => {
  const t = usePerTestStacks();
  let stack: Stack | undefined;

  async function fire(s: Stack, event: Record<string, unknown>): Promise<string> {
    const res = await s.post('/v1/events', event);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    return res.json.events[0].postbacks[0];
  }

  it('refuses loopback targets before connecting (literal and resolved names), at once and without retries', async () => {
    stack = await t.start({ ALLOW_PRIVATE_TARGETS: 'false', RETRY_SCHEDULE: '0,0.05,0.05' });
    const port = new URL(t.receiver.base).port;
    await stack.runtime.registry.upsert([
      { id: 'literal', url: `${t.receiver.base}/literal` },
      { id: 'name', url: `http://localhost:${port}/name` },
      { id: 'mapped', url: `http://[::ffff:127.0.0.1]:${port}/mapped` },
    ]);
    for (const ep of ['literal', 'name', 'mapped']) {
      const record = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: ep }));
      expect(record.status, ep).toBe('failed');
      expect(record.attempts).toHaveLength(1);
      expect(record.attempts[0]).toMatchObject({ status_code: 0, error: 'blocked' });
    }
    expect(t.receiver.requests).toHaveLength(0);
    const metrics = await stack.get('/metrics');
    expect(metrics.text).toMatch(/^postback_attempts_total\{outcome="failed",status_class="blocked"\} 3$/m);
    // Creating an endpoint whose host is a blocked literal warns.
    const put = await stack.api.inject({ method: 'PUT', url: '/v1/endpoints/warn', payload: { url: 'http://0x7f.0.0.1/x' } });
    expect(put.json().warnings[0]).toContain('blocked');
  });

  it('lets ALLOWED_TARGET_CIDRS through the guard', async () => {
    stack = await t.start({ ALLOW_PRIVATE_TARGETS: 'false', ALLOWED_TARGET_CIDRS: '127.0.0.0/8' });
    await stack.runtime.registry.upsert([{ id: 'ok', url: `${t.receiver.base}/allowed` }]);
    const record = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'ok' }));
    expect(record.status).toBe('delivered');
  });

  it('keeps a healthy endpoint flowing while a dead one hangs, and moving or parking a postback consumes no attempt', async () => {
    stack = await t.start({ WORKER_CONCURRENCY: '8', PER_ORIGIN_CONCURRENCY: '2', RETRY_SCHEDULE: '0', REQUEST_TIMEOUT_MS: '2000' });
    const slow = new Receiver();
    await slow.start();
    slow.responder = () => 'hang';
    try {
      await stack.runtime.registry.upsert([
        { id: 'dead', url: `${slow.base}/dead?e={event_id}`, timeout_ms: 1500 },
        { id: 'healthy', url: `${t.receiver.base}/ok?e={event_id}` },
      ]);
      const dead = await stack.post('/v1/events', { events: Array.from({ length: 10 }, (_, i) => ({ id: `d${i}`, type: 'conversion', endpoint_id: 'dead' })) });
      const healthy = await stack.post('/v1/events', { events: Array.from({ length: 20 }, (_, i) => ({ id: `h${i}`, type: 'conversion', endpoint_id: 'healthy' })) });
      const healthyIds: string[] = healthy.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]);
      const deadIds: string[] = dead.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]);
      // Every healthy postback is delivered while the dead origin still holds its first attempts.
      await t.receiver.waitFor(20, 10_000);
      const stillHanging = await Promise.all(deadIds.map((id) => stack!.runtime.history.redis.hget(stack!.runtime.keys.record(id), 's')));
      expect(stillHanging.filter((s) => s === 'queued').length).toBeGreaterThanOrEqual(8);
      for (const id of healthyIds) expect((await stack.waitFinal(id)).status).toBe('delivered');
      // The dead ones each fail after exactly one timed-out attempt: moving to the slow lane,
      // parking and the open circuit did not count (the last attempt is always sent).
      for (const id of deadIds) {
        const r = await stack.waitFinal(id, 30_000);
        expect(r.attempts.map((a) => a.error)).toEqual(['timeout']);
      }
    } finally {
      await slow.stop();
    }
  });

  it('waits max(schedule step, Retry-After) after a 429 and records it', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0,0.1' });
    t.receiver.responder = (_r, i, res) => respond(i === 0 ? 429 : 200, '', i === 0 ? { 'retry-after': '1' } : {})(res);
    await stack.runtime.registry.upsert([{ id: 'ra', url: `${t.receiver.base}/ra` }]);
    const record = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'ra' }));
    expect(record.status).toBe('delivered');
    expect(record.attempts[0]).toMatchObject({ status_code: 429, retry_after_ms: 1000 });
    const [a, b] = t.receiver.requests.map((r) => r.at) as [number, number];
    expect(b - a).toBeGreaterThanOrEqual(1000);
  });

  it('reads 4 KiB of a huge response, times out a never-ending one and a slow-loris, and keeps working', async () => {
    stack = await t.start({ RETRY_SCHEDULE: '0', REQUEST_TIMEOUT_MS: '1000' });
    t.receiver.responder = (r, _i, res) => {
      if (r.url === '/huge') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(Buffer.alloc(8 * 1024 * 1024, 'a'));
      } else if (r.url === '/endless') {
        res.writeHead(200);
        const t = setInterval(() => res.write('x'.repeat(1024)), 5);
        res.on('close', () => clearInterval(t));
      } else if (r.url === '/loris') {
        // Headers trickle out a byte at a time and never finish.
        const socket = res.socket!;
        const text = 'HTTP/1.1 200 OK\r\nX-Slow: ';
        let i = 0;
        const t = setInterval(() => (i < text.length ? socket.write(text[i++]!) : socket.write('a')), 50);
        socket.on('close', () => clearInterval(t));
        return 'hang';
      } else respond(200)(res);
      return undefined;
    };
    await stack.runtime.registry.upsert([
      { id: 'huge', url: `${t.receiver.base}/huge`, timeout_ms: 1000 },
      { id: 'endless', url: `${t.receiver.base}/endless`, timeout_ms: 1000 },
      { id: 'loris', url: `${t.receiver.base}/loris`, timeout_ms: 1000 },
    ]);
    const huge = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'huge' }));
    expect(huge.status).toBe('delivered');
    expect(huge.attempts[0]!.response_excerpt).toHaveLength(4096);
    const endless = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'endless' }));
    expect(endless.attempts[0]).toMatchObject({ status_code: 0, error: 'timeout', phase: 'body' });
    const loris = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'loris' }));
    expect(loris.attempts[0]).toMatchObject({ status_code: 0, error: 'timeout' });
    expect(loris.attempts[0]!.duration_ms).toBeLessThan(3000);
  });

  it('strips CR/LF from macro values in headers: no header injection', async () => {
    stack = await t.start();
    await stack.runtime.registry.upsert([{ id: 'hdr', url: `${t.receiver.base}/hdr`, headers: { 'x-user': '{user}' } }]);
    const record = await stack.waitFinal(await fire(stack, { type: 'conversion', endpoint_id: 'hdr', user: 'bob\r\nx-injected: 1\r\n\r\nGET /evil' }));
    expect(record.status).toBe('delivered');
    expect(t.receiver.requests[0]!.headers['x-injected']).toBeUndefined();
    expect(t.receiver.requests[0]!.headers['x-user']).toBe('bob  x-injected: 1    GET /evil');
    expect(t.receiver.requests.map((r) => r.url)).toEqual(['/hdr']);
  });
});
