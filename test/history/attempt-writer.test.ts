import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptWriter } from '../../src/history/record-attempt.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** evalsha calls Redis has run since the last CONFIG RESETSTAT. */
async function evalshaCalls(stack: Stack): Promise<number> {
  const info = await stack.runtime.redis.info('commandstats');
  return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * The attempt writer on a Redis of its own (so its command counts are only this test's):
 * a wave of attempts ending in one turn of the event loop goes out as small script calls,
 * so that no single call holds Redis long while everyone else waits.
 */
describe('AttemptWriter', () => {
  const redis = new RedisProcess();
  let stack: Stack;

  beforeAll(async () => {
    await redis.start();
    stack = await startStack({ REDIS_URL: redis.url, RETRY_SCHEDULE: '0,60' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ep', url: 'http://127.0.0.1:9/r?e={event_id}' }]);
  });
  afterAll(async () => {
    await stack?.close();
    await redis.stop();
  });

  it('writes one turn of 150 attempts as 3 script calls of at most 64 records, each caller hearing its own result', async () => {
    const events = Array.from({ length: 150 }, (_, i) => ({ id: `w-${i}`, type: 'conversion', endpoint_id: 'ep' }));
    const ids = (await stack.runtime.producer.produce(events, { batch: true })).flatMap((r) => r.postbacks);
    expect(ids).toHaveLength(150);
    const now = Date.now();
    const attempt = { n: 1, started_at: new Date(now).toISOString(), duration_ms: 2, status_code: 500, error: 'http_status', phase: null, response_excerpt: '' };
    const writer = new AttemptWriter(stack.runtime.history);
    await stack.runtime.redis.config('RESETSTAT');

    // 150 records that exist, and one that does not (expired by retention): written in one turn.
    const results = await Promise.all([...ids, 'gone-0000'].map((id) => writer.write(id, attempt, 'retrying', now, now + 60_000)));

    expect(results.slice(0, 150).every((r) => r)).toBe(true);
    expect(results[150]).toBe(false);
    expect(await evalshaCalls(stack)).toBe(3);
    for (const id of [ids[0]!, ids[64]!, ids[149]!]) {
      const record = await stack.runtime.historyStore.getRecord(id);
      expect(record?.status).toBe('retrying');
      expect(record?.attempts).toHaveLength(1);
    }
  });
});
