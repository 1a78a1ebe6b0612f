import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardPrefixes } from '../../src/redis/shards.js';
import { hashTagOf } from '../../src/config/schema.js';
import { ClusterTopology } from '../helpers/cluster-topology.js';
import { Receiver } from '../helpers/receiver.js';
import { endpointIdsPerShard } from '../helpers/shard-endpoints.js';
import { startStack, type Stack } from '../helpers/stack.js';

const SHARDS = 6;

/**
 * QUEUE_SHARDS=6 on the loopback 3-master cluster: each shard's hash tag is a slot of its
 * own, so the shards (and the work) are spread over the masters.
 */
describe('QUEUE_SHARDS=6 on a 3-master Redis Cluster', () => {
  const cluster = new ClusterTopology();
  let receiver: Receiver;
  let stack: Stack;
  let prefix = '';
  /** Shard prefix -> port of the master serving its slot. */
  const masterOf = new Map<string, number>();

  beforeAll(async () => {
    await cluster.start();
    receiver = new Receiver();
    await receiver.start();
    // Slots are hashes: pick the first prefix whose 6 shard tags land on all 3 masters (as an operator would check with CLUSTER KEYSLOT).
    for (let i = 0; prefix === ''; i++) {
      const candidate = `{pb${i}}`;
      const ports = new Map<string, number>();
      for (const p of shardPrefixes(candidate, SHARDS)) ports.set(p, (await cluster.shardOf(`${p}:x`)).master.port);
      if (new Set(ports.values()).size === 3) {
        prefix = candidate;
        for (const [p, port] of ports) masterOf.set(p, port);
      }
    }
    stack = await startStack({ REDIS_CLUSTER_NODES: cluster.nodesEnv, QUEUE_PREFIX: prefix, QUEUE_SHARDS: String(SHARDS), BATCH_SIZE: '5' });
    await stack.runtime.registry.upsert(endpointIdsPerShard(SHARDS, 1).flat().map((id) => ({ id, url: `${receiver.base}/c/${id}?e={event_id}` })));
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await receiver?.stop();
    await cluster.stop();
  });

  it('delivers to endpoints on every shard; every master holds keys, each on the master of its shard slot; history, detail and replay across shards', async () => {
    const endpointIds = endpointIdsPerShard(SHARDS, 1).flat();
    const events = endpointIds.flatMap((endpoint_id) => Array.from({ length: 5 }, (_, i) => ({ id: `c-${endpoint_id}-${i}`, type: 'conversion', endpoint_id })));
    const res = await stack.post('/v1/events', { events });
    expect(res.status, `${res.text} ${stack.logs.lines.filter((l) => l.includes('"err"')).slice(-3).join('\n')}`).toBe(202);
    const ids = (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
    expect(ids).toHaveLength(30);
    for (const id of ids) expect((await stack.waitFinal(id)).status).toBe('delivered');
    expect(receiver.requests).toHaveLength(30);

    const masters = cluster.nodes.filter((n) => [...masterOf.values()].includes(n.port));
    expect(masters).toHaveLength(3);
    const shardTags = new Set(shardPrefixes(prefix, SHARDS).map(hashTagOf));
    for (const master of masters) {
      const size = Number(await master.admin.dbsize());
      const keys = await master.admin.keys('*');
      expect(size, `DBSIZE of ${master.address}`).toBeGreaterThan(0);
      // Every key on a master is of a shard (or the global set) whose slot that master serves.
      for (const key of keys) {
        const tag = hashTagOf(key)!;
        if (shardTags.has(tag)) expect(masterOf.get(`{${tag}}`), key).toBe(master.port);
        else expect(tag, key).toBe(hashTagOf(prefix));
      }
      // Each master holds records (history) of its shards.
      expect(keys.filter((k) => k.includes(':pb:')).length, `records on ${master.address}`).toBeGreaterThan(0);
    }
    for (const p of shardPrefixes(prefix, SHARDS)) {
      const node = cluster.nodes.find((n) => n.port === masterOf.get(p))!;
      expect(Number(await node.admin.zcard(`${p}:idx:created`)), p).toBe(5);
    }

    const listed = await stack.get('/v1/postbacks?limit=1000');
    expect((listed.json.items as { id: string }[]).map((i) => i.id)).toEqual([...ids].sort().reverse());
    const page = await stack.get('/v1/postbacks?limit=7');
    const rest = await stack.get(`/v1/postbacks?limit=1000&cursor=${page.json.next_cursor}`);
    expect([...page.json.items, ...rest.json.items].map((i: { id: string }) => i.id)).toEqual([...ids].sort().reverse());
    expect((await stack.get(`/v1/postbacks/${ids[29]}`)).json).toMatchObject({ id: ids[29], status: 'delivered' });
    const replay = await stack.post(`/v1/postbacks/${ids[12]}/replay`, {});
    expect(replay.status).toBe(202);
    expect((await stack.waitFinal(replay.json.id as string)).status).toBe('delivered');
    expect((await stack.get('/metrics')).text).toMatch(/^postback_history_records 31$/m);
  }, 60_000);
});
