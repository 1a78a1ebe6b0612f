import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createDeliveryQueue } from '../../src/queue/delivery-queue.js';
import { JobAdder } from '../../src/worker/job-adder.js';
import { usePerTestStacks } from '../helpers/stack.js';

const data = (u: string) => ({ v: 2 as const, ep: 'ep', u, to: 2000, sch: [0, 60] });

describe('JobAdder: the jobs asked for in one turn of the event loop, added together', () => {
  const t = usePerTestStacks();

  it('gives each caller its own job, with its options (lifo to the head of the lane)', async () => {
    const stack = await t.start({}, { worker: false });
    const queue = stack.runtime.queues.slow;
    await queue.add('deliver', data('http://127.0.0.1:9/old'), { jobId: 'old' });
    const adder = new JobAdder(queue);
    const [a, b, c] = await Promise.all([
      adder.add('deliver', data('http://127.0.0.1:9/a'), { jobId: 'a' }),
      adder.add('deliver', data('http://127.0.0.1:9/b'), { jobId: 'b', lifo: true }),
      adder.add('deliver', data('http://127.0.0.1:9/c'), { jobId: 'c', delay: 60_000 }),
    ]);
    expect([a.id, b.id, c.id]).toEqual(['a', 'b', 'c']);
    expect(await c.getState()).toBe('delayed');
    // BullMQ takes the waiting list's head first: the lifo job, then the oldest.
    expect((await queue.getWaiting()).map((j) => j.id)).toEqual(['b', 'old', 'a']);
  });

  it('rejects every caller of a turn whose addBulk fails, and serves the next turn', async () => {
    const stack = await t.start({}, { worker: false });
    // A queue on a loopback port nothing listens on: its addBulk fails.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const closed = new Redis({ host: '127.0.0.1', port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    closed.on('error', () => undefined);
    const adder = new JobAdder(createDeliveryQueue(closed, stack.runtime.keys, 'slow'));
    const results = await Promise.allSettled([adder.add('deliver', data('http://127.0.0.1:9/x'), { jobId: 'x' }), adder.add('deliver', data('http://127.0.0.1:9/y'), { jobId: 'y' })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    closed.disconnect();
    const working = new JobAdder(stack.runtime.queues.slow);
    expect((await working.add('deliver', data('http://127.0.0.1:9/z'), { jobId: 'z' })).id).toBe('z');
  });
});
