import { describe, expect, it } from 'vitest';
import { trimIndex } from '../../src/history/trim-index.js';
import { useStack } from '../helpers/stack.js';

describe('history retention', () => {
    // 0.00002 days = 1.728 s
  const ctx = useStack({ HISTORY_RETENTION_DAYS: '0.00002', RETRY_SCHEDULE: '0' }, async ({ stack, receiver }) => {
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${receiver.base}/r` }]);
  });

  it('expires records after HISTORY_RETENTION_DAYS and trims the index with them', async () => {
    const res = await ctx.stack.post('/v1/events', { type: 'conversion', endpoint_id: 'ep' });
    const id = res.json.events[0].postbacks[0];
    await ctx.stack.waitFinal(id);
    const ttl = await ctx.stack.runtime.redis.pttl(ctx.stack.runtime.keys.record(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1728);
    await expect.poll(() => ctx.stack.runtime.redis.exists(ctx.stack.runtime.keys.record(id)), { timeout: 5000, interval: 100 }).toBe(0);
    expect((await ctx.stack.get(`/v1/postbacks/${id}`)).status).toBe(404);
    expect(await trimIndex(ctx.stack.runtime.history, Date.now())).toBe(1);
    expect(await ctx.stack.runtime.redis.zcard(ctx.stack.runtime.keys.index)).toBe(0);
  });
});
