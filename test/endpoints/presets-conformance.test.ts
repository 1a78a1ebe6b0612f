import type { DeliveryJobData } from '../../src/queue/job-data.js';
import { createHash, createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { respond } from '../helpers/receiver.js';
import { useStack } from '../helpers/stack.js';

/**
 * One conformance test per seed document: each receiver is written from that document's
 * own example or field table, and checks what arrives through POST /v1/events.
 */
describe('seed network conformance', () => {
  const ctx = useStack({ RETRY_SCHEDULE: '0,0.1,0.1,0.1,0.1' });
  beforeEach(() => {
    ctx.receiver.requests.length = 0;
    ctx.receiver.responder = (_r, _i, res) => respond(200, 'OK')(res);
  });

  async function fire(events: Record<string, unknown>[]) {
    const res = await ctx.stack.post('/v1/events', { events });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const ids = (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
    const records = await Promise.all(ids.map((id) => ctx.stack.waitFinal(id)));
    return { res: res.json, records };
  }

  it('Monetag (seeds 000, 001): the Node example reads ymid, event_type, reward_event_type, estimated_price', async () => {
    // Seed 000, step 4: app.get('/postback', ...) reading req.query, rewarding only valued events.
    const rewarded: { ymid: string; amount: string }[] = [];
    ctx.receiver.responder = (r, _i, res) => {
      const q = Object.fromEntries(new URL(r.url, 'http://x').searchParams);
      if (q.value === 'valued') rewarded.push({ ymid: q.ymid!, amount: q.amount! });
      respond(200)(res); // res.sendStatus(200)
    };
    await ctx.stack.runtime.registry.upsert([
      {
        id: 'monetag-tma',
        publisher_id: 'tma-1',
        preset: 'monetag',
        // Seed 000, step 3: the example postback URL, verbatim but for the host.
        url: `${ctx.receiver.base}/postback?ymid={ymid}&zone={zone_id}&event={event_type}&value={reward_event_type}&amount={estimated_price}`,
      },
      { id: 'monetag-bare', publisher_id: 'tma-2', preset: 'monetag', url: `${ctx.receiver.base}/bare` },
    ]);
    const { res } = await fire([
      { id: 'm1', type: 'impression', publisher_id: 'tma-1', ymid: 'user123', zone_id: '9876543', payout: 0.0023 },
      { id: 'm2', type: 'click', publisher_id: 'tma-1', ymid: 'user124', zone_id: '9876543', payout: 0 },
      { id: 'm3', type: 'conversion', publisher_id: 'tma-1', ymid: 'user125', payout: 1 },
      // Seed 001's example request: every Monetag macro.
      { id: 'm4', type: 'click', publisher_id: 'tma-2', ymid: 'user123', zone_id: 'xxxxxx', sub_zone_id: '2', request_var: 'start_button', telegram_id: '123324', estimated_price: 0.0023 },
    ]);
    const urls = ctx.receiver.requests.map((r) => r.url).sort();
    expect(urls).toEqual([
      '/bare?ymid=user123&zone_id=xxxxxx&sub_zone_id=2&request_var=start_button&telegram_id=123324&event_type=click&reward_event_type=valued&estimated_price=0.0023',
      '/postback?ymid=user123&zone=9876543&event=impression&value=valued&amount=0.0023',
      '/postback?ymid=user124&zone=9876543&event=click&value=not_valued&amount=0',
    ]);
    expect(rewarded).toEqual([{ ymid: 'user123', amount: '0.0023' }]);
    // Monetag fires for impressions and clicks only.
    expect(res.events[2].skipped).toEqual([{ endpoint_id: 'monetag-tma', reason: 'event_type' }]);
  });

  it('Monetag: success only on 200, so a 204 is retried', async () => {
    ctx.receiver.responder = (_r, i, res) => respond(i === 0 ? 204 : 200)(res);
    await ctx.stack.runtime.registry.upsert([{ id: 'monetag-204', preset: 'monetag', url: `${ctx.receiver.base}/m204?ymid={ymid}` }]);
    const { records } = await fire([{ type: 'impression', endpoint_id: 'monetag-204', ymid: 'u', payout: 0.1 }]);
    expect(records[0]!.attempts.map((a) => [a.status_code, a.error])).toEqual([[204, 'http_status'], [200, null]]);
  });

  it('MomentScience (seed 002): GET macros incl. {any payload key}, and the recommended POST JSON', async () => {
    await ctx.stack.runtime.registry.upsert([
      // Seed 002's macro template URL.
      { id: 'ms-get', preset: 'momentscience', method: 'GET', url: `${ctx.receiver.base}/postbacks?payout={payout}&user_id={user_id}&offer_id={offer_id}&lb={is_loyaltyboost}` },
      { id: 'ms-post', preset: 'momentscience', url: `${ctx.receiver.base}/momentscience/postbacks` },
    ]);
    const event = {
      type: 'conversion', offer_id: '1511', advertiser_name: 'MomentScience', payout: 2.1,
      occurred_at: '2023-09-20T15:27:40.802Z', payload: { user_id: '3410444', session_id: 'a90310222' },
    };
    await fire([
      { ...event, id: 'ms1', endpoint_id: 'ms-get' },
      { ...event, id: 'ms2', endpoint_id: 'ms-post', is_loyaltyboost: true },
    ]);
    const get = ctx.receiver.requests.find((r) => r.method === 'GET')!;
    expect(get.url).toBe('/postbacks?payout=2.10&user_id=3410444&offer_id=1511&lb=0');
    const post = ctx.receiver.requests.find((r) => r.method === 'POST')!;
    expect(post.headers['content-type']).toBe('application/json');
    // The seed's field table: offer_id, advertiser_name, payout (string), timestamp, payload, is_loyaltyboost.
    const body = JSON.parse(post.body);
    expect(body).toMatchObject({
      offer_id: '1511', advertiser_name: 'MomentScience', payout: '2.10', timestamp: '2023-09-20T15:27:40.802Z',
      payload: { user_id: '3410444', session_id: 'a90310222' }, is_loyaltyboost: '1',
    });
    expect(typeof body.payout).toBe('string');
  });

  it('MomentScience: five attempts on 0/60/90/120/150 s, whatever RETRY_SCHEDULE says', async () => {
    ctx.receiver.responder = (_r, _i, res) => respond(500)(res);
    await ctx.stack.runtime.registry.upsert([{ id: 'ms-sched', preset: 'momentscience', url: `${ctx.receiver.base}/sched` }]);
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'ms-sched', payout: 1 });
    const id = res.json.events[0].postbacks[0];
    const job = await ctx.stack.runtime.queue.getJob(id);
    expect(job!.opts.attempts).toBe(5);
    expect((job!.data as DeliveryJobData).sch).toEqual([0, 60, 90, 120, 150]);
    const r = await ctx.stack.waitStatus(id, ['retrying']);
    expect(r.next_attempt_ms! - Date.parse(r.attempts[0]!.started_at)).toBeGreaterThanOrEqual(60_000);
    await job!.remove().catch(() => undefined);
  });

  it('MaxPPI (seed 004): all eleven macros, and each input alias of the external click id', async () => {
    await ctx.stack.runtime.registry.upsert([
      {
        id: 'maxppi-full', publisher_id: '7', preset: 'maxppi', security_token: 'secret_token_123',
        // Seed 004's "Full Details Format" plus the remaining macros.
        url: `${ctx.receiver.base}/postback?click_id={click_id}&external_id={external_id}&publisher_id={publisher_id}&payout={payout}&country={country}&ip={ip}&os={os}&device={device}&offer_id={offer_id}&smartlink_id={smartlink_id}&token={security_token}`,
      },
    ]);
    const conv = { type: 'conversion', publisher_id: '7', click_id: '12345', payout: 0.5, country: 'US', ip: '192.168.1.1', os: 'Windows', device: 'desktop', offer_id: '42', smartlink_id: '7' };
    await fire([
      { ...conv, id: 'x1', cid: 'YOUR_CLICK_ID_789' },
      { ...conv, id: 'x2', clickid: 'YOUR_CLICK_ID_790' },
      { ...conv, id: 'x3', external_id: 'YOUR_CLICK_ID_791' },
    ]);
    const seen = ctx.receiver.requests.map((r) => Object.fromEntries(new URL(r.url, 'http://x').searchParams));
    expect(seen.map((q) => q.external_id).sort()).toEqual(['YOUR_CLICK_ID_789', 'YOUR_CLICK_ID_790', 'YOUR_CLICK_ID_791']);
    for (const q of seen) {
      expect(q).toMatchObject({ click_id: '12345', publisher_id: '7', payout: '0.5', country: 'US', ip: '192.168.1.1', os: 'Windows', device: 'desktop', offer_id: '42', smartlink_id: '7', token: 'secret_token_123' });
    }
    expect(ctx.stack.runtime.registry.get('maxppi-full').timeoutMs).toBe(10_000);
    // The token never shows in history.
    const list = await ctx.stack.get(`/v1/postbacks/${(await ctx.stack.runtime.redis.zrange(ctx.stack.runtime.keys.index, -1, -1))[0]}`);
    expect(JSON.stringify(list.json)).not.toContain('secret_token_123');
  });

  it('advanced callback system (seed 003): one callback per state, renamed and static parameters, $0 off by default', async () => {
    await ctx.stack.runtime.registry.upsert([
      { id: 'adv-approved', publisher_id: 'adv', preset: 'advanced', url: `${ctx.receiver.base}/cb/approved`, states: ['approved'],
        params: { txn: '{event_id}', amount: '{payout}', state: '{state}', network: 'acme' } },
      { id: 'adv-reversed', publisher_id: 'adv', preset: 'advanced', url: `${ctx.receiver.base}/cb/reversed`, states: ['reversed'],
        params: { txn: '{event_id}', amount: '{payout}', st: '{state}' } },
      { id: 'adv-zero', publisher_id: 'adv0', preset: 'advanced', url: `${ctx.receiver.base}/cb/zero`, allow_zero_payout: true },
      { id: 'adv-nozero', publisher_id: 'adv0', preset: 'advanced', url: `${ctx.receiver.base}/cb/nozero` },
    ]);
    const { res } = await fire([
      { id: 'a1', type: 'reward', state: 'approved', publisher_id: 'adv', payout: 0.25 },
      { id: 'a2', type: 'reward', state: 'reversed', publisher_id: 'adv', payout: 0.25 },
      { id: 'a3', type: 'reward', state: 'pending', publisher_id: 'adv', payout: 0.25 },
      { id: 'a4', type: 'reward', state: 'approved', publisher_id: 'adv0', payout: 0 },
    ]);
    expect(ctx.receiver.requests.map((r) => r.url).sort()).toEqual([
      '/cb/approved?txn=a1&amount=0.25&state=approved&network=acme',
      '/cb/reversed?txn=a2&amount=0.25&st=reversed',
      '/cb/zero?event_id=a4&state=approved&payout=0',
    ]);
    expect(res.events[2].skipped).toEqual([
      { endpoint_id: 'adv-approved', reason: 'state' },
      { endpoint_id: 'adv-reversed', reason: 'state' },
    ]);
    expect(res.events[3].skipped).toEqual([{ endpoint_id: 'adv-nozero', reason: 'zero_payout' }]);
  });

  it('Standard Webhooks: verified by the standardwebhooks package, stable id, fresh signature per attempt; tampering is rejected', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const verifier = new Webhook(secret);
    const verdicts: string[] = [];
    ctx.receiver.responder = (r, i, res) => {
      try {
        verifier.verify(r.body, r.headers as Record<string, string>);
        verdicts.push('ok');
      } catch {
        verdicts.push('bad');
      }
      respond(i === 0 ? 500 : 200)(res);
    };
    await ctx.stack.runtime.registry.upsert([
      { id: 'sw', method: 'POST', url: `${ctx.receiver.base}/sw`, body: { id: '{event_id}', amount: '{payout}' }, signing: { scheme: 'standard-webhooks', secret } },
    ]);
    const { records } = await fire([{ id: 'sw1', type: 'conversion', endpoint_id: 'sw', payout: 3 }]);
    expect(records[0]!.status).toBe('delivered');
    expect(verdicts).toEqual(['ok', 'ok']);
    const [first, second] = ctx.receiver.requests;
    expect(first!.headers['webhook-id']).toBe(records[0]!.id);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    // Altered body, same headers: the reference verifier refuses it.
    expect(() => verifier.verify(first!.body.replace('3', '4'), first!.headers as Record<string, string>)).toThrow();
    expect(JSON.stringify(records[0])).not.toContain(secret.slice(6));
  });

  it('hash signing, recomputed independently: HMAC-SHA1 of the URL as sent, and md5 of id:user:amount:secret', async () => {
    await ctx.stack.runtime.registry.upsert([
      { id: 'h-url', url: `${ctx.receiver.base}/h1?id={event_id}&amount={payout}`, signing: { scheme: 'hash', algorithm: 'hmac-sha1', over: 'url', param: 'hash', secret: 'k3y5' } },
      { id: 'h-fields', url: `${ctx.receiver.base}/h2?id={event_id}&user={payload.user_id}&amount={payout}`,
        signing: { scheme: 'hash', algorithm: 'md5', over: ['event_id', 'payload.user_id', 'payout'], separator: ':', param: 'sig', secret: 'S3cret' } },
      { id: 'h-sha256', url: `${ctx.receiver.base}/h3?id={event_id}`, signing: { scheme: 'hash', algorithm: 'sha256', over: 'url', param: 'h', secret: 'zzzz' } },
    ]);
    const ev = { type: 'conversion', payout: 2.5, payload: { user_id: 'u-9' } };
    await fire([
      { ...ev, id: 'e1', endpoint_id: 'h-url' },
      { ...ev, id: 'e2', endpoint_id: 'h-fields' },
      { ...ev, id: 'e3', endpoint_id: 'h-sha256' },
    ]);
    const byPath = (p: string) => ctx.receiver.requests.find((r) => r.url.startsWith(p))!.url;
    const h1 = byPath('/h1');
    const [signed1, hash1] = h1.split('&hash=') as [string, string];
    expect(hash1).toBe(createHmac('sha1', 'k3y5').update(`${ctx.receiver.base}${signed1}`).digest('hex'));
    const h2 = new URL(byPath('/h2'), 'http://x').searchParams;
    expect(h2.get('sig')).toBe(createHash('md5').update('e2:u-9:2.5:S3cret').digest('hex'));
    const [signed3, hash3] = byPath('/h3').split('&h=') as [string, string];
    expect(hash3).toBe(createHash('sha256').update(`${ctx.receiver.base}${signed3}zzzz`).digest('hex'));
  });

  it('success rules: body_contains rejects a 200 without it', async () => {
    ctx.receiver.responder = (_r, i, res) => respond(200, i === 0 ? 'ERROR' : 'status=OK')(res);
    await ctx.stack.runtime.registry.upsert([{ id: 'bc', url: `${ctx.receiver.base}/bc`, success: { status: [200], body_contains: 'OK' } }]);
    const { records } = await fire([{ type: 'conversion', endpoint_id: 'bc' }]);
    expect(records[0]!.attempts.map((a) => [a.status_code, a.error])).toEqual([[200, 'body_mismatch'], [200, null]]);
  });

  it('delay_s holds the first attempt and shows in history', async () => {
    await ctx.stack.runtime.registry.upsert([{ id: 'late', url: `${ctx.receiver.base}/late`, delay_s: 0.3 }]);
    const t0 = Date.now();
    const { records } = await fire([{ type: 'conversion', endpoint_id: 'late' }]);
    expect(ctx.receiver.requests[0]!.at - t0).toBeGreaterThanOrEqual(300);
    expect(records[0]!.delay_s).toBe(0.3);
    const api = await ctx.stack.get(`/v1/postbacks/${records[0]!.id}`);
    expect(api.json.delay_s).toBe(0.3);
  });

  it('GET /v1/presets lists every preset with its macros', async () => {
    const res = await ctx.stack.get('/v1/presets');
    expect(res.json.presets.map((p: { name: string }) => p.name)).toEqual(['monetag', 'momentscience', 'maxppi', 'advanced']);
    expect(res.json.presets[2].macros).toHaveLength(11);
  });

  it('names the endpoint and position of a template error', async () => {
    const put = ctx.stack.runtime.registry.upsert([{ id: 'broken', url: `${ctx.receiver.base}/x?a={payout|nope}` }]);
    await expect(put).rejects.toThrow(/endpoint "broken": url unknown formatter "nope".*position \d+/);
  });
});
