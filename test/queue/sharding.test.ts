import { describe, expect, it } from 'vitest';
import { postgresHistoryEnv, usePerTestStacks, testPrefix, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait-until.js';
import { endpointIdsPerShard } from '../helpers/shard-endpoints.js';

async function send(stack: Stack, events: { id: string; endpoint_id: string }[]): Promise<string[]> {
  const res = await stack.post('/v1/events', { events: events.map((e) => ({ ...e, type: 'conversion' })) });
  expect(res.status).toBe(202);
  return (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
}

/** Keys under a shard prefix (SCAN: the test Redis is shared, each stack has its own prefix). */
async function keysUnder(stack: Stack, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[{}[\]*?]/g, (c) => `\\${c}`)}:*`;
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await stack.runtime.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

describe('QUEUE_SHARDS on one Redis node', () => {
  const t = usePerTestStacks();

  it('QUEUE_SHARDS=3: each endpoint on its shard (records, dedupe, queue); every postback delivered; one history over all shards', async () => {
    const stack = await t.start({ QUEUE_SHARDS: '3', BATCH_SIZE: '4' });
    const byShard = endpointIdsPerShard(3, 2);
    const endpointIds = byShard.flat();
    await stack.runtime.registry.upsert(endpointIds.map((id) => ({ id, url: `${t.receiver.base}/r/${id}?e={event_id}` })));
    const prefix = stack.config.queuePrefix;
    expect(stack.runtime.shards.shards.map((s) => s.prefix)).toEqual([`{${prefix}-0}`, `{${prefix}-1}`, `{${prefix}-2}`]);

    // Three produce calls, a few ms apart, each to every endpoint: creation times interleave across shards.
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      ids.push(...(await send(stack, endpointIds.map((endpoint_id) => ({ id: `ev-${round}-${endpoint_id}`, endpoint_id })))));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(ids).toHaveLength(18);
    for (const id of ids) expect((await stack.waitFinal(id)).status).toBe('delivered');
    expect(t.receiver.requests).toHaveLength(18);

    // Each record, dedupe key and queue key of an endpoint is on its endpoint's shard; nothing of a postback under the plain prefix.
    for (let s = 0; s < 3; s++) {
      const keys = await keysUnder(stack, `{${prefix}-${s}}`);
      for (const ep of byShard[s]!) expect(keys.some((k) => k.includes(`:dd:${ep}:`)), `${ep} dedupe on shard ${s}`).toBe(true);
      expect(keys.filter((k) => k.includes(':pb:'))).toHaveLength(6);
      expect(keys).toContain(`{${prefix}-${s}}:idx:created`);
    }
    const plain = await keysUnder(stack, prefix);
    expect(plain.filter((k) => /:(pb|dd|idx):|:deliveries/.test(k))).toEqual([]);
    expect(plain).toContain(`${prefix}:endpoints`);

    // A duplicate is caught on its shard.
    const again = await stack.post('/v1/events', { id: `ev-0-${endpointIds[4]}`, type: 'conversion', endpoint_id: endpointIds[4] });
    expect(again.json.events[0]).toMatchObject({ duplicate: true, postbacks: [] });

    // The list merges the shards newest first; paging by 4 with the cursor gives each row once, in the same order.
    const whole = await stack.get('/v1/postbacks?limit=100');
    const listed = (whole.json.items as { id: string; created_at: string }[]).map((i) => i.id);
    expect([...listed].sort()).toEqual([...ids].sort());
    // Ids are time-ordered, so newest first is descending id order.
    expect(listed).toEqual([...listed].sort().reverse());
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await stack.get(`/v1/postbacks?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      paged.push(...(page.json.items as { id: string }[]).map((i) => i.id));
      cursor = page.json.next_cursor as string | null;
    } while (cursor !== null);
    expect(paged).toEqual(listed);
    // A filter over the shards.
    const one = await stack.get(`/v1/postbacks?endpoint_id=${endpointIds[3]}`);
    expect((one.json.items as { endpoint_id: string }[]).map((i) => i.endpoint_id)).toEqual([endpointIds[3], endpointIds[3], endpointIds[3]]);

    // Detail and replay find the record on whichever shard holds it.
    for (const id of [ids[0]!, ids[3]!, ids[17]!]) {
      const detail = await stack.get(`/v1/postbacks/${id}`);
      expect(detail.status).toBe(200);
      expect(detail.json).toMatchObject({ id, status: 'delivered' });
    }
    expect((await stack.get('/v1/postbacks/000000000000000000000')).status).toBe(404);
    const replay = await stack.post(`/v1/postbacks/${ids[5]}/replay`, {});
    expect(replay.status).toBe(202);
    const replayed = await stack.waitFinal(replay.json.id as string);
    expect(replayed).toMatchObject({ status: 'delivered', endpoint_id: (await stack.get(`/v1/postbacks/${ids[5]}`)).json.endpoint_id });
    const bulk = await stack.post('/v1/postbacks/replay', { endpoint_id: endpointIds[0] });
    expect(bulk.json).toEqual({ enqueued: 3 });
    await waitUntil(() => t.receiver.requests.length === 22, 10_000, 'bulk replays delivered');

    // Queue depth and history size are summed over the shards.
    const metrics = await stack.get('/metrics');
    expect(metrics.text).toMatch(/^postback_history_records 22$/m);
  });

  it('WORKER_SHARDS: a worker consumes only its shards; another worker takes the rest', async () => {
    const prefix = testPrefix();
    const byShard = endpointIdsPerShard(3, 1);
    const producer = await t.start({ QUEUE_PREFIX: prefix, QUEUE_SHARDS: '3', WORKER_SHARDS: '0,2' });
    expect(producer.worker!.shards.map((s) => s.shard.prefix)).toEqual([`{${prefix}-0}`, `{${prefix}-2}`]);
    await producer.runtime.registry.upsert(byShard.flat().map((id) => ({ id, url: `${t.receiver.base}/w/${id}` })));
    const ids = await send(producer, byShard.flat().map((endpoint_id) => ({ id: `w-${endpoint_id}`, endpoint_id })));
    expect((await producer.waitFinal(ids[0]!)).status).toBe('delivered');
    expect((await producer.waitFinal(ids[2]!)).status).toBe('delivered');
    await new Promise((r) => setTimeout(r, 300));
    expect((await producer.runtime.historyStore.getRecord(ids[1]!))?.status).toBe('queued');
    const other = await t.start({ QUEUE_PREFIX: prefix, QUEUE_SHARDS: '3', WORKER_SHARDS: '1' });
    expect((await other.waitFinal(ids[1]!)).status).toBe('delivered');
    expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(byShard.flat().map((id) => `/w/${id}`).sort());
  });

  it('changing QUEUE_SHARDS 1 -> 3: postbacks queued with one shard still finish (DRAIN_QUEUE_SHARDS=1), new ones spread', async () => {
    const prefix = testPrefix();
    const byShard = endpointIdsPerShard(3, 1);
    const endpointIds = byShard.flat();
    // Before: one shard, no worker running (a backlog), one postback retrying on a flaky endpoint.
    let flaky = 0;
    t.receiver.responder = (r, _i, res) => {
      if (r.url.startsWith('/flaky') && flaky++ === 0) {
        res.statusCode = 500;
        res.end('busy');
        return;
      }
      res.end('OK');
    };
    const before = await t.start({ QUEUE_PREFIX: prefix, RETRY_SCHEDULE: '0,1,1' }, { worker: false });
    await before.runtime.registry.upsert([
      ...endpointIds.map((id) => ({ id, url: `${t.receiver.base}/d/${id}?e={event_id}` })),
      { id: 'flaky', url: `${t.receiver.base}/flaky?e={event_id}` },
    ]);
    const old = await send(before, [...endpointIds, ...endpointIds].map((endpoint_id, i) => ({ id: `old-${i}`, endpoint_id })));
    const oldFlaky = await send(before, [{ id: 'old-flaky', endpoint_id: 'flaky' }]);
    expect(await before.runtime.queue.count()).toBeGreaterThan(0);
    await before.close();

    // After: producers and workers with QUEUE_SHARDS=3; workers also drain the one-shard layout.
    const after = await t.start({ QUEUE_PREFIX: prefix, QUEUE_SHARDS: '3', DRAIN_QUEUE_SHARDS: '1', RETRY_SCHEDULE: '0,1,1' });
    expect(after.worker!.shards.map((s) => s.shard.prefix)).toEqual([`{${prefix}-0}`, `{${prefix}-1}`, `{${prefix}-2}`, prefix]);
    const fresh = await send(after, endpointIds.map((endpoint_id, i) => ({ id: `new-${i}`, endpoint_id })));
    // An event sent before the change is still a duplicate after it (the old layout's dedupe keys are looked up).
    const resent = await after.post('/v1/events', { events: [{ id: 'old-0', type: 'conversion', endpoint_id: endpointIds[0] }, { id: 'old-4', type: 'conversion', endpoint_id: endpointIds[1] }] });
    expect(resent.json.events).toMatchObject([{ duplicate: true, postbacks: [] }, { duplicate: true, postbacks: [] }]);
    for (const id of [...old, ...oldFlaky, ...fresh]) expect((await after.waitFinal(id)).status, id).toBe('delivered');
    expect((await after.runtime.historyStore.getRecord(oldFlaky[0]!))?.attempts).toHaveLength(2);
    // Old records stay on the old shard (readable: the list covers it); new ones are on their endpoints' shards.
    expect(await after.runtime.redis.exists(`${prefix}:pb:${old[0]}`)).toBe(1);
    for (let s = 0; s < 3; s++) expect(await after.runtime.redis.exists(`{${prefix}-${s}}:pb:${fresh[s]}`), `shard ${s}`).toBe(1);
    const listed = await after.get('/v1/postbacks?limit=100');
    expect((listed.json.items as { id: string }[]).map((i) => i.id).sort()).toEqual([...old, ...oldFlaky, ...fresh].sort());
    // The old layout's queues are empty: DRAIN_QUEUE_SHARDS can be dropped once its history is past retention.
    const drained = after.runtime.allShards[3]!;
    await waitUntil(async () => (await drained.queues.fast.count()) + (await drained.queues.slow.count()) === 0, 10_000, 'old shard drained');
  });

  it('QUEUE_SHARDS=3 with PostgreSQL history: each shard has its own outbox, flushed into the one table', async () => {
    const stack = await t.start({ QUEUE_SHARDS: '3', ...postgresHistoryEnv() });
    const endpointIds = endpointIdsPerShard(3, 1).flat();
    await stack.runtime.registry.upsert(endpointIds.map((id) => ({ id, url: `${t.receiver.base}/pg/${id}` })));
    const ids = await send(stack, endpointIds.map((endpoint_id) => ({ id: `pg-${endpoint_id}`, endpoint_id })));
    for (const id of ids) expect((await stack.waitFinal(id)).status).toBe('delivered');
    expect(stack.worker!.shards).toHaveLength(3);
    await stack.historySynced();
    const listed = await stack.get('/v1/postbacks');
    expect((listed.json.items as { id: string; status: string }[]).map((i) => [i.id, i.status])).toEqual([...ids].sort().reverse().map((id) => [id, 'delivered']));
    expect((await stack.get(`/v1/postbacks/${ids[1]}`)).json).toMatchObject({ id: ids[1], status: 'delivered' });
  });
});
