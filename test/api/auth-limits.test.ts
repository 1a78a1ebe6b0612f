import { describe, expect, it } from 'vitest';
import { useStack } from '../helpers/stack.js';

const KEY = 'test-key-7f3a';
const auth = { authorization: `Bearer ${KEY}` };

describe('API auth and limits', () => {
  const ctx = useStack({ API_KEYS: `other,${KEY}` }, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${receiver.base}/x` }]);
  });

  it('answers 401 without a key or with a wrong one, on every protected route', async () => {
    for (const [method, path] of [['GET', '/v1/postbacks'], ['POST', '/v1/events'], ['GET', '/v1/endpoints'], ['GET', '/v1/postbacks.csv'], ['GET', '/openapi.json'], ['GET', '/v1/presets']]) {
      const none = method === 'GET' ? await ctx.stack.get(path!) : await ctx.stack.post(path!, {});
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.json.error).toContain('API key');
      const wrong = method === 'GET' ? await ctx.stack.get(path!, { authorization: 'Bearer nope' }) : await ctx.stack.post(path!, {}, { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
    }
    expect((await ctx.stack.get('/v1/endpoints', auth)).status).toBe(200);
    expect((await ctx.stack.get('/v1/endpoints', { authorization: 'Bearer other' })).status).toBe(200);
  });

  it('leaves /healthz, /readyz, /metrics and the Explorer page open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/']) expect((await ctx.stack.get(path)).status, path).toBe(200);
  });

  it('answers 413 for a body over 1 MiB and 400 for a batch over 1000, with JSON errors', async () => {
    const big = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'ep', blob: 'x'.repeat(1024 * 1024) }, auth);
    expect(big.status).toBe(413);
    expect(big.json.error).toContain('1 MiB');
    const many = await ctx.stack.post('/v1/events', { events: Array.from({ length: 1001 }, () => ({ type: 'conversion', endpoint_id: 'ep' })) }, auth);
    expect(many.status).toBe(400);
    expect(many.json.details[0]).toMatchObject({ path: 'events' });
    const notJson = await ctx.stack.post('/v1/events', '{"type": ', auth);
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toBeTruthy();
    const proto = await ctx.stack.post('/v1/events', '{"type":"conversion","endpoint_id":"ep","__proto__":{"x":1}}', auth);
    expect(proto.status).toBe(400);
    expect(await ctx.stack.runtime.queue.count()).toBe(0);
  });

  it('takes invalid UTF-8 in a body as U+FFFD replacement characters, never a crash', async () => {
    const body = Buffer.concat([Buffer.from('{"type":"conversion","endpoint_id":"ep","name":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}')]);
    const res = await fetch(`${ctx.stack.base}/v1/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(202);
    const json = (await res.json()) as { events: { postbacks: string[] }[] };
    expect(json.events[0]!.postbacks).toHaveLength(1);
  });

  it('publishes an OpenAPI document listing every route the server has', async () => {
    const doc = await ctx.stack.get('/openapi.json', auth);
    expect(doc.json.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.json.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({ method: method.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1') })),
    );
    for (const route of documented) expect(ctx.stack.api.hasRoute(route as never), `${route.method} ${route.url}`).toBe(true);
    expect(documented.map((r) => r.url)).toEqual(expect.arrayContaining(['/v1/events', '/v1/postbacks', '/v1/postbacks.csv', '/v1/postbacks/:id', '/v1/postbacks/:id/replay', '/v1/postbacks/replay', '/v1/endpoints', '/v1/endpoints/:id', '/v1/endpoints/:id/test', '/v1/endpoints/:id/disable', '/v1/endpoints/:id/enable', '/healthz', '/readyz', '/metrics']));
  });

  it('exposes Prometheus metrics prefixed postback_, counting enqueued postbacks and deliveries', async () => {
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'ep' }, auth);
    await ctx.stack.waitFinal(res.json.events[0].postbacks[0]);
    const metrics = await ctx.stack.get('/metrics');
    expect(metrics.text).toMatch(/^postback_enqueued_total\{replay="false"\} [1-9]/m);
    expect(metrics.text).toMatch(/^postback_deliveries_total\{outcome="delivered"\} [1-9]/m);
    expect(metrics.text).toMatch(/^postback_attempts_total\{outcome="success",status_class="2xx"\} [1-9]/m);
    expect(metrics.text).toMatch(/^postback_attempt_duration_seconds_bucket/m);
    expect(metrics.text).toMatch(/^postback_queue_jobs\{state="waiting"\} \d/m);
    expect(metrics.text).toMatch(/^postback_history_records [1-9]/m);
  });
});
