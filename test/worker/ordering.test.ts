import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/worker/worker-service.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { HISTORY_STORES, startStack, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait-until.js';

/** The states each key's requests arrived with, repeats of one state folded (a retry, an at-least-once resend). */
function arrivalOrder(receiver: Receiver, path: string): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const r of receiver.requests) {
    const url = new URL(r.url, 'http://x');
    if (url.pathname !== path) continue;
    const key = url.searchParams.get('click') ?? '';
    const state = url.searchParams.get('state') ?? '';
    const seen = byKey.get(key) ?? [];
    if (seen.at(-1) !== state) seen.push(state);
    byKey.set(key, seen);
  }
  return byKey;
}

const event = (click: string, state: string, extra: Record<string, unknown> = {}) => ({ id: `${click}-${state}`, type: 'conversion', state, click_id: click, endpoint_id: 'ordered', ...extra });

// Ordering holds on either history store, and per shard: the plain layout, and the endpoints spread over 3 shards.
const VARIANTS: readonly [string, string, () => Record<string, string>][] = [
  ['redis', '1', () => ({})],
  ['redis', '3', () => ({})],
  ['postgres', '1', HISTORY_STORES.find(([name]) => name === 'postgres')![1]],
];
describe.each(VARIANTS)('ordering (ordering_key), %s history, QUEUE_SHARDS=%s', (_store, queueShards, storeEnv) => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // Failing first attempts here are on purpose: not a reason to open the endpoint's circuit.
    stack = await startStack({ RETRY_SCHEDULE: '0,0.4,0.4,0.4,0.4', CIRCUIT_FAILURES: '1000', AUTO_DISABLE_FAILURES: '0', SLOW_ENDPOINT_MS: '10000', QUEUE_SHARDS: queueShards, ...storeEnv() });
    await stack.runtime.registry.upsert([
      { id: 'ordered', ordering_key: '{click_id}', url: `${receiver.base}/ordered?click={click_id}&state={state}` },
      { id: 'free', url: `${receiver.base}/free?click={click_id}&state={state}` },
    ]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });
  afterEach(() => {
    receiver.responder = (_r, _i, res) => respond(200, 'OK')(res);
  });

  it('holds a reversal behind its flaky approval (waiting_for, no attempt used) and sends it once the approval is delivered', async () => {
    let approvalsSeen = 0;
    receiver.responder = (r, _i, res) => {
      if (r.url.includes('click=c1&state=approved') && approvalsSeen++ < 2) return respond(500, 'busy')(res);
      respond(200, 'OK')(res);
    };
    const approval = (await stack.post('/v1/events', event('c1', 'approved'))).json.events[0].postbacks[0] as string;
    await stack.waitStatus(approval, ['retrying']);
    const reversal = (await stack.post('/v1/events', event('c1', 'reversed'))).json.events[0].postbacks[0] as string;
    // The approval joined its chain at the head: its job never asks for the turn; the reversal's does.
    const { queues } = stack.runtime.shards.of('ordered');
    const jobData = async (id: string) => (await queues.fast.getJob(id))?.data ?? (await queues.slow.getJob(id))?.data;
    expect(await jobData(approval)).not.toHaveProperty('oc');
    expect(await jobData(reversal)).toMatchObject({ oc: 1 });
    // Another key of the same endpoint is not held back.
    const other = (await stack.post('/v1/events', event('c2', 'approved'))).json.events[0].postbacks[0] as string;
    expect((await stack.waitFinal(other)).status).toBe('delivered');

    await waitUntil(async () => (await stack.get(`/v1/postbacks/${reversal}`)).json.waiting_for === approval, 5000, 'reversal waiting for the approval');
    const waiting = (await stack.get(`/v1/postbacks/${reversal}`)).json;
    expect(waiting).toMatchObject({ status: 'queued', attempts: [], ordering_key: 'c1', waiting_for: approval });

    expect((await stack.waitFinal(approval)).attempts).toHaveLength(3);
    const done = await stack.waitFinal(reversal);
    expect(done.status).toBe('delivered');
    expect(done.attempts).toHaveLength(1); // waiting used no attempt
    expect(done.waiting_for).toBeUndefined();
    expect(arrivalOrder(receiver, '/ordered').get('c1')).toEqual(['approved', 'reversed']);
    // Woken when the approval was delivered, not by its fallback look seconds later.
    const approvedAt = receiver.requests.filter((r) => r.url.includes('click=c1&state=approved')).at(-1)!.at;
    const reversedAt = receiver.requests.find((r) => r.url.includes('click=c1&state=reversed'))!.at;
    expect(reversedAt - approvedAt).toBeLessThan(1500);
    // The chain is gone with its last member.
    expect(await stack.runtime.redis.exists(stack.runtime.shards.of('ordered').keys.chain('ordered', 'c1'))).toBe(0);
  });

  it('sends the states of one key from one batch in enqueue order, each key on its own, while unordered endpoints go at once', async () => {
    const seen = new Set<string>();
    // Every key's first state fails once: what follows it must wait, in order.
    receiver.responder = (r, _i, res) => {
      const url = new URL(r.url, 'http://x');
      const tag = `${url.pathname}:${url.searchParams.get('click')}:${url.searchParams.get('state')}`;
      if (url.pathname === '/ordered' && url.searchParams.get('state') === 'pending' && !seen.has(tag)) {
        seen.add(tag);
        return respond(503, 'later')(res);
      }
      respond(200, 'OK')(res);
    };
    const states = ['pending', 'approved', 'reversed'];
    const events = states.flatMap((state) => ['b1', 'b2', 'b3', 'b4'].flatMap((click) => [event(click, state), event(click, state, { endpoint_id: 'free' })]));
    const res = await stack.post('/v1/events', { events });
    expect(res.status).toBe(202);
    const ids = (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
    expect(ids).toHaveLength(24);
    const records = await Promise.all(ids.map((id) => stack.waitFinal(id)));
    expect(records.map((r) => `${r.event_id}:${r.status}`).filter((s) => !s.endsWith(':delivered'))).toEqual([]);
    const order = arrivalOrder(receiver, '/ordered');
    for (const click of ['b1', 'b2', 'b3', 'b4']) expect(order.get(click)).toEqual(states);
    // Unordered: the failing first state did not hold anything back there.
    const free = records.filter((r) => r.endpoint_id === 'free');
    expect(free.every((r) => r.attempts.length === 1)).toBe(true);
  });

  it('puts a replay at the end of its key\'s chain', async () => {
    const first = (await stack.post('/v1/events', event('r1', 'approved'))).json.events[0].postbacks[0] as string;
    expect((await stack.waitFinal(first)).status).toBe('delivered');
    let rejected = 0;
    receiver.responder = (r, _i, res) => (r.url.includes('click=r1&state=reversed') && rejected++ < 2 ? respond(500, 'no')(res) : respond(200, 'OK')(res));
    const reversal = (await stack.post('/v1/events', event('r1', 'reversed'))).json.events[0].postbacks[0] as string;
    await stack.waitStatus(reversal, ['retrying']);
    const replay = (await stack.post(`/v1/postbacks/${first}/replay`, {})).json.id as string;
    expect((await stack.waitFinal(replay)).status).toBe('delivered');
    expect((await stack.waitFinal(reversal)).status).toBe('delivered');
    // approved, then the reversal (after its retries), then the replayed approval.
    expect(arrivalOrder(receiver, '/ordered').get('r1')).toEqual(['approved', 'reversed', 'approved']);
    expect((await stack.get(`/v1/postbacks/${replay}`)).json).toMatchObject({ replay_of: first, ordering_key: 'r1' });
  });

  it('isolates endpoints: a dead endpoint\'s chain does not hold the same key on another endpoint', async () => {
    await stack.runtime.registry.upsert([
      { id: 'ordered-dead', ordering_key: '{click_id}', timeout_ms: 1000, url: `${receiver.base}/dead?click={click_id}&state={state}` },
    ]);
    receiver.responder = (r, _i, res) => (r.url.startsWith('/dead') ? 'hang' : respond(200, 'OK')(res));
    const dead = (await stack.post('/v1/events', event('d1', 'approved', { endpoint_id: 'ordered-dead' }))).json.events[0].postbacks[0] as string;
    await stack.waitStatus(dead, ['retrying']);
    const ids = (await stack.post('/v1/events', { events: [event('d1', 'approved'), event('d1', 'reversed')] })).json.events.flatMap((e: { postbacks: string[] }) => e.postbacks) as string[];
    const records = await Promise.all(ids.map((id) => stack.waitFinal(id, 5000)));
    expect(records.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect((await stack.runtime.historyStore.getRecord(dead))?.status).toBe('retrying');
  });
});

