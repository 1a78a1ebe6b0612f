import { describe, expect, it } from 'vitest';
import { useStack, type Stack } from '../helpers/stack.js';

/**
 * A stored endpoint that no longer compiles (written by another version, or by hand) is
 * not silently dropped: logged once, listed by the API, named by the producer, counted in
 * /metrics.
 */
const SECRET = 'sekret-token-0042';

describe('broken stored endpoints', () => {
  const ctx = useStack({}, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([{ id: 'good', url: `${receiver.base}/ok?e={event_id}` }]);
  });

  /** What an older or newer version might have left in the endpoints hash. */
  async function writeStored(stack: Stack, id: string, json: string): Promise<void> {
    const { redis, keys } = stack.runtime;
    await redis.multi().hset(keys.endpoints, id, json).incr(keys.endpointsRev).exec();
  }

  const brokenLogs = (stack: Stack): { endpointId: string; err: { message: string } }[] =>
    stack.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg?.startsWith('stored endpoint does not compile'));

  const brokenGauge = async (stack: Stack): Promise<string | undefined> =>
    (await stack.get('/metrics')).text.match(/^postback_endpoints_broken (\d+)$/m)?.[1];

  it('logs it once per stored definition, lists it, answers 409 for it, names it to producers and counts it', async () => {
    const { stack } = ctx;
    await writeStored(stack, 'bad', JSON.stringify({ id: 'bad', url: 'http://127.0.0.1:9/x?t={security_token}', security_token: SECRET, timeout_ms: 5 }));

    const list = await stack.get('/v1/endpoints');
    expect(list.status).toBe(200);
    expect(list.json.endpoints.map((e: { id: string }) => e.id)).toEqual(['good']);
    expect(list.json.broken).toHaveLength(1);
    expect(list.json.broken[0].id).toBe('bad');
    expect(list.json.broken[0].error).toContain('timeout_ms');
    expect(list.json.broken[0].details).toEqual([expect.objectContaining({ path: 'endpoints.bad.timeout_ms' })]);

    // Logged once, whatever the number of refreshes, with the error naming the field.
    await writeStored(stack, 'other', JSON.stringify({ id: 'other', url: 'http://127.0.0.1:9/o' }));
    await stack.get('/v1/endpoints');
    let logs = brokenLogs(stack);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ endpointId: 'bad', level: 50 });
    expect(logs[0]!.err.message).toContain('timeout_ms');

    const one = await stack.get('/v1/endpoints/bad');
    expect(one.status).toBe(409);
    expect(one.json.error).toMatch(/^endpoint "bad" is stored but invalid: .*timeout_ms/);
    expect(one.json.details[0].path).toBe('endpoints.bad.timeout_ms');
    expect((await stack.get('/v1/endpoints/nope')).status).toBe(404);

    const ev = await stack.post('/v1/events', { type: 'conversion', endpoint_id: 'bad' });
    expect(ev.status).toBe(400);
    expect(ev.json.error).toContain('endpoint "bad" is stored but invalid');
    expect(ev.json.error).not.toContain('unknown endpoint');
    expect(ev.json.details).toEqual([expect.objectContaining({ path: 'endpoint_id', message: expect.stringContaining('timeout_ms') })]);
    const unknown = await stack.post('/v1/events', { type: 'conversion', endpoint_id: 'nope' });
    expect(unknown.json.details[0].message).toBe('unknown endpoint "nope"');

    expect(await brokenGauge(stack)).toBe('1');
    // The stored secret is in none of it.
    for (const text of [list.text, one.text, ev.text, ...stack.logs.lines]) expect(text).not.toContain(SECRET);

    // A different broken definition is a new report; one that is not JSON at all says so.
    await writeStored(stack, 'bad', '{"id": "bad", "url": ');
    expect((await stack.get('/v1/endpoints')).json.broken).toEqual([
      { id: 'bad', error: 'endpoints.bad: the stored definition is not valid JSON', details: [{ path: 'endpoints.bad', message: 'not valid JSON' }] },
    ]);
    logs = brokenLogs(stack);
    expect(logs).toHaveLength(2);

    // Fixed through the API: listed, routable, no longer counted.
    const res = await fetch(`${stack.base}/v1/endpoints/bad`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${ctx.receiver.base}/fixed?e={event_id}` }),
    });
    expect(res.status).toBe(200);
    const after = await stack.get('/v1/endpoints');
    expect(after.json.broken).toEqual([]);
    expect(after.json.endpoints.map((e: { id: string }) => e.id)).toEqual(['bad', 'good', 'other']);
    expect((await stack.get('/v1/endpoints/bad')).status).toBe(200);
    expect(await brokenGauge(stack)).toBe('0');
    expect(brokenLogs(stack)).toHaveLength(2);
  });
});
