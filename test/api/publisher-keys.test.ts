import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { Receiver } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

const OPERATOR = 'operator-key-0123';
const op = { authorization: `Bearer ${OPERATOR}` };

/** Publisher keys (SPEC: Keys): a key of publisher 7 sees and acts on publisher 7's postbacks and endpoints only. */
describe('publisher keys', () => {
  let receiver: Receiver;
  let stack: Stack;
  let key7: { id: string; key: string };
  let key8: { id: string; key: string };
  let p7: string;
  let p8: string;
  const as = (key: { key: string }) => ({ authorization: `Bearer ${key.key}` });

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    stack = await startStack({ API_KEYS: OPERATOR });
    for (const [id, publisher] of [['ep7', '7'], ['ep8', '8']] as const) {
      const res = await stack.request('PUT', `/v1/endpoints/${id}`, { publisher_id: publisher, url: `${receiver.base}/${id}?e={event_id}`, security_token: `secret-${id}` }, op);
      expect(res.status).toBe(200);
    }
    const made = await Promise.all(['7', '8'].map((publisher) => stack.request('POST', '/v1/keys', { publisher_id: publisher, name: `portal ${publisher}` }, op)));
    expect(made.map((r) => r.status)).toEqual([201, 201]);
    [key7, key8] = made.map((r) => r.json as { id: string; key: string }) as [typeof key7, typeof key8];
    const sent = await stack.request('POST', '/v1/events', { events: [{ id: 'e7', type: 'conversion', endpoint_id: 'ep7' }, { id: 'e8', type: 'conversion', endpoint_id: 'ep8' }] }, op);
    [p7, p8] = (sent.json.events as { postbacks: string[] }[]).map((e) => e.postbacks[0]!) as [string, string];
    await Promise.all([stack.waitFinal(p7), stack.waitFinal(p8)]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('shows a made key once, lists keys without it, and stores only a digest', async () => {
    expect(key7.key).toMatch(/^pbk_[A-Za-z0-9_-]{32}$/);
    const listed = await stack.request('GET', '/v1/keys', undefined, op);
    expect(listed.status).toBe(200);
    expect(listed.json.keys).toEqual(expect.arrayContaining([expect.objectContaining({ id: key7.id, publisher_id: '7', name: 'portal 7' })]));
    expect(listed.text).not.toContain(key7.key);
    const stored = JSON.stringify(await stack.runtime.redis.hgetall(stack.runtime.keys.publisherKeys));
    expect(stored).not.toContain(key7.key);
    const bad = await stack.request('POST', '/v1/keys', { publisher_id: 'a b' }, op);
    expect(bad.status).toBe(400);
    expect(bad.json.details[0].path).toBe('publisher_id');
  });

  // Every route a publisher key may use, pointed at the other publisher's postback or endpoint: 404, and nothing changes.
  const otherPublisher: [string, string, () => unknown][] = [
    ['GET', '/v1/postbacks/{p8}', () => undefined],
    ['POST', '/v1/postbacks/{p8}/replay', () => ({})],
    ['GET', '/v1/endpoints/ep8', () => undefined],
    ['PUT', '/v1/endpoints/ep8', () => ({ url: 'https://takeover.example/x' })],
    ['DELETE', '/v1/endpoints/ep8', () => undefined],
    ['POST', '/v1/endpoints/ep8/test', () => ({})],
    ['POST', '/v1/endpoints/preview', () => ({ endpoint: { id: 'ep8', url: 'https://takeover.example/x?t={security_token}', security_token: '***' } })],
    ['POST', '/v1/endpoints/ep8/disable', () => ({})],
    ['POST', '/v1/endpoints/ep8/enable', () => ({})],
  ];
  it.each(otherPublisher)('%s %s with publisher 7\'s key is 404', async (method, path, body) => {
    const res = await stack.request(method, path.replace('{p8}', p8), body(), as(key7));
    expect(res.status).toBe(404);
    // Still there, unchanged, for its own publisher.
    expect((await stack.request('GET', '/v1/endpoints/ep8', undefined, as(key8))).json).toMatchObject({ publisher_id: '8', url: `${receiver.base}/ep8?e={event_id}`, health: { state: 'healthy' } });
  });

  it('confines lists, CSV and bulk replay to the key\'s publisher', async () => {
    const list = await stack.request('GET', '/v1/postbacks', undefined, as(key7));
    expect(list.json.items.map((i: { id: string }) => i.id)).toEqual([p7]);
    expect((await stack.request('GET', '/v1/postbacks?publisher_id=8', undefined, as(key7))).json).toEqual({ items: [], next_cursor: null });
    expect((await stack.request('GET', '/v1/postbacks?endpoint_id=ep8', undefined, as(key7))).json.items).toEqual([]);
    const csv = await stack.request('GET', '/v1/postbacks.csv', undefined, as(key7));
    expect(csv.text).toContain(p7);
    expect(csv.text).not.toContain(p8);
    expect((await stack.request('GET', '/v1/postbacks.csv?publisher_id=8', undefined, as(key7))).text.trim().split('\n')).toHaveLength(1);
    expect((await stack.request('GET', '/v1/endpoints', undefined, as(key7))).json.endpoints.map((e: { id: string }) => e.id)).toEqual(['ep7']);
    expect((await stack.request('POST', '/v1/postbacks/replay', { publisher_id: '8' }, as(key7))).json).toEqual({ enqueued: 0 });
    expect((await stack.request('POST', '/v1/postbacks/replay', { endpoint_id: 'ep8' }, as(key7))).json).toEqual({ enqueued: 0 });
    // The operator sees both.
    expect((await stack.request('GET', '/v1/postbacks', undefined, op)).json.items.map((i: { id: string }) => i.id).sort()).toEqual([p7, p8].sort());
  });

  it.each<[string, string, unknown]>([
    ['POST', '/v1/events', { type: 'conversion', endpoint_id: 'ep7' }],
    ['POST', '/v1/keys', { publisher_id: '7' }],
    ['GET', '/v1/keys', undefined],
    ['DELETE', '/v1/keys/{key8}', undefined],
    ['GET', '/v1/audit', undefined],
  ])('%s %s is for operators: 403 with a publisher key', async (method, path, body) => {
    const res = await stack.request(method, path.replace('{key8}', key8.id), body, as(key7));
    expect(res.status).toBe(403);
    expect(res.json.error).toMatch(/needs an operator key/);
  });

  it('lets a publisher key read, replay, test, switch and change its own endpoints, which stay its own', async () => {
    expect((await stack.request('GET', `/v1/postbacks/${p7}`, undefined, as(key7))).json).toMatchObject({ id: p7, publisher_id: '7' });
    const replay = await stack.request('POST', `/v1/postbacks/${p7}/replay`, {}, as(key7));
    expect(replay.status).toBe(202);
    expect((await stack.waitFinal(replay.json.id)).status).toBe('delivered');
    expect((await stack.request('POST', '/v1/endpoints/ep7/test', {}, as(key7))).json.ok).toBe(true);
    expect((await stack.request('POST', '/v1/endpoints/ep7/disable', {}, as(key7))).json.health.state).toBe('disabled');
    expect((await stack.request('POST', '/v1/endpoints/ep7/enable', {}, as(key7))).json.health.state).toBe('healthy');
    const changed = await stack.request('PUT', '/v1/endpoints/ep7', { method: 'POST', url: `${receiver.base}/ep7-v2` }, as(key7));
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ id: 'ep7', publisher_id: '7', method: 'POST' });
    const made = await stack.request('PUT', '/v1/endpoints/ep7-new', { url: `${receiver.base}/new` }, as(key7));
    expect(made.json.publisher_id).toBe('7');
    const refused = await stack.request('PUT', '/v1/endpoints/ep7-other', { publisher_id: '8', url: `${receiver.base}/x` }, as(key7));
    expect(refused.status).toBe(400);
    expect(refused.json.details[0].path).toBe('endpoint.publisher_id');
    expect((await stack.request('DELETE', '/v1/endpoints/ep7-new', undefined, as(key7))).status).toBe(204);
  });

  it('writes who did what to the audit log (operators read it), never a key', async () => {
    const audit = await stack.request('GET', '/v1/audit?limit=1000', undefined, op);
    expect(audit.status).toBe(200);
    const entries = audit.json.items as { actor: string; action: string; target: string; publisher_id?: string }[];
    const fingerprint = entries.find((e) => e.action === 'key.create')!.actor;
    expect(fingerprint).toMatch(/^operator:[0-9a-f]{8}$/);
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'key.create', target: key7.id, publisher_id: '7' }),
        expect.objectContaining({ action: 'endpoint.put', target: 'ep7', actor: `publisher:${key7.id}`, publisher_id: '7' }),
        expect.objectContaining({ action: 'endpoint.disable', target: 'ep7', actor: `publisher:${key7.id}` }),
        expect.objectContaining({ action: 'endpoint.delete', target: 'ep7-new', actor: `publisher:${key7.id}` }),
        expect.objectContaining({ action: 'postback.replay', target: p7, actor: `publisher:${key7.id}` }),
      ]),
    );
    // Newest first, paged.
    const first = await stack.request('GET', '/v1/audit?limit=2', undefined, op);
    const next = await stack.request('GET', `/v1/audit?limit=2&cursor=${first.json.next_cursor as string}`, undefined, op);
    expect(next.json.items[0].id < first.json.items[1].id).toBe(true);
    expect(audit.text).not.toContain(key7.key);
    expect(audit.text).not.toContain(OPERATOR);
  });

  it('refuses a revoked key, an unknown one and none at all (401)', async () => {
    const spare = (await stack.request('POST', '/v1/keys', { publisher_id: '7', name: 'spare' }, op)).json as { id: string; key: string };
    expect((await stack.request('GET', '/v1/postbacks', undefined, as(spare))).status).toBe(200);
    expect((await stack.request('DELETE', `/v1/keys/${spare.id}`, undefined, op)).status).toBe(204);
    expect((await stack.request('GET', '/v1/postbacks', undefined, as(spare))).status).toBe(401);
    expect((await stack.request('GET', '/v1/postbacks', undefined, { authorization: 'Bearer pbk_unknown' })).status).toBe(401);
    expect((await stack.request('GET', '/v1/postbacks')).status).toBe(401);
    expect((await stack.request('DELETE', `/v1/keys/${spare.id}`, undefined, op)).status).toBe(404);
  });

  it('postback keys create | list | revoke (CLI, on Redis): the key works against the API until revoked', async () => {
    const env = { REDIS_URL: stack.config.redisUrl!, QUEUE_PREFIX: stack.config.queuePrefix };
    const made = await runCli(['keys', 'create', '--publisher', '8', '--name', 'from cli', '--json'], env);
    expect(made.code, made.stderr).toBe(0);
    const key = JSON.parse(made.stdout) as { id: string; key: string };
    expect((await stack.request('GET', '/v1/endpoints', undefined, as(key))).json.endpoints.map((e: { id: string }) => e.id)).toEqual(['ep8']);
    const listed = await runCli(['keys', 'list', '--publisher', '8'], env);
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);
    expect((await runCli(['keys', 'revoke', key.id], env)).code).toBe(0);
    expect((await stack.request('GET', '/v1/endpoints', undefined, as(key))).status).toBe(401);
    expect((await runCli(['keys', 'revoke', key.id], env)).code).toBe(1);
    expect((await runCli(['keys', 'create'], env)).code).toBe(2);
  });
});
