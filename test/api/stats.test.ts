import { describe, expect, it } from 'vitest';
import { aggregateStats, bucketFor } from '../../src/history/postback-stats.js';
import type { PostbackSummary } from '../../src/history/query-postbacks.js';
import { respond } from '../helpers/receiver.js';
import { HISTORY_STORES, useStack } from '../helpers/stack.js';

describe.each(HISTORY_STORES)('GET /v1/stats (%s history)', (_store, storeEnv) => {
  const ctx = useStack({ RETRY_SCHEDULE: '0', CIRCUIT_FAILURES: '1000', AUTO_DISABLE_FAILURES: '0', ...storeEnv() }, async ({ stack, receiver }) => {
    receiver.responder = (r, _i, res) => (r.url.startsWith('/bad') ? respond(500, 'no')(res) : respond(200, 'OK')(res));
    await stack.runtime.registry.upsert([
      { id: 'good', publisher_id: 'p1', url: `${receiver.base}/good?e={event_id}` },
      { id: 'bad', publisher_id: 'p2', url: `${receiver.base}/bad?e={event_id}` },
    ]);
  });

  it('counts delivered and failed postbacks per bucket, endpoint and error, from history; a publisher key sees its own', async () => {
    const from = Date.now() - 1;
    const events = [...Array.from({ length: 7 }, (_, i) => ({ id: `g${i}`, type: 'conversion', endpoint_id: 'good' })), ...Array.from({ length: 3 }, (_, i) => ({ id: `b${i}`, type: 'conversion', endpoint_id: 'bad' }))];
    const res = await ctx.stack.post('/v1/events', { events });
    const ids = (res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks);
    await Promise.all(ids.map((id) => ctx.stack.waitFinal(id)));
    await ctx.stack.historySynced();
    const to = Date.now() + 1;

    const stats = (await ctx.stack.get(`/v1/stats?from=${from}&to=${to}&bucket=1m`)).json;
    expect(stats.totals).toMatchObject({ delivered: 7, failed: 3, retrying: 0, queued: 0, total: 10, success_rate: 0.7 });
    expect(stats.errors).toEqual([{ error: 'http_status', count: 3 }]);
    expect(stats.endpoints).toEqual([
      { endpoint_id: 'bad', delivered: 0, failed: 3, retrying: 0, queued: 0 },
      { endpoint_id: 'good', delivered: 7, failed: 0, retrying: 0, queued: 0 },
    ]);
    const summed = (stats.series as { delivered: number; failed: number }[]).reduce((a, s) => a + s.delivered + s.failed, 0);
    expect(summed).toBe(10);
    expect((await ctx.stack.get(`/v1/stats?from=${from}&to=${to}&endpoint_id=bad`)).json.totals).toMatchObject({ failed: 3, total: 3 });

    const key = (await ctx.stack.post('/v1/keys', { publisher_id: 'p1' })).json.key as string;
    const own = (await ctx.stack.get(`/v1/stats?from=${from}&to=${to}`, { authorization: `Bearer ${key}` })).json;
    expect(own.totals).toMatchObject({ delivered: 7, failed: 0, total: 7 });
    expect((await ctx.stack.get(`/v1/stats?from=${from}&to=${to}&publisher_id=p2`, { authorization: `Bearer ${key}` })).json.totals.total).toBe(0);

    const bad = await ctx.stack.get('/v1/stats?bucket=7m');
    expect(bad.status).toBe(400);
    expect(bad.json.details[0].path).toBe('bucket');
  });
});

describe('stats aggregation', () => {
  it('picks the coarsest bucket that still gives 24 points, and refuses one that gives too many', () => {
    expect(bucketFor(undefined, 0, 86_400_000).name).toBe('1h');
    expect(bucketFor(undefined, 0, 30 * 86_400_000).name).toBe('1d');
    expect(bucketFor(undefined, 0, 3_600_000).name).toBe('1m');
    expect(() => bucketFor('1m', 0, 30 * 86_400_000)).toThrow(/more than 2000 buckets/);
  });

  it('fills empty buckets, and says when it read only part of the range', async () => {
    const row = (createdMs: number, status: PostbackSummary['status']) => ({ created_ms: createdMs, status, endpoint_id: 'e', last_error: status === 'failed' ? 'timeout' : null }) as PostbackSummary;
    const rows = (): AsyncIterable<PostbackSummary> => toAsync([row(7_200_000 + 5, 'failed'), row(5, 'delivered')]);
    const stats = await aggregateStats(rows(), { fromMs: 0, toMs: 3 * 3_600_000, bucket: { name: '1h', ms: 3_600_000 } }, 10);
    expect(stats.series.map((s) => [s.delivered, s.failed])).toEqual([[1, 0], [0, 0], [0, 1]]);
    expect(stats.errors).toEqual([{ error: 'timeout', count: 1 }]);
    expect(stats.truncated).toBe(false);
    const cut = await aggregateStats(rows(), { fromMs: 0, toMs: 3 * 3_600_000, bucket: { name: '1h', ms: 3_600_000 } }, 1);
    expect(cut).toMatchObject({ scanned: 1, truncated: true });
  });
});

function toAsync<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      let i = 0;
      return { next: () => Promise.resolve(i < items.length ? { value: items[i++]!, done: false } : { value: undefined, done: true }) };
    },
  };
}
