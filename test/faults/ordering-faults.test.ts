import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker } from '../helpers/load.js';
import { Receiver, respond } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait-until.js';

const STATES = ['pending', 'approved', 'reversed'];
const KEYS = Array.from({ length: 30 }, (_, i) => `k${i}`);

/**
 * Ordering across worker processes, one of them SIGKILLed while it holds a key's turn (its
 * request to the receiver never answered): the turn passes on when its job's lock lapses,
 * as BullMQ's stalled check hands the job to the other worker, and every chain still
 * arrives in order.
 */
describe('ordering under a worker crash', () => {
  let receiver: Receiver;
  let stack: Stack;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    stack = await startStack({ RETRY_SCHEDULE: '0,0.3,0.3,0.3,0.3', WORKER_LOCK_MS: '3000' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ordered', ordering_key: '{click_id}', url: `${receiver.base}/o?click={click_id}&state={state}` }]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  it('delivers flaky approvals before their reversals across two workers, with one SIGKILLed mid-chain', { timeout: 60_000 }, async () => {
    const failedOnce = new Set<string>();
    let held = false;
    receiver.responder = (r, _i, res) => {
      const url = new URL(r.url, 'http://x');
      const click = url.searchParams.get('click')!;
      if (url.searchParams.get('state') !== 'approved') return respond(200, 'OK')(res);
      // k0's approval is held by the first worker until it dies; every other approval fails once.
      if (click === 'k0' && !held) {
        held = true;
        return 'hang';
      }
      if (!failedOnce.has(click)) {
        failedOnce.add(click);
        return respond(500, 'flaky')(res);
      }
      respond(200, 'OK')(res);
    };
    const env = {
      REDIS_URL: stack.config.redisUrl!,
      QUEUE_PREFIX: stack.config.queuePrefix,
      REQUEST_TIMEOUT_MS: '5000',
      WORKER_LOCK_MS: '6000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      // Thirty approvals failing once in a burst would open the endpoint's circuit: not what this test is about.
      CIRCUIT_FAILURES: '1000',
      AUTO_DISABLE_FAILURES: '0',
    };
    const first = spawnWorker(env);
    let second: ReturnType<typeof spawnWorker> | undefined;
    try {
      // Each state of every key in its own produce call, in state order (a network firing them as they happen).
      const ids: string[] = [];
      for (const state of STATES) {
        for (let i = 0; i < KEYS.length; i += 10) {
          const events = KEYS.slice(i, i + 10).map((click) => ({ id: `${click}-${state}`, type: 'conversion', state, click_id: click, endpoint_id: 'ordered' }));
          const res = await stack.post('/v1/events', { events });
          expect(res.status).toBe(202);
          ids.push(...(res.json.events as { postbacks: string[] }[]).flatMap((e) => e.postbacks));
        }
      }
      await waitUntil(() => held, 15_000, "k0's approval reaching the receiver");
      second = spawnWorker(env);
      const before = receiver.requests.length;
      await waitUntil(() => receiver.requests.length >= before + 10, 15_000, 'both workers delivering');
      first.kill('SIGKILL');
      await once(first, 'exit');

      const records = await Promise.all(ids.map((id) => stack.waitFinal(id, 30_000)));
      expect(records.filter((r) => r.status !== 'delivered')).toEqual([]);
      for (const click of KEYS) {
        const arrived = receiver.requests
          .map((r) => new URL(r.url, 'http://x').searchParams)
          .filter((p) => p.get('click') === click)
          .map((p) => p.get('state'));
        // Folded: a retry or an at-least-once resend repeats a state, never goes back to one.
        expect(arrived.filter((s, i) => s !== arrived[i - 1]), click).toEqual(STATES);
      }
      // k0's approval was sent again by the second worker once the first one's lock lapsed.
      const k0 = records.find((r) => r.event_id === 'k0-approved')!;
      expect(k0.attempts.length).toBeGreaterThanOrEqual(1);
      expect(receiver.requests.filter((r) => r.url.includes('click=k0&state=approved')).length).toBeGreaterThanOrEqual(2);
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
      if (second && second.exitCode === null) {
        second.kill('SIGTERM');
        await once(second, 'exit');
      }
    }
  });
});
