import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { getRecord } from '../../src/history/get-record.js';
import { AttemptWriter } from '../../src/history/record-attempt.js';
import { BATCH_JOB_NAME, JOB_NAME, type BatchJobData, type DeliveryJobData } from '../../src/queue/job-data.js';
import { startWorker } from '../../src/worker/worker-service.js';
import { respond } from '../helpers/receiver.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

const TOKEN = 'tok-batch-secret-99';

function events(prefix: string, n: number, endpointId: string): { id: string; type: string; endpoint_id: string }[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type: 'conversion', endpoint_id: endpointId }));
}

async function produce(stack: Stack, prefix: string, n: number, endpointId: string): Promise<string[]> {
  const results = await stack.runtime.producer.produce(events(prefix, n, endpointId), { batch: true });
  return results.flatMap((r) => r.postbacks);
}

async function expectDeliveredInOneAttempt(stack: Stack, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const r = await stack.waitFinal(id);
    expect(r).toMatchObject({ status: 'delivered' });
    expect(r.attempts).toHaveLength(1);
  }
}

async function jobsOf(stack: Stack): Promise<{ name: string; id: string; data: unknown; delay: number }[]> {
  const all = await Promise.all(Object.values(stack.runtime.queues).map((q) => q.getJobs(['waiting', 'delayed', 'active', 'prioritized'])));
  return all.flat().map((j) => ({ name: j.name, id: j.id!, data: j.data, delay: j.delay }));
}

