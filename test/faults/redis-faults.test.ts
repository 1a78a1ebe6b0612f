import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, batchesOf, sendLoad } from '../helpers/load.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** At-least-once when Redis itself goes away: restarted mid-load, or unreachable for 10 s. */
describe('Redis faults under load', () => {
  let redis: RedisProcess;
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    redis = new RedisProcess();
    await redis.start();
    receiver = new Receiver();
    await receiver.start();
    receiver.responder = (_r, _i, res) => void setTimeout(() => respond(200)(res), 10);
    stack = await startStack({
      REDIS_URL: redis.url,
      WORKER_CONCURRENCY: '20',
      PER_ORIGIN_CONCURRENCY: '20',
      WORKER_LOCK_MS: '4000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      RETRY_SCHEDULE: '0,0.2,0.2,0.2,0.2',
      // Batched traffic: each request of 100 events makes two batch jobs.
      BATCH_SIZE: '50',
    });
    await stack.runtime.registry.upsert([{ id: 'load', url: `${receiver.base}/load?e={event_id}` }]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
    await redis.stop();
  });

  it('Redis restarted mid-load (AOF on): every event reaches a final state, delivered', async () => {
    const ids = await sendLoad(stack, 'load', 'restart', 400);
    expect(await batchesOf(stack, ids)).toEqual({ batched: 400, batches: 8 });
    await receiver.waitFor(100);
    await redis.restart(500);
    const result = await account(stack, ids, receiver, 'restart', 60_000);
    console.info('Redis restart:', JSON.stringify(result));
    expect(result).toMatchObject({ delivered: 400, failed: 0, distinctReceived: 400 });
    expect(result.duplicates).toBeLessThanOrEqual(20);
  });

  it('Redis unreachable for 10 s: producers get 503 (never 202-and-lost), workers continue after', async () => {
    receiver.requests.length = 0;
    const ids = await sendLoad(stack, 'load', 'pause', 200);
    expect(await batchesOf(stack, ids)).toEqual({ batched: 200, batches: 4 });
    await receiver.waitFor(20);
    redis.pause();
    const pausedAt = Date.now();
    try {
      const during = await stack.post('/v1/events', { id: 'during-pause', type: 'conversion', endpoint_id: 'load' });
      expect(during.status).toBe(503);
      expect(during.json.error).toContain('Redis');
      const ready = await stack.get('/readyz');
      expect(ready.status).toBe(503);
      const left = 10_000 - (Date.now() - pausedAt);
      if (left > 0) await new Promise((r) => setTimeout(r, left)); // the fault itself is 10 s long
    } finally {
      redis.resume();
    }
    const after = await stack.post('/v1/events', { id: 'after-pause', type: 'conversion', endpoint_id: 'load' });
    expect(after.status).toBe(202);
    const result = await account(stack, [...ids, after.json.events[0].postbacks[0]], receiver, 'pause', 60_000);
    console.info('Redis paused 10 s:', JSON.stringify(result));
    expect(result).toMatchObject({ delivered: 201, failed: 0 });
    // The 503'd event was never accepted: no record, no delivery.
    const list = await stack.get('/v1/postbacks?event_id=during-pause');
    expect(list.json.items).toHaveLength(0);
    expect(receiver.requests.some((r) => r.url.includes('during-pause'))).toBe(false);
  });
});
