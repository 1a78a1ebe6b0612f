import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimIndex } from '../../src/history/trim-index.js';
import { Receiver } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('history retention', () => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // 0.00002 days = 1.728 s
    stack = await startStack({ HISTORY_RETENTION_DAYS: '0.00002', RETRY_SCHEDULE: '0' });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${receiver.base}/r` }]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('expires records after HISTORY_RETENTION_DAYS and trims the index with them', async () => {
    const res = await stack.post('/v1/events', { type: 'conversion', endpoint_id: 'ep' });
    const id = res.json.events[0].postbacks[0];
    await stack.waitFinal(id);
    const ttl = await stack.runtime.redis.pttl(stack.runtime.keys.record(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1728);
    await expect.poll(() => stack.runtime.redis.exists(stack.runtime.keys.record(id)), { timeout: 5000, interval: 100 }).toBe(0);
    expect((await stack.get(`/v1/postbacks/${id}`)).status).toBe(404);
    expect(await trimIndex(stack.runtime.history, Date.now())).toBe(1);
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(0);
  });
});