describe('batch jobs: the first attempts of one produce call', () => {
  const t = usePerTestStacks();

  it('go as jobs of up to BATCH_SIZE postbacks holding no copy of what the records hold; a lone event is a job of its own', async () => {
    const stack = await t.start({ BATCH_SIZE: '4' }, { worker: false });
    await stack.runtime.registry.upsert([
      { id: 'plain', url: `${t.receiver.base}/p?e={event_id}` },
      { id: 'secret', url: `${t.receiver.base}/s?e={event_id}&t={security_token}`, security_token: TOKEN },
    ]);
    const ids = await produce(stack, 'p', 10, 'plain');
    const jobs = await jobsOf(stack);
    const batches = jobs.filter((j) => j.name === BATCH_JOB_NAME);
    expect(batches.map((b) => (b.data as BatchJobData).i.length).sort()).toEqual([2, 4, 4]);
    expect(jobs).toHaveLength(3);
    const carried = batches.flatMap((b) => (b.data as BatchJobData).i);
    expect(carried.map((i) => i[0]).sort()).toEqual([...ids].sort());
    // The record holds the request: the batch does not hold it again.
    for (const item of carried) expect(item).toHaveLength(2);
    for (const id of ids) expect(await stack.runtime.redis.hget(stack.runtime.keys.record(id), 'j')).toMatch(/^b/);

    // A masked record is not the request sent: then the item carries it.
    const secret = await produce(stack, 's', 2, 'secret');
    const withSecret = (await jobsOf(stack)).find((j) => j.name === BATCH_JOB_NAME && (j.data as BatchJobData).i.some((i) => i[0] === secret[0]));
    for (const item of (withSecret!.data as BatchJobData).i) expect(item[2]?.u).toContain(TOKEN);

    const [lone] = await produce(stack, 'lone', 1, 'plain');
    const job = await stack.runtime.queue.getJob(lone!);
    expect(job?.name).toBe('deliver');
    expect((job?.data as DeliveryJobData).u).toContain('e=lone-0');
  });

  it('a produce call of 10,000 postbacks (1000 events, each to a publisher with 10 endpoints) is enqueued whole', async () => {
    const stack = await t.start({ BATCH_SIZE: '100' }, { worker: false });
    await stack.runtime.registry.upsert(Array.from({ length: 10 }, (_, i) => ({ id: `fan${i}`, publisher_id: 'p10', url: `${t.receiver.base}/f${i}?e={event_id}` })));
    const events = Array.from({ length: 1000 }, (_, i) => ({ id: `fan-${i}`, type: 'conversion', publisher_id: 'p10' }));
    const results = await stack.runtime.producer.produce(events, { batch: true });
    const ids = results.flatMap((r) => r.postbacks);
    expect(ids).toHaveLength(10_000);
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(10_000);
    const batches = (await jobsOf(stack)).filter((j) => j.name === BATCH_JOB_NAME);
    expect(batches).toHaveLength(100);
    // Dedupe claims were taken for all of them: the same call again is all duplicates.
    const again = await stack.runtime.producer.produce(events, { batch: true });
    expect(again.every((r) => r.duplicate && r.postbacks.length === 0)).toBe(true);
  });

  it('a worker delivers a batch, records each outcome, and makes each failed first attempt a job of its own on the default schedule', async () => {
    const stack = await t.start({ BATCH_SIZE: '50' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'half', url: `${t.receiver.base}/h?e={event_id}` }]);
    // Every third postback's receiver answers 500.
    t.receiver.responder = (r, _i, res) => respond(/h-(\d+)/.test(r.url) && Number(/h-(\d+)/.exec(r.url)![1]) % 3 === 0 ? 500 : 200)(res);
    const worker = startWorker(stack.runtime);
    try {
      // An origin that has answered: a batch's postbacks wait in line for it (one never heard
      // from gets its starting slots, and the rest go to the slow lane, as lone jobs would).
      const [warm] = await produce(stack, 'warm', 1, 'half');
      expect((await stack.waitFinal(warm!)).status).toBe('delivered');
      t.receiver.requests.length = 0;
      const ids = await produce(stack, 'h', 30, 'half');
      const failing = new Set(ids.filter((_, i) => i % 3 === 0));
      for (const id of ids) {
        const r = await stack.waitStatus(id, failing.has(id) ? ['retrying'] : ['delivered']);
        expect(r.attempts).toHaveLength(1);
        expect(r.attempts[0]!.status_code).toBe(failing.has(id) ? 500 : 200);
        if (failing.has(id)) {
          expect(r.next_attempt_ms! - Date.parse(r.attempts[0]!.started_at)).toBeGreaterThanOrEqual(60_000);
          expect(r.next_attempt_ms! - Date.parse(r.attempts[0]!.started_at)).toBeLessThan(62_000);
        }
      }
      // The batch is gone; each failed postback waits in its own job, 60 s as BullMQ stored it,
      // with four attempts left of five.
      await expect.poll(async () => (await jobsOf(stack)).filter((j) => j.name === BATCH_JOB_NAME).length, { timeout: 5000 }).toBe(0);
      const own = await jobsOf(stack);
      expect(own.map((j) => j.id).sort()).toEqual([...failing].sort());
      for (const id of failing) {
        const job = (await stack.runtime.queue.getJob(id)) ?? (await stack.runtime.queues.slow.getJob(id));
        expect(job!.delay).toBeGreaterThan(58_000);
        expect(job!.delay).toBeLessThanOrEqual(60_000);
        expect(job!.opts.attempts).toBe(4);
        expect((job!.data as DeliveryJobData).a0).toBe(1);
      }
      expect(t.receiver.requests).toHaveLength(30);
      // One info line for the batch; its postbacks' lines are at debug (the warm-up was a lone job).
      const batchLines = stack.logs.lines.filter((l) => l.includes('"batch done"'));
      expect(batchLines).toHaveLength(1);
      expect(JSON.parse(batchLines[0]!)).toMatchObject({ postbacks: 30, delivered: 20, retrying: 10, failed: 0 });
      expect(stack.logs.lines.filter((l) => l.includes('"postback delivered"'))).toHaveLength(1);
      expect(stack.logs.lines.filter((l) => l.includes('"attempt failed"'))).toHaveLength(10);
    } finally {
      await worker.close();
    }
  });

  it('a batch run again skips postbacks already recorded and gives a postback recorded as retrying its missing retry job', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/r?e={event_id}` }]);
    const [done, retrying, elsewhere, ...rest] = await produce(stack, 'r', 6, 'ep');
    // What a worker killed mid-batch leaves: one postback delivered, one recorded as
    // retrying whose retry job it never added, three not started.
    const now = Date.now();
    const attempt = (status_code: number) => ({ n: 1, started_at: new Date(now).toISOString(), duration_ms: 3, status_code, error: null, phase: null, response_excerpt: '' });
    await new AttemptWriter(stack.runtime.history).write(done!, attempt(200), 'delivered', now, undefined);
    await new AttemptWriter(stack.runtime.history).write(retrying!, { ...attempt(500), error: 'http_status' }, 'retrying', now, now + 60_000);
    // One whose retry job was added, to the slow lane: it must not get a second one in the fast lane.
    await new AttemptWriter(stack.runtime.history).write(elsewhere!, { ...attempt(500), error: 'http_status' }, 'retrying', now, now + 60_000);
    await stack.runtime.queues.slow.add('deliver', { v: 2, ep: 'ep', u: `${t.receiver.base}/r?e=r-2`, to: 2000, sch: [0, 60, 90, 120, 150], a0: 1 }, { jobId: elsewhere!, delay: 60_000, attempts: 4 });
    const worker = startWorker(stack.runtime);
    try {
      for (const id of rest) expect((await stack.waitFinal(id)).status).toBe('delivered');
      await expect.poll(async () => (await jobsOf(stack)).map((j) => j.id).sort(), { timeout: 5000 }).toEqual([retrying, elsewhere].sort());
      expect(await stack.runtime.queue.getJob(elsewhere!)).toBeUndefined();
      const job = await stack.runtime.queue.getJob(retrying!);
      expect(job!.delay).toBeGreaterThan(55_000);
      expect((job!.data as DeliveryJobData).a0).toBe(1);
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/r?e=r-3', '/r?e=r-4', '/r?e=r-5']);
      expect((await getRecord(stack.runtime.history, done!))?.attempts).toHaveLength(1);
    } finally {
      await worker.close();
    }
  });

  it('a batch that fails for good (here: data this worker cannot read) hands each pending postback a job of its own, and they are delivered', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/u?e={event_id}` }]);
    const ids = await produce(stack, 'u', 3, 'ep');
    const batchId = await stack.runtime.redis.hget(stack.runtime.keys.record(ids[0]!), 'j');
    const batch = await stack.runtime.queue.getJob(batchId!);
    // As a newer producer might write it: same items, a version this worker does not read.
    await (batch as unknown as Job<unknown>).updateData({ ...(batch!.data as BatchJobData), v: 99 });
    const worker = startWorker(stack.runtime);
    try {
      for (const id of ids) expect((await stack.waitFinal(id)).status).toBe('delivered');
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/u?e=u-0', '/u?e=u-1', '/u?e=u-2']);
      expect(stack.logs.lines.some((l) => l.includes('batch job failed for good'))).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('a batch whose endpoint is not healthy hands its postbacks to the slow lane, each on its own, using no attempt', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'sick', url: `${t.receiver.base}/k?e={event_id}` }]);
    const ids = await produce(stack, 'k', 4, 'sick');
    // The endpoint degrades after the batch was made: the worker sees it, the producer did not.
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'sick', 'degraded');
    const worker = startWorker(stack.runtime);
    try {
      await expectDeliveredInOneAttempt(stack, ids);
      expect(await stack.get('/metrics').then((m) => m.text)).toMatch(/^postback_lane_moves_total\{reason="degraded"\} 4$/m);
    } finally {
      await worker.close();
    }
  });

  it('first attempts for a degraded endpoint go as one slow-lane batch job, sent by the slow lane inside it (one attempt each); an ordered endpoint keeps jobs of its own', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    await stack.runtime.registry.upsert([
      { id: 'slowish', url: `${t.receiver.base}/s?e={event_id}` },
      { id: 'ordered', url: `${t.receiver.base}/o?e={event_id}&k={click_id}`, ordering_key: '{click_id}' },
    ]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'slowish', 'degraded', 'ordered', 'degraded');
    await stack.runtime.health.refresh();
    const ids = await produce(stack, 's', 6, 'slowish');
    const slowJobs = await stack.runtime.queues.slow.getJobs(['waiting', 'delayed']);
    expect(slowJobs.map((j) => [j.name, (j.data as BatchJobData).i?.map(([id]) => id)])).toEqual([[BATCH_JOB_NAME, ids]]);
    expect(await stack.runtime.queue.count()).toBe(0);
    const worker = startWorker(stack.runtime);
    try {
      await expectDeliveredInOneAttempt(stack, ids);
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(ids.map((_, i) => `/s?e=s-${i}`).sort());
      // Sent inside the batch: none of its postbacks became a job of its own.
      // (The batch completes once what follows each record is paced: a moment after the records.)
      const batchDone = () => stack.logs.lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'batch done');
      await expect.poll(batchDone, { timeout: 5000 }).toEqual([expect.objectContaining({ postbacks: 6, delivered: 6, moved: 0 })]);

      // An ordered endpoint's postbacks take their turns as lone jobs, not in a slow-lane batch.
      const ordered = (await stack.runtime.producer.produce(events('o', 3, 'ordered').map((e, i) => ({ ...e, click_id: `c${i}` })), { batch: true })).flatMap((r) => r.postbacks);
      for (const id of ordered) expect((await stack.runtime.queues.slow.getJob(id))?.name).toBe(JOB_NAME);
      for (const id of ordered) expect((await stack.waitFinal(id)).status).toBe('delivered');
    } finally {
      await worker.close();
    }
  });

  it('a slow-lane batch hands the postbacks of an open circuit jobs of their own at once, which record circuit_open without sending', async () => {
    const stack = await t.start({ BATCH_SIZE: '10', RETRY_SCHEDULE: '0,30' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'shut', url: `${t.receiver.base}/c?e={event_id}` }]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'shut', 'open');
    await stack.runtime.health.refresh();
    // The probe key is set when a circuit opens: the first probe waits one interval.
    await stack.runtime.redis.set(stack.runtime.keys.probe('shut'), 'x', 'PX', 60_000);
    const ids = await produce(stack, 'c', 4, 'shut');
    expect((await stack.runtime.queues.slow.getJobs(['waiting'])).map((j) => j.name)).toEqual([BATCH_JOB_NAME]);
    const worker = startWorker(stack.runtime);
    try {
      for (const id of ids) {
        await expect.poll(async () => (await getRecord(stack.runtime.history, id))?.attempts.map((a) => a.error), { timeout: 5000 }).toEqual(['circuit_open']);
        const own = await stack.runtime.queues.slow.getJob(id);
        expect(await own?.getState()).toBe('delayed');
      }
      expect(t.receiver.requests).toHaveLength(0);
    } finally {
      await worker.close();
    }
  });

  it('a slow-lane batch run again (its worker killed mid-batch) sends only what it had not: one postback delivered, one handed out, the rest not started', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'slowish', url: `${t.receiver.base}/z?e={event_id}` }]);
    await stack.runtime.redis.hset(stack.runtime.keys.healthStates, 'slowish', 'degraded');
    await stack.runtime.health.refresh();
    const [done, handed, ...rest] = await produce(stack, 'z', 5, 'slowish');
    const now = Date.now();
    await new AttemptWriter(stack.runtime.history).write(done!, { n: 1, started_at: new Date(now).toISOString(), duration_ms: 3, status_code: 200, error: null, phase: null, response_excerpt: '' }, 'delivered', now, undefined);
    await stack.runtime.queues.slow.add('deliver', { v: 2, ep: 'slowish', u: `${t.receiver.base}/z?e=z-1`, to: 2000, sch: [0, 60, 90, 120, 150] }, { jobId: handed!, attempts: 5 });
    // The batch as a killed worker leaves it: started once, its lock gone.
    const [batch] = await stack.runtime.queues.slow.getJobs(['waiting']).then((js) => js.filter((j) => j.name === BATCH_JOB_NAME));
    await stack.runtime.redis.hset(`${stack.runtime.queues.slow.qualifiedName}:${batch!.id!}`, 'ats', '1');
    const worker = startWorker(stack.runtime);
    try {
      for (const id of [handed!, ...rest]) expect((await stack.waitFinal(id)).status).toBe('delivered');
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/z?e=z-1', '/z?e=z-2', '/z?e=z-3', '/z?e=z-4']);
      expect((await getRecord(stack.runtime.history, done!))?.attempts).toHaveLength(1);
    } finally {
      await worker.close();
    }
  });
});
