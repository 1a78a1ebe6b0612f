import { describe, expect, it } from 'vitest';
import { BATCH_JOB_NAME, type BatchJobData } from '../../src/queue/job-data.js';
import { JobAdder } from '../../src/worker/job-adder.js';
import { RetryBatches } from '../../src/worker/retry-batches.js';
import { usePerTestStacks } from '../helpers/stack.js';

const policy = { ep: 'ep', to: 2000, sch: [0, 60, 90] };

/** The retry batches a batch job's run fills, against a real queue. */
describe('RetryBatches', () => {
  const t = usePerTestStacks();

  it('adds one job per group (attempts made, delay, sent), due after its delay, once its members are written', async () => {
    const stack = await t.start({}, { worker: false });
    const queue = stack.runtime.queues.slow;
    const retries = new RetryBatches(new JobAdder(queue), (k) => `bparent~1.${k}`, { keepFailed: true });
    const a = retries.join(1, 60_000, false);
    const b = retries.join(1, 60_000, false);
    const c = retries.join(1, 60_000, true);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    for (const [g, id] of [[a, 'p1'], [a, 'p2'], [c, 'p3']] as const) {
      g.members.push({ postbackId: id, policy, request: undefined });
      retries.written(g, true);
    }
    await retries.finish();
    const jobs = await queue.getJobs(['delayed']);
    expect(jobs.map((j) => [j.id, j.name, (j.data as BatchJobData).i.map(([id]) => id), (j.data as BatchJobData).a, (j.data as BatchJobData).s]).sort()).toEqual([
      ['bparent~1.0', BATCH_JOB_NAME, ['p1', 'p2'], 1, undefined],
      ['bparent~1.1', BATCH_JOB_NAME, ['p3'], 1, 1],
    ]);
    for (const j of jobs) expect(j.delay).toBeGreaterThan(59_000);
  });

  it("does not add a group one of whose members' record writes failed, and finish rejects (the parent runs again)", async () => {
    const stack = await t.start({}, { worker: false });
    const queue = stack.runtime.queues.slow;
    const retries = new RetryBatches(new JobAdder(queue), (k) => `bfail~1.${k}`, { keepFailed: true });
    const g = retries.join(1, 1000, false);
    retries.join(1, 1000, false);
    g.members.push({ postbackId: 'ok-1', policy, request: undefined });
    retries.written(g, true);
    retries.written(g, false);
    await expect(retries.finish()).rejects.toThrow(/not added: a member's record write failed/);
    expect(await queue.getJob('bfail~1.0')).toBeUndefined();
  });

  it('fails finish when a group its timer closed earlier could not be added (the batch job must not complete)', async () => {
    const stack = await t.start({}, { worker: false });
    // BullMQ refuses an integer job id: a real add that fails.
    const retries = new RetryBatches(new JobAdder(stack.runtime.queues.slow), () => '12345', { keepFailed: true });
    const g = retries.join(1, 1000, false);
    g.members.push({ postbackId: 'p1', policy, request: undefined });
    retries.written(g, true);
    await expect(retries.whenAdded(g)).rejects.toThrow(/integer/);
    await expect(retries.finish()).rejects.toThrow(/integer/);
  });
});