describe('ordering: a crash never blocks a key', () => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    stack = await startStack({ RETRY_SCHEDULE: '0,0.3,0.3' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ordered', ordering_key: '{click_id}', url: `${receiver.base}/ordered?click={click_id}&state={state}` }]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('skips an earlier postback whose record and job were lost, and delivers the next one', async () => {
    const [lost, next] = (await stack.post('/v1/events', { events: [event('x1', 'approved'), event('x1', 'reversed')] })).json.events.flatMap(
      (e: { postbacks: string[] }) => e.postbacks,
    ) as string[];
    // The earlier postback vanishes (its record expired, its job lost): the chain still names it.
    await stack.runtime.redis.del(stack.runtime.keys.record(lost!));
    expect(await stack.runtime.redis.lrange(stack.runtime.keys.chain('ordered', 'x1'), 0, -1)).toEqual([lost, next]);
    const worker = startWorker(stack.runtime);
    try {
      expect((await stack.waitFinal(next!, 5000)).status).toBe('delivered');
      expect(receiver.requests.map((r) => r.url)).toEqual(['/ordered?click=x1&state=reversed']);
      expect(await stack.runtime.redis.exists(stack.runtime.keys.chain('ordered', 'x1'))).toBe(0);
    } finally {
      await worker.close();
    }
  });
});
