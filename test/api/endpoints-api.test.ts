import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/global-redis.js';
import { respond } from '../helpers/receiver.js';
import { useStack } from '../helpers/stack.js';

const TOKEN = 'tok-SECRET-81f2';
const SIGNING = 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4OTA=';
const AUTH_HEADER = 'Basic dXNlcjpIVU5URVIy';

describe('endpoints API', () => {
  const ctx = useStack({ RETRY_SCHEDULE: '0' });

  const secretEndpoint = () => ({
    publisher_id: 'p9',
    method: 'POST',
    url: `${ctx.receiver.base}/s?token={security_token}&e={event_id}`,
    body: { token: '{security_token}', id: '{event_id}' },
    headers: { authorization: AUTH_HEADER, 'x-plain': 'visible' },
    security_token: TOKEN,
    signing: { scheme: 'standard-webhooks', secret: SIGNING },
  });

  it('creates, reads (secrets masked), lists, replaces and deletes an endpoint', async () => {
    const put = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/sec', payload: secretEndpoint() });
    expect(put.statusCode).toBe(200);
    const got = await ctx.stack.get('/v1/endpoints/sec');
    expect(got.json).toMatchObject({ id: 'sec', security_token: '***', signing: { scheme: 'standard-webhooks', secret: '***' }, headers: { authorization: '***', 'x-plain': 'visible' } });
    const list = await ctx.stack.get('/v1/endpoints');
    expect(list.json.endpoints.map((e: { id: string }) => e.id)).toContain('sec');
    const bad = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/bad', payload: { url: 'https://x.example/?a={oops', timeout_ms: 5 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details.map((d: { path: string }) => d.path)).toContain('endpoint.timeout_ms');
    const mismatch = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/a', payload: { id: 'b', url: 'https://x.example/' } });
    expect(mismatch.statusCode).toBe(400);
    const warn = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/meta', payload: { url: 'http://169.254.169.254/latest' } });
    expect(warn.json().warnings).toHaveLength(0); // this stack allows private targets
    const del = await ctx.stack.api.inject({ method: 'DELETE', url: '/v1/endpoints/meta' });
    expect(del.statusCode).toBe(204);
    expect((await ctx.stack.get('/v1/endpoints/meta')).status).toBe(404);
    expect((await ctx.stack.api.inject({ method: 'DELETE', url: '/v1/endpoints/meta' })).statusCode).toBe(404);
  });

  it('applies a change to postbacks enqueued after it', async () => {
    await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/chg', payload: { url: `${ctx.receiver.base}/v1?e={event_id}` } });
    const a = await ctx.stack.post('/v1/events', { id: 'chg-1', type: 'conversion', endpoint_id: 'chg' });
    await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/chg', payload: { url: `${ctx.receiver.base}/v2?e={event_id}` } });
    const b = await ctx.stack.post('/v1/events', { id: 'chg-2', type: 'conversion', endpoint_id: 'chg' });
    await ctx.stack.waitFinal(a.json.events[0].postbacks[0]);
    await ctx.stack.waitFinal(b.json.events[0].postbacks[0]);
    const urls = ctx.receiver.requests.map((r) => r.url);
    expect(urls).toContain('/v1?e=chg-1');
    expect(urls).toContain('/v2?e=chg-2');
  });

  it('tests an endpoint synchronously against a live receiver, outside the queue and history', async () => {
    await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/live', payload: { preset: 'maxppi', url: `${ctx.receiver.base}/live?c={external_id}&t={security_token}`, security_token: TOKEN } });
    const before = await ctx.stack.runtime.redis.zcard(ctx.stack.runtime.keys.index);
    ctx.receiver.responder = (_r, _i, res) => respond(200, `ok ${TOKEN}`)(res);
    const res = await ctx.stack.post('/v1/endpoints/live/test', {});
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, error: null, response: { status_code: 200 } });
    expect(res.json.request.url).toBe(`${ctx.receiver.base}/live?c=YOUR_CLICK_ID_789&t=***`);
    expect(res.json.response.duration_ms).toBeGreaterThanOrEqual(0);
    expect(ctx.receiver.requests.at(-1)!.url).toBe(`/live?c=YOUR_CLICK_ID_789&t=${TOKEN}`);
    const posted = await ctx.stack.post('/v1/endpoints/live/test', { type: 'conversion', cid: 'mine' });
    expect(posted.json.request.url).toContain('c=mine');
    expect(await ctx.stack.runtime.redis.zcard(ctx.stack.runtime.keys.index)).toBe(before);
    expect(await ctx.stack.runtime.queue.count()).toBe(0);
    expect(JSON.stringify(res.json)).not.toContain(TOKEN);
    ctx.receiver.responder = (_r, _i, r) => respond(200, 'OK')(r);
  });

  it('tests an endpoint against a dead receiver: not ok, status 0, error refused, no retry', async () => {
    const port = await freePort();
    await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/dead', payload: { url: `http://127.0.0.1:${port}/x` } });
    const res = await ctx.stack.post('/v1/endpoints/dead/test', {});
    expect(res.json).toMatchObject({ ok: false, error: 'refused', response: { status_code: 0 } });
    expect((await ctx.stack.post('/v1/endpoints/missing/test', {})).status).toBe(404);
  });

  it('keeps every secret out of every API response, history record and CSV row', async () => {
    await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/sec', payload: secretEndpoint() });
    const res = await ctx.stack.post('/v1/events', { id: 'sec-1', type: 'conversion', endpoint_id: 'sec' });
    const id = res.json.events[0].postbacks[0];
    await ctx.stack.waitFinal(id);
    const arrived = ctx.receiver.requests.find((r) => r.url.includes('e=sec-1'))!;
    expect(arrived.url).toContain(TOKEN); // the receiver gets the real token
    expect(arrived.headers.authorization).toBe(AUTH_HEADER);
    const bodies = [
      (await ctx.stack.get(`/v1/postbacks/${id}`)).text,
      (await ctx.stack.get('/v1/postbacks?event_id=sec-1')).text,
      (await ctx.stack.get('/v1/postbacks.csv?event_id=sec-1')).text,
      (await ctx.stack.get('/v1/endpoints')).text,
      (await ctx.stack.get('/v1/endpoints/sec')).text,
      (await ctx.stack.post('/v1/endpoints/sec/test', {})).text,
      ctx.stack.logs.lines.join('\n'),
    ];
    // The Redis record itself, every field: the replay copy holds placeholders, not secrets.
    bodies.push(JSON.stringify(await ctx.stack.runtime.redis.hgetall(ctx.stack.runtime.keys.record(id))));
    for (const text of bodies) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(SIGNING.slice(6));
      expect(text).not.toContain(AUTH_HEADER.slice(6));
    }
    expect(bodies[0]).toContain('***');

    // Replay restores the endpoint's secrets: the receiver gets the real request again.
    const before = ctx.receiver.requests.length;
    const replay = await ctx.stack.post(`/v1/postbacks/${id}/replay`, {});
    expect(replay.status).toBe(202);
    await ctx.stack.waitFinal(replay.json.id);
    const again = ctx.receiver.requests.slice(before).find((r) => r.url.includes('e=sec-1'))!;
    expect(again.url).toBe(arrived.url);
    expect(again.body).toBe(arrived.body);
    expect(again.headers.authorization).toBe(AUTH_HEADER);

    // With the endpoint gone its secrets are gone: replay is refused, not sent half-masked.
    await ctx.stack.api.inject({ method: 'DELETE', url: '/v1/endpoints/sec' });
    const orphan = await ctx.stack.post(`/v1/postbacks/${id}/replay`, {});
    expect(orphan.status).toBe(400);
    expect(orphan.json.error).toContain('cannot be replayed');
  });
});
