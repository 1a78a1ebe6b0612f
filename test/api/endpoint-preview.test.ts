import { beforeAll, describe, expect, it } from 'vitest';
import { useStack } from '../helpers/stack.js';

const OPERATOR = 'operator-key-preview';
const op = { authorization: `Bearer ${OPERATOR}` };
const TOKEN = 'tok-preview-SECRET-4d1';
const HEADER_SECRET = 'Bearer hdr-SECRET-77a';

/**
 * POST /v1/endpoints/preview against a real API and Redis: the request a definition would
 * send, rendered by the delivery's templates, secrets masked, scoped like PUT; and PUT's
 * "***" that keeps a stored secret.
 */
describe('endpoint preview', () => {
  const ctx = useStack({ API_KEYS: OPERATOR, RETRY_SCHEDULE: '0' });
  let key7: { authorization: string };
  const preview = (body: unknown, headers: Record<string, string> = op) => ctx.stack.post('/v1/endpoints/preview', body, headers);

  beforeAll(async () => {
    for (const [id, publisher] of [['ep7', '7'], ['ep8', '8']] as const) {
      const put = await ctx.stack.request('PUT', `/v1/endpoints/${id}`, { publisher_id: publisher, url: `${ctx.receiver.base}/${id}?t={security_token}&p={publisher_id}`, security_token: `${TOKEN}-${id}` }, op);
      expect(put.status).toBe(200);
    }
    const made = await ctx.stack.post('/v1/keys', { publisher_id: '7', name: 'preview test' }, op);
    expect(made.status).toBe(201);
    key7 = { authorization: `Bearer ${made.json.key}` };
  });

  it('renders a preset endpoint from its sample event, the secret masked, nothing stored', async () => {
    const res = await preview({ endpoint: { id: 'new-one', preset: 'maxppi', url: 'https://pub.example/pb', params: { token: '{security_token}', click: '{external_id}', pay: '{payout|fixed:2}' }, security_token: TOKEN } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      request: { method: 'GET', url: 'https://pub.example/pb?token=***&click=YOUR_CLICK_ID_789&pay=0.50', headers: {}, body: null },
      event: { type: 'conversion', cid: 'YOUR_CLICK_ID_789', payout: 0.5 },
      skipped: null,
      warnings: [],
    });
    expect(res.text).not.toContain(TOKEN);
    // The preset's own parameters apply to a bare URL, as in a delivery.
    const bare = await preview({ endpoint: { preset: 'maxppi', url: 'https://pub.example/pb' } });
    expect(bare.json.request.url).toBe('https://pub.example/pb?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US');
    expect((await ctx.stack.get('/v1/endpoints/new-one', op)).status).toBe(404);
  });

  it('renders POST bodies (the default shape and a template) and secret headers masked', async () => {
    const ms = await preview({ endpoint: { preset: 'momentscience', url: 'https://pub.example/ms' } });
    expect(ms.json.request.method).toBe('POST');
    expect(JSON.parse(ms.json.request.body)).toMatchObject({ offer_id: '1511', advertiser_name: 'MomentScience', payout: '2.10', is_loyaltyboost: '0', payload: { user_id: '3410444' } });
    const templated = await preview({
      endpoint: { method: 'POST', url: 'https://pub.example/t', body: { token: '{security_token}', p: '{payout}' }, security_token: TOKEN, headers: { authorization: HEADER_SECRET, 'x-plain': 'v' } },
      event: { type: 'lead', payout: 3 },
    });
    expect(templated.status).toBe(200);
    expect(JSON.parse(templated.json.request.body)).toEqual({ token: '***', p: 3 });
    expect(templated.json.request.headers).toMatchObject({ authorization: '***', 'x-plain': 'v', 'content-type': 'application/json' });
    expect(templated.text).not.toContain(TOKEN);
    expect(templated.text).not.toContain('hdr-SECRET');
  });

  it('says when the event would not fire the endpoint', async () => {
    const skipped = await preview({ endpoint: { url: 'https://pub.example/x', events: ['conversion'] }, event: { type: 'lead' } });
    expect(skipped.json.skipped).toBe('event_type');
    const zero = await preview({ endpoint: { url: 'https://pub.example/x' }, event: { type: 'lead', payout: 0 } });
    expect(zero.json.skipped).toBe('zero_payout');
  });

  it.each<[string, unknown, string, RegExp]>([
    ['a URL of another scheme', { endpoint: { url: 'ftp://pub.example/x' } }, 'endpoint.url', /http or https, got "ftp:"/],
    ['an unclosed macro', { endpoint: { url: 'https://pub.example/?a={oops' } }, 'endpoint.url', /./],
    ['a bad event type filter', { endpoint: { url: 'https://pub.example/', events: ['Conversion!'] } }, 'endpoint.events[0]', /"Conversion!"/],
    ['an unknown preset', { endpoint: { url: 'https://pub.example/', preset: 'nope' } }, 'endpoint.preset', /unknown preset "nope"/],
    ['a bad endpoint id', { endpoint: { id: 'a b', url: 'https://pub.example/' } }, 'endpoint.id', /"a b"/],
    ['a bad event', { endpoint: { url: 'https://pub.example/' }, event: { type: 'Bad Type' } }, 'event.type', /"Bad Type"/],
    ['no endpoint', { event: { type: 'lead' } }, 'endpoint', /undefined/],
    ['an event that is no object', { endpoint: { url: 'https://pub.example/' }, event: 'lead' }, 'event', /"lead"/],
    ['"***" for a token nothing stores', { endpoint: { url: 'https://pub.example/', security_token: '***' } }, 'endpoint.security_token', /none to keep/],
  ])('answers 400 for %s, naming the field and value', async (_name, body, path, message) => {
    const res = await preview(body);
    expect(res.status).toBe(400);
    const detail = (res.json.details as { path: string; message: string }[]).find((d) => d.path === path);
    expect(detail, JSON.stringify(res.json)).toBeDefined();
    expect(detail!.message).toMatch(message);
  });

  it('masks secrets in a rendering error too (a raw URL macro that is no http URL), as the test route does', async () => {
    const def = { url: '{security_token|raw}', security_token: `not-a-url-${TOKEN}` };
    const res = await preview({ endpoint: def, event: { type: 'lead' } });
    expect(res.status).toBe(400);
    expect(res.json.details[0]).toMatchObject({ path: 'url' });
    expect(res.json.details[0].message).toContain('***');
    expect(res.text).not.toContain(TOKEN);
    expect((await ctx.stack.request('PUT', '/v1/endpoints/raw-url', def, op)).status).toBe(200);
    const tested = await ctx.stack.post('/v1/endpoints/raw-url/test', {}, op);
    expect(tested.status).toBe(400);
    expect(tested.text).not.toContain(TOKEN);
  });

  it('keeps a stored secret given as "***", masked in the preview', async () => {
    const url = `${ctx.receiver.base}/ep7?t={security_token}`;
    const kept = await preview({ endpoint: { id: 'ep7', url, security_token: '***' } });
    expect(kept.json.request.url).toBe(`${ctx.receiver.base}/ep7?t=***`);
    const dropped = await preview({ endpoint: { id: 'ep7', url } });
    expect(dropped.json.request.url).toBe(`${ctx.receiver.base}/ep7?t=`);
    expect(kept.text + dropped.text).not.toContain(TOKEN);
  });

  it('confines a publisher key to its own publisher', async () => {
    const own = await preview({ endpoint: { id: 'ep7', url: `${ctx.receiver.base}/ep7?t={security_token}&p={publisher_id}`, security_token: '***' }, event: { type: 'lead' } }, key7);
    expect(own.status).toBe(200);
    expect(own.json.request.url).toBe(`${ctx.receiver.base}/ep7?t=***&p=7`);
    // A new endpoint without a publisher is the key's.
    const fresh = await preview({ endpoint: { url: 'https://pub.example/?p={publisher_id}' }, event: { type: 'lead' } }, key7);
    expect(fresh.json.request.url).toBe('https://pub.example/?p=7');
    // Another publisher's id: refused, naming the field and the value.
    const other = await preview({ endpoint: { publisher_id: '8', url: 'https://pub.example/' } }, key7);
    expect(other.status).toBe(400);
    expect(other.json.details).toEqual([{ path: 'endpoint.publisher_id', message: 'must be the key\'s publisher "7" (or left out), got "8"' }]);
    // Another publisher's stored endpoint (its secret with it): not found.
    const theirs = await preview({ endpoint: { id: 'ep8', url: `${ctx.receiver.base}/x?t={security_token}`, security_token: '***' } }, key7);
    expect(theirs.status).toBe(404);
    expect(theirs.text).not.toContain(TOKEN);
  });

  it('PUT keeps secrets given as "***": a definition read back from GET and written again still delivers them', async () => {
    const def = {
      publisher_id: '9',
      url: `${ctx.receiver.base}/rt?t={security_token}`,
      security_token: TOKEN,
      headers: { authorization: HEADER_SECRET, 'x-plain': 'v' },
      signing: { scheme: 'standard-webhooks', secret: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4OTA=' },
    };
    expect((await ctx.stack.request('PUT', '/v1/endpoints/rt', def, op)).status).toBe(200);
    const { health: _health, ...read } = (await ctx.stack.get('/v1/endpoints/rt', op)).json;
    expect(read).toMatchObject({ security_token: '***', headers: { authorization: '***' }, signing: { secret: '***' } });
    const put = await ctx.stack.request('PUT', '/v1/endpoints/rt', { ...read, url: `${ctx.receiver.base}/rt2?t={security_token}` }, op);
    expect(put.status).toBe(200);
    expect(put.text).not.toContain(TOKEN);
    const before = ctx.receiver.requests.length;
    const tested = await ctx.stack.post('/v1/endpoints/rt/test', {}, op);
    expect(tested.json.ok).toBe(true);
    const got = ctx.receiver.requests[before]!;
    expect(got.url).toBe(`/rt2?t=${TOKEN}`);
    expect(got.headers.authorization).toBe(HEADER_SECRET);
    expect(got.headers['webhook-signature']).toMatch(/^v1,/);
    // "***" where nothing is stored is refused, naming the field.
    const fresh = await ctx.stack.request('PUT', '/v1/endpoints/rt-new', { url: 'https://pub.example/', security_token: '***' }, op);
    expect(fresh.status).toBe(400);
    expect(fresh.json.details[0].path).toBe('endpoint.security_token');
  });

  it('tells a key what it is (GET /v1/whoami)', async () => {
    expect((await ctx.stack.get('/v1/whoami', op)).json).toEqual({ kind: 'operator' });
    expect((await ctx.stack.get('/v1/whoami', key7)).json).toMatchObject({ kind: 'publisher', publisher_id: '7' });
    expect((await ctx.stack.get('/v1/whoami')).status).toBe(401);
  });
});
