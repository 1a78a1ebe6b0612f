import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliveryQueue, type DeliveryQueue } from '../../src/queue/delivery-queue.js';
import { Producer } from '../../src/queue/producer.js';
import { ShardRouter } from '../../src/queue/shard.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

/** A loopback listener that accepts and never answers: a Redis that has stopped serving. */
async function deadListener(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A producer like the stack's, whose slow lane's queue sits on a connection that never answers. */
function producerWithStuckSlowLane(stack: Stack, slow: DeliveryQueue): Producer {
  const { runtime, config } = stack;
  const shard = runtime.shards.shards[0]!;
  return new Producer({
    redis: runtime.redis,
    keys: runtime.keys,
    shards: new ShardRouter([{ ...shard, queues: { fast: shard.queues.fast, slow } }]),
    health: runtime.health,
    registry: runtime.registry,
    defaultScheduleS: config.retryScheduleS,
    defaultTimeoutMs: config.requestTimeoutMs,
    dedupeTtlMs: 60_000,
    batchSize: config.batchSize,
  });
}

describe('enqueue undo: a produce call whose slow-lane write fails', () => {
  const t = usePerTestStacks();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c().catch(() => undefined);
  });

  it('keeps the fast lane postbacks it wrote, even once delivered and their job gone, and undoes only the slow lane ones (records and dedupe claims)', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' });
    await stack.runtime.registry.upsert([
      { id: 'good', url: `${t.receiver.base}/g?e={event_id}` },
      { id: 'sick', url: `${t.receiver.base}/s?e={event_id}` },
    ]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'sick', 'degraded');
    await stack.runtime.health.refresh();
    const dead = await deadListener();
    cleanups.push(dead.close);
    // The slow lane's addBulk hangs until its command times out, long after the worker
    // (running in the stack) delivered the fast lane's batch and BullMQ removed its job.
    const stuck = new Redis({ host: '127.0.0.1', port: dead.port, enableReadyCheck: false, commandTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
    stuck.on('error', () => undefined);
    const slow = createDeliveryQueue(stuck, stack.runtime.keys, 'slow');
    cleanups.push(async () => {
      await slow.close().catch(() => undefined);
      stuck.disconnect();
    });
    const producer = producerWithStuckSlowLane(stack, slow);
    const events = [0, 1, 2].flatMap((i) => [
      { id: `g-${i}`, type: 'conversion', endpoint_id: 'good' },
      { id: `s-${i}`, type: 'conversion', endpoint_id: 'sick' },
    ]);
    await expect(producer.produce(events, { batch: true })).rejects.toThrow();
    await t.receiver.waitFor(3);
    expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/g?e=g-0', '/g?e=g-1', '/g?e=g-2']);

    // The network sends the batch again after the error: the fast lane's events are
    // duplicates (kept: delivered once), the slow lane's are new (undone, so accepted again).
    const again = await stack.runtime.producer.produce(events, { batch: true });
    expect(again.map((r) => [r.duplicate === true, r.postbacks.length])).toEqual([
      [true, 0],
      [false, 1],
      [true, 0],
      [false, 1],
      [true, 0],
      [false, 1],
    ]);
    const list = await stack.get('/v1/postbacks?endpoint_id=good');
    expect((list.json as { items: { status: string }[] }).items.map((p) => p.status)).toEqual(['delivered', 'delivered', 'delivered']);
    for (const r of again.filter((x) => x.postbacks.length > 0)) expect((await stack.waitFinal(r.postbacks[0]!)).status).toBe('delivered');
    expect(t.receiver.requests).toHaveLength(6);
  });
});
