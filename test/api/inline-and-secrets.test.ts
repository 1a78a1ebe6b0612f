import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { markFailedIfPending } from '../../src/history/mark-failed.js';
import { AttemptWriter } from '../../src/history/record-attempt.js';
import { respond } from '../helpers/receiver.js';
import { useStack } from '../helpers/stack.js';

const TOKEN = 'REALTOKEN123';

/** Inline targets stay inline, secrets stay out of history even when receivers echo them. */
describe('inline targets and secret hygiene', () => {
  const ctx = useStack({ RETRY_SCHEDULE: '0' }, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([
      { id: 'pub7-main', url: `${receiver.base}/real?t={security_token}&e={event_id}`, security_token: TOKEN, signing: { scheme: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
    ]);
  });

  it("refuses an inline target that names a registered endpoint's id, and the reserved id for endpoints", async () => {
    const res = await ctx.stack.post('/v1/events', { id: 'x1', type: 'conversion', target: { id: 'pub7-main', url: `${ctx.receiver.base}/evil?t={security_token}` } });
    expect(res.status).toBe(400);
    expect(res.json.details[0].path).toBe('target.id');
    const put = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/inline', payload: { url: `${ctx.receiver.base}/x` } });
    expect(put.statusCode).toBe(400);
    // The registered endpoint's event was not claimed by the attempt.
    const real = await ctx.stack.post('/v1/events', { id: 'x1', type: 'conversion', endpoint_id: 'pub7-main' });
    expect(real.json.events[0].duplicate).toBe(false);
    await ctx.stack.waitFinal(real.json.events[0].postbacks[0]);
  });

  it('does not let two different inline targets dedupe each other', async () => {
    const a = await ctx.stack.post('/v1/events', { id: 'same-id', type: 'conversion', target: { url: `${ctx.receiver.base}/a` } });
    const b = await ctx.stack.post('/v1/events', { id: 'same-id', type: 'conversion', target: { url: `${ctx.receiver.base}/b` } });
    const again = await ctx.stack.post('/v1/events', { id: 'same-id', type: 'conversion', target: { url: `${ctx.receiver.base}/a` } });
    expect(a.json.events[0].postbacks).toHaveLength(1);
    expect(b.json.events[0].postbacks).toHaveLength(1);
    expect(again.json.events[0].duplicate).toBe(true);
  });

  it('masks secrets a receiver echoes back, in the response excerpt and Location', async () => {
    ctx.receiver.responder = (r, _i, res) =>
      r.url.startsWith('/real') ? respond(302, `forbidden: token ${TOKEN} unknown`, { location: `/login?t=${TOKEN}` })(res) : respond(200)(res);
    const res = await ctx.stack.post('/v1/events', { id: 'echo-1', type: 'conversion', endpoint_id: 'pub7-main' });
    const record = await ctx.stack.waitFinal(res.json.events[0].postbacks[0]);
    ctx.receiver.responder = (_r, _i, r) => respond(200)(r);
    expect(record.attempts[0]!.response_excerpt).toBe('forbidden: token *** unknown');
    expect(record.attempts[0]!.location).toBe('/login?t=***');
    const api = await ctx.stack.get(`/v1/postbacks/${record.id}`);
    expect(api.text).not.toContain(TOKEN);

    // The same for an inline target's own token.
    ctx.receiver.responder = (_r, _i, r) => respond(500, `bad token ${TOKEN}`)(r);
    const inline = await ctx.stack.post('/v1/events', { type: 'conversion', target: { url: `${ctx.receiver.base}/inl?t={security_token}`, security_token: TOKEN } });
    const rec2 = await ctx.stack.waitFinal(inline.json.events[0].postbacks[0]);
    ctx.receiver.responder = (_r, _i, r) => respond(200)(r);
    expect(rec2.attempts[0]!.response_excerpt).toBe('bad token ***');
  });

  it('hashes listed fields in every macro dialect (not a constant)', async () => {
    await ctx.stack.runtime.registry.upsert([
      { id: 'sq', macro_syntax: '[m]', url: `${ctx.receiver.base}/sq?c=[click_id]`, signing: { scheme: 'hash', algorithm: 'md5', over: ['click_id'], param: 'h', secret: 'S3cret', separator: ':' } },
    ]);
    const res = await ctx.stack.post('/v1/events', { events: [{ type: 'conversion', endpoint_id: 'sq', click_id: 'c1' }, { type: 'conversion', endpoint_id: 'sq', click_id: 'c2' }] });
    for (const e of res.json.events) await ctx.stack.waitFinal(e.postbacks[0]);
    const hashes = ctx.receiver.requests.filter((r) => r.url.startsWith('/sq')).map((r) => new URL(r.url, 'http://x').searchParams);
    for (const q of hashes) expect(q.get('h')).toBe(createHash('md5').update(`${q.get('c')}:S3cret`).digest('hex'));
    expect(new Set(hashes.map((q) => q.get('h'))).size).toBe(2);
  });

  it('encodes static parameter values, so they cannot add parameters or a fragment', async () => {
    await ctx.stack.runtime.registry.upsert([{ id: 'sp', url: `${ctx.receiver.base}/sp`, params: { note: 'a b&admin=1#frag', amt: '{payout} USD' } }]);
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'sp', payout: 1.5 });
    await ctx.stack.waitFinal(res.json.events[0].postbacks[0]);
    const url = ctx.receiver.requests.find((r) => r.url.startsWith('/sp'))!.url;
    const q = new URL(url, 'http://x').searchParams;
    expect([...q.keys()]).toEqual(['note', 'amt']);
    expect(q.get('note')).toBe('a b&admin=1#frag');
    expect(q.get('amt')).toBe('1.5 USD');
    const bad = await ctx.stack.api.inject({ method: 'PUT', url: '/v1/endpoints/crlf', payload: { url: `${ctx.receiver.base}/x`, headers: { 'x-a': 'v\r\nx-b: 1' } } });
    expect(bad.statusCode).toBe(400);
  });

  it('never recreates an expired record, and marks a pending one failed only if not final', async () => {
    const h = ctx.stack.runtime.history;
    const wrote = await new AttemptWriter(h).write('gone000000000000000000', { n: 1, started_at: new Date().toISOString(), duration_ms: 1, status_code: 200, error: null, phase: null, response_excerpt: '' }, 'delivered', Date.now(), undefined);
    expect(wrote).toBe(false);
    expect(await ctx.stack.runtime.redis.exists(ctx.stack.runtime.keys.record('gone000000000000000000'))).toBe(0);
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'pub7-main' });
    const id = res.json.events[0].postbacks[0];
    const done = await ctx.stack.waitFinal(id);
    expect(await markFailedIfPending(h, id, 'other', Date.now())).toBe(false);
    expect((await ctx.stack.waitFinal(id)).status).toBe(done.status);
  });
});
