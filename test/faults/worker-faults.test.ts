import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account, batchesOf, sendLoad, spawnWorker } from '../helpers/load.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

const CONCURRENCY = 20;
/** The slow lane's per-origin ceiling: a worker may also hold this many attempts there. */
const SLOW_LANE_ORIGIN_MAX = 5;
/** The most attempts one worker can have in flight to the test's one origin. */
const IN_FLIGHT_MAX = CONCURRENCY + SLOW_LANE_ORIGIN_MAX;

/** At-least-once under worker faults: every event reaches a final state; duplicates stay within what was in flight. */
describe('worker faults under load', () => {
  let receiver: Receiver;
  let stack: Stack;
  let workerEnv: Record<string, string>;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    // Slow enough answers that a fault always finds attempts in flight.
    receiver.responder = (_r, _i, res) => void setTimeout(() => respond(200)(res), 20);
    // Batched traffic: each request of 100 events makes two batch jobs.
    stack = await startStack({ WORKER_LOCK_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000', BATCH_SIZE: '50' }, { worker: false });
    workerEnv = {
      REDIS_URL: stack.config.redisUrl!,
      QUEUE_PREFIX: stack.config.queuePrefix,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      PER_ORIGIN_CONCURRENCY: String(CONCURRENCY),
      SLOW_LANE_ORIGIN_MAX: String(SLOW_LANE_ORIGIN_MAX),
      REQUEST_TIMEOUT_MS: '2000',
      WORKER_LOCK_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '5000',
    };
    await stack.runtime.registry.upsert([{ id: 'load', url: `${receiver.base}/load?e={event_id}` }]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  /** A worker SIGKILLed once `sentBeforeKill` requests arrived; a second one finishes: every postback delivered, duplicates within what was in flight. */
  async function killMidLoadThenAccount(ids: readonly string[], prefix: string, sentBeforeKill: number): Promise<void> {
    const first = spawnWorker(workerEnv);
    await receiver.waitFor(sentBeforeKill);
    first.kill('SIGKILL');
    await once(first, 'exit');
    const second = spawnWorker(workerEnv);
    try {
      const result = await account(stack, ids, receiver, prefix);
      console.info(`worker SIGKILL (${prefix}):`, JSON.stringify(result));
      expect(result).toMatchObject({ delivered: ids.length, failed: 0, distinctReceived: ids.length });
      expect(result.duplicates).toBeLessThanOrEqual(IN_FLIGHT_MAX);
    } finally {
      second.kill('SIGKILL');
    }
  }

  // Lock expiry and the stalled check, then 400 deliveries by a cold worker, while another
  // test file (the Redis topologies') may be running beside it: give it room.
  it('a worker SIGKILLed mid-load: all delivered by the next worker, duplicates within the in-flight count', { timeout: 90_000 }, async () => {
    const ids = await sendLoad(stack, 'load', 'kill', 400);
    expect(await batchesOf(stack, ids)).toEqual({ batched: 400, batches: 8 });
    await killMidLoadThenAccount(ids, 'kill', 100);
  });

  it('SIGTERM during load: the worker exits cleanly, in-flight attempts finish, none half-recorded', { timeout: 90_000 }, async () => {
    receiver.requests.length = 0;
    const ids = await sendLoad(stack, 'load', 'term', 300);
    expect(await batchesOf(stack, ids)).toEqual({ batched: 300, batches: 6 });
    const first = spawnWorker(workerEnv);
    await receiver.waitFor(80);
    first.kill('SIGTERM');
    const [code] = (await once(first, 'exit')) as [number | null];
    expect(code).toBe(0);
    // Whatever the first worker sent before it stopped is recorded: nothing in flight was abandoned.
    const sentBefore = new Set(receiver.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('e')));
    const second = spawnWorker(workerEnv);
    try {
      const result = await account(stack, ids, receiver, 'term');
      console.info('worker SIGTERM:', JSON.stringify(result));
      expect(result).toMatchObject({ delivered: 300, failed: 0, distinctReceived: 300 });
      expect(result.duplicates).toBeLessThanOrEqual(IN_FLIGHT_MAX);
      expect(sentBefore.size).toBeGreaterThanOrEqual(80);
      for (const id of ids) {
        const hash = await stack.runtime.redis.hgetall(stack.runtime.keys.record(id));
        const attempts = Object.keys(hash).filter((k) => /^a\d+$/.test(k));
        expect(attempts.length).toBe(Number(hash.c));
        expect(hash.s).toBe('delivered');
      }
    } finally {
      second.kill('SIGKILL');
    }
  });

  it('a worker SIGKILLed while an open circuit\'s postbacks retry in batch jobs: every postback is delivered with each of its attempts recorded once, circuit_open until the one sent, nothing left in the queues', { timeout: 90_000 }, async () => {
    receiver.requests.length = 0;
    // Open, its probe taken for the whole test: attempts 1-4 are circuit_open, recorded in
    // retry batches, and the last (nothing was ever sent) is sent and delivered.
    await stack.runtime.registry.upsert([{ id: 'shut', url: `${receiver.base}/shut?e={event_id}`, retry_schedule: [0, 0.4, 0.4, 0.4, 0.4] }]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'shut', 'open');
    await stack.runtime.redis.set(stack.runtime.keys.probe('shut'), 'x', 'PX', 120_000);
    await stack.runtime.health.refresh();
    const ids = await sendLoad(stack, 'shut', 'open', 300);
    const first = spawnWorker(workerEnv);
    const counts = async (): Promise<number[]> => {
      const pipe = stack.runtime.redis.pipeline();
      for (const id of ids) pipe.hget(stack.runtime.keys.record(id), 'c');
      return ((await pipe.exec()) ?? []).map(([, c]) => Number(c ?? 0));
    };
    // Killed mid-chain: every postback has made an attempt, none its last.
    await expect.poll(async () => Math.min(...(await counts())), { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    first.kill('SIGKILL');
    await once(first, 'exit');
    expect(Math.max(...(await counts()))).toBeLessThan(5);
    expect(receiver.requests).toHaveLength(0);
    const second = spawnWorker(workerEnv);
    try {
      const result = await account(stack, ids, receiver, 'open');
      expect(result).toMatchObject({ delivered: 300, failed: 0, distinctReceived: 300 });
      for (const id of ids) {
        // Each attempt recorded once, none missing: circuit_open until the one that was sent
        // (the last chance, or an earlier attempt once another postback's last chance had
        // closed the circuit: a postback held back by the kill may be behind the others).
        const record = await stack.runtime.redis.hgetall(stack.runtime.keys.record(id));
        const made = Number(record.c);
        expect(made).toBeLessThanOrEqual(5);
        expect(Object.keys(record).filter((k) => /^a\d+$/.test(k)).sort()).toEqual(Array.from({ length: made }, (_, i) => `a${i + 1}`));
        const errors = Array.from({ length: made }, (_, i) => (JSON.parse(record[`a${i + 1}`]!) as { error: string | null }).error);
        expect(errors).toEqual([...Array<string>(made - 1).fill('circuit_open'), null]);
      }
      await expect.poll(async () => Promise.all(Object.values(stack.runtime.queues).map((q) => q.count())), { timeout: 10_000 }).toEqual([0, 0]);
    } finally {
      second.kill('SIGKILL');
    }
  });

  it('a worker SIGKILLed mid-load on the slow lane (a degraded endpoint: slow-lane batch jobs): all delivered by the next worker, duplicates within the in-flight count', { timeout: 90_000 }, async () => {
    receiver.requests.length = 0;
    await stack.runtime.registry.upsert([{ id: 'load-slow', url: `${receiver.base}/load-slow?e={event_id}` }]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'load-slow', 'degraded');
    await stack.runtime.health.refresh();
    const ids = await sendLoad(stack, 'load-slow', 'skill', 400);
    expect(await batchesOf(stack, ids)).toEqual({ batched: 400, batches: 8 });
    expect(await stack.runtime.queues.slow.count()).toBe(8);
    await killMidLoadThenAccount(ids, 'skill', 60);
  });
});
