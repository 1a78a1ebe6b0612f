import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { getRecord } from '../../src/history/get-record.js';
import { AttemptWriter } from '../../src/history/record-attempt.js';
import { batchJob } from '../../src/queue/delivery-job.js';
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

/** Opens an endpoint's circuit with its probe taken (as when it opened: the first probe waits one interval), so nothing is sent but a last chance. */
async function openCircuit(stack: Stack, endpointId: string): Promise<void> {
  await stack.runtime.redis.hset(stack.runtime.keys.healthStates, endpointId, 'open');
  await stack.runtime.redis.set(stack.runtime.keys.probe(endpointId), 'x', 'PX', 60_000);
  await stack.runtime.health.refresh();
}

/**
 * A lone slow-lane job (as a lane move or a parked postback is) of endpoint `shut`, whose
 * circuit is open, its schedule compressed (by default three attempts 0.3 s apart); its URL path is `/{prefix}`.
 */
async function loneJobAtOpenCircuit(stack: Stack, base: string, prefix: string, schedule: readonly number[] = [0, 0.3, 0.3]): Promise<string> {
  const { runtime } = stack;
  await runtime.registry.upsert([{ id: 'shut', url: `${base}/${prefix}?e={event_id}` }]);
  await openCircuit(stack, 'shut');
  const [id] = await produce(stack, prefix, 1, 'shut');
  const lone = await runtime.queues.slow.getJob(id!);
  expect(lone?.name).toBe(JOB_NAME);
  await lone!.remove();
  await runtime.queues.slow.add(JOB_NAME, { ...(lone!.data as DeliveryJobData), sch: [...schedule] }, { jobId: id!, attempts: schedule.length, backoff: { type: 'schedule' } });
  return id!;
}

/** The worker's one line per batch job. */
function batchDone(stack: Stack): { msg: string; batchId?: string; attempt?: number; retrying?: number; delivered?: number; moved?: number; postbacks?: number }[] {
  return stack.logs.lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'batch done');
}

/** A recorded attempt as a worker writes it (a test crafting what a killed worker left). */
function attemptRecord(n: number, error: string, statusCode = 0) {
  return { n, started_at: new Date().toISOString(), duration_ms: statusCode > 0 ? 3 : 0, status_code: statusCode, error, phase: null, response_excerpt: '' };
}

const POLICY = { ep: 'ep', to: 2000, sch: [0, 60, 90, 120, 150] };

/** Adds a slow-lane retry batch holding `ids` (their records hold the request), `attemptsBefore` made. */
async function addRetryBatch(stack: Stack, jobId: string, ids: readonly string[], attemptsBefore: number, delayMs: number, sentBefore = false): Promise<void> {
  const spec = batchJob(ids.map((postbackId) => ({ postbackId, policy: POLICY, request: undefined })), delayMs, 'slow', { jobId, attemptsBefore, sentBefore });
  await stack.runtime.queues.slow.add(spec.name, spec.data, spec.opts);
}

/** Marks a postback's lone fast-lane job as taken over from a worker that died (started once, stalled once). */
async function markStalled(stack: Stack, id: string): Promise<void> {
  await stack.runtime.redis.hset(`${stack.runtime.queue.qualifiedName}:${id}`, 'stc', '1', 'ats', '1');
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
      // The batch is gone; each failed postback waits for attempt 2, 60 s as BullMQ stored it:
      // in a job of its own with four attempts left of five, or, if the failures degraded the
      // endpoint meanwhile (a loaded machine may report them together), in a retry batch.
      const first = `b${ids[0]!}`;
      await expect.poll(async () => (await jobsOf(stack)).some((j) => j.id === first), { timeout: 5000 }).toBe(false);
      const held = new Set<string>();
      for (const j of await jobsOf(stack)) {
        expect(j.delay).toBeGreaterThan(58_000);
        expect(j.delay).toBeLessThanOrEqual(60_000);
        if (j.name === BATCH_JOB_NAME) {
          expect(j.id.startsWith(`${first}~`)).toBe(true);
          expect((j.data as BatchJobData).a).toBe(1);
          for (const [id] of (j.data as BatchJobData).i) held.add(id);
        } else {
          const job = (await stack.runtime.queue.getJob(j.id)) ?? (await stack.runtime.queues.slow.getJob(j.id));
          expect(job!.opts.attempts).toBe(4);
          expect((job!.data as DeliveryJobData).a0).toBe(1);
          held.add(j.id);
        }
      }
      expect([...held].sort()).toEqual([...failing].sort());
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
      await expect.poll(() => batchDone(stack), { timeout: 5000 }).toEqual([expect.objectContaining({ postbacks: 6, delivered: 6, moved: 0 })]);

      // An ordered endpoint's postbacks take their turns as lone jobs, not in a slow-lane batch.
      const ordered = (await stack.runtime.producer.produce(events('o', 3, 'ordered').map((e, i) => ({ ...e, click_id: `c${i}` })), { batch: true })).flatMap((r) => r.postbacks);
      for (const id of ordered) expect((await stack.runtime.queues.slow.getJob(id))?.name).toBe(JOB_NAME);
      for (const id of ordered) expect((await stack.waitFinal(id)).status).toBe('delivered');
    } finally {
      await worker.close();
    }
  });

  it('a slow-lane batch records an open circuit\'s attempts as circuit_open inside it, sending nothing, and they retry as one batch job; the last attempt is sent', async () => {
    const stack = await t.start({ BATCH_SIZE: '10', RETRY_SCHEDULE: '0,0.5,0.5' }, { worker: false });
    await stack.runtime.registry.upsert([{ id: 'shut', url: `${t.receiver.base}/c?e={event_id}` }]);
    await openCircuit(stack, 'shut');
    const ids = await produce(stack, 'c', 4, 'shut');
    const [first] = await stack.runtime.queues.slow.getJobs(['waiting']);
    expect(first?.name).toBe(BATCH_JOB_NAME);
    const lone = async () => (await Promise.all(ids.flatMap((id) => [stack.runtime.queues.slow.getJob(id), stack.runtime.queue.getJob(id)]))).filter((j) => j !== undefined);
    const worker = startWorker(stack.runtime);
    try {
      // Attempt 1 in the first batch, attempt 2 in its retry batch: circuit_open, nothing sent.
      for (const id of ids) {
        await expect.poll(async () => (await getRecord(stack.runtime.history, id))?.attempts.map((a) => a.error), { timeout: 5000 }).toEqual(['circuit_open', 'circuit_open']);
      }
      expect(t.receiver.requests).toHaveLength(0);
      expect(await lone()).toEqual([]);
      // The last attempt (nothing ever sent for them) goes out although the circuit is open.
      for (const id of ids) {
        const r = await stack.waitFinal(id);
        expect(r.status).toBe('delivered');
        expect(r.attempts.map((a) => a.error)).toEqual(['circuit_open', 'circuit_open', null]);
      }
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(ids.map((_, i) => `/c?e=c-${i}`).sort());
      expect(await lone()).toEqual([]);
      // Three batch jobs in all: the first, its retry batch, and that one's: named after each other.
      // A batch's line comes once it completes, a moment after its records.
      await expect.poll(() => batchDone(stack).map((l) => [l.batchId, l.attempt, l.retrying, l.delivered]), { timeout: 5000 }).toEqual([
        [first!.id, undefined, 4, 0],
        [`${first!.id}~1.0`, 2, 4, 0],
        [`${first!.id}~1.0~1.0`, 3, 0, 4],
      ]);
    } finally {
      await worker.close();
    }
  });

  it('a lone job of an open circuit records circuit_open and hands its next attempt to a retry batch, then completes', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    const id = await loneJobAtOpenCircuit(stack, t.receiver.base, 'lone');
    const worker = startWorker(runtime);
    try {
      const r = await stack.waitFinal(id);
      expect(r.status).toBe('delivered');
      expect(r.attempts.map((a) => a.error)).toEqual(['circuit_open', 'circuit_open', null]);
      // A batch's line comes once it completes, a moment after its records.
      await expect
        .poll(() => batchDone(stack), { timeout: 5000 })
        .toEqual([expect.objectContaining({ batchId: expect.stringMatching(/^r[0-9a-f]{12}~0\.0$/), attempt: 2, retrying: 1 }), expect.objectContaining({ attempt: 3, delivered: 1 })]);
      expect(await runtime.queues.slow.getJob(id)).toBeUndefined();
    } finally {
      await worker.close();
    }
  });

  it('a lone job of an open circuit records circuit_open on schedule while the governor holds every paced start back (its later attempts go in a retry batch)', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    const id = await loneJobAtOpenCircuit(stack, t.receiver.base, 'unpaced');
    // A governor whose pace lets one start through every 1,000 s: anything paced waits.
    const stalled = { initialRate: 0.001, minRate: 0.001, maxRate: 0.001 };
    const worker = startWorker(runtime, { governor: stalled });
    try {
      const r = await stack.waitFinal(id);
      expect(r.status).toBe('delivered');
      expect(r.attempts.map((a) => a.error)).toEqual(['circuit_open', 'circuit_open', null]);
      expect(t.receiver.requests.filter((q) => q.url.startsWith('/unpaced'))).toHaveLength(1);
    } finally {
      await worker.close();
    }
  });

  it('a lone job whose only attempt is its last chance at an open circuit sends it and completes while the governor holds every paced start back', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    const id = await loneJobAtOpenCircuit(stack, t.receiver.base, 'lastchance', [0]);
    const worker = startWorker(runtime, { governor: { initialRate: 0.001, minRate: 0.001, maxRate: 0.001 } });
    try {
      const r = await stack.waitFinal(id);
      expect(r.status).toBe('delivered');
      expect(r.attempts.map((a) => a.error)).toEqual([null]);
      // Neither the request nor what follows its record waits for the pace: the job completes.
      await expect.poll(async () => runtime.queues.slow.getJob(id), { timeout: 5000 }).toBeUndefined();
    } finally {
      await worker.close();
    }
  });

  it('a lone job taken over after its worker died, having handed its next attempt to a retry batch that exists, completes without sending again', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/st?e={event_id}` }]);
    const [id] = await produce(stack, 'st', 1, 'ep');
    const lone = (await runtime.queue.getJob(id!))!;
    expect(lone.name).toBe(JOB_NAME);
    // Its worker recorded attempt 1, named the retry batch (added) and died before completing.
    const now = Date.now();
    const retryId = 'rdeadbeef0001~0.0';
    await new AttemptWriter(runtime.history).write(id!, attemptRecord(1, 'circuit_open'), 'retrying', now, now + 60_000, retryId);
    await addRetryBatch(stack, retryId, [id!], 1, 60_000);
    await markStalled(stack, id!);
    const worker = startWorker(runtime);
    try {
      await expect.poll(() => stack.logs.lines.some((l) => l.includes('stalled job already handed to a retry batch')), { timeout: 5000 }).toBe(true);
      await expect.poll(async () => runtime.queue.getJob(id!), { timeout: 5000 }).toBeUndefined();
      expect(t.receiver.requests).toHaveLength(0);
      expect((await getRecord(runtime.history, id!))?.attempts).toHaveLength(1);
      expect(await runtime.queues.slow.getJob(retryId)).toBeDefined();
    } finally {
      await worker.close();
    }
  });

  it('a lone job taken over after its worker died sends again when the retry batch its record names does not hold its next attempt (a stale name)', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/sn?e={event_id}` }]);
    const [id] = await produce(stack, 'sn', 1, 'ep');
    const now = Date.now();
    // Attempt 1 recorded with no retry batch named: the field still names one from before, which starts at attempt 4.
    const staleId = 'rdeadbeef0003~0.0';
    await runtime.redis.hset(runtime.keys.record(id!), 'j', staleId);
    await new AttemptWriter(runtime.history).write(id!, attemptRecord(1, 'http_status', 500), 'retrying', now, now);
    await addRetryBatch(stack, staleId, [id!], 3, 600_000, true);
    await markStalled(stack, id!);
    const worker = startWorker(runtime);
    try {
      const r = await stack.waitFinal(id!);
      expect(r.status).toBe('delivered');
      expect(t.receiver.requests.map((q) => q.url)).toEqual(['/sn?e=sn-0']);
    } finally {
      await worker.close();
    }
  });

  it("a retry batch gives a postback a job of its own only once the job that handed it over is gone (BullMQ would drop the add as a duplicate id)", async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/hd?e={event_id}` }]);
    t.receiver.responder = (_r, _i, res) => respond(500)(res);
    const [id] = await produce(stack, 'hd', 1, 'ep');
    const lone = (await runtime.queue.getJob(id!))!;
    const data = lone.data as DeliveryJobData;
    await lone.remove();
    // Attempt 1 recorded, handed to retry batch R (due now); the lone job that did so still exists.
    const now = Date.now();
    const retryId = 'rdeadbeef0002~0.0';
    await new AttemptWriter(runtime.history).write(id!, attemptRecord(1, 'circuit_open'), 'retrying', now, now, retryId);
    await runtime.queue.add(JOB_NAME, { ...data, u: `${data.u}&holder=1` }, { jobId: id!, delay: 600_000 });
    await addRetryBatch(stack, retryId, [id!], 1, 0);
    const worker = startWorker(runtime);
    try {
      // R sends attempt 2 (500: the endpoint is healthy, so its retry is a job of its own) and waits for the id.
      await expect.poll(async () => (await getRecord(runtime.history, id!))?.attempts.length, { timeout: 5000 }).toBe(2);
      await new Promise((r) => setTimeout(r, 500));
      expect(((await runtime.queue.getJob(id!))!.data as DeliveryJobData).u).toContain('holder=1');
      await (await runtime.queue.getJob(id!))!.remove();
      await expect.poll(async () => ((await runtime.queue.getJob(id!))?.data as DeliveryJobData | undefined)?.a0, { timeout: 5000 }).toBe(2);
      expect(((await runtime.queue.getJob(id!))!.data as DeliveryJobData).u).not.toContain('holder=1');
    } finally {
      await worker.close();
    }
  });

  it('a retry batch run again (its worker killed after recording, before adding the next batch) gives a postback whose next batch is missing a job of its own, leaves one whose next batch exists, and sends the rest', async () => {
    const stack = await t.start({ BATCH_SIZE: '10' }, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/rb?e={event_id}` }]);
    const ids = await produce(stack, 'rb', 4, 'ep');
    const [missing, held, ...rest] = ids;
    // The first attempts' batch is done with: its attempts are recorded below.
    const firstBatch = (await runtime.redis.hget(runtime.keys.record(ids[0]!), 'j'))!;
    await (await runtime.queue.getJob(firstBatch))!.remove();
    // Attempt 1 failed for all four, which went on to retry batch P (attempt 2) ...
    const parent = `${firstBatch}~1.0`;
    const now = Date.now();
    const writer = new AttemptWriter(runtime.history);
    for (const id of ids) await writer.write(id, attemptRecord(1, 'circuit_open'), 'retrying', now, now, parent);
    await addRetryBatch(stack, parent, ids, 1, 0);
    // ... whose worker recorded attempt 2 of two of them and died: one's next batch was added, the other's not.
    await writer.write(missing!, attemptRecord(2, 'circuit_open'), 'retrying', now, now + 60_000, `${parent}~1.0`);
    await writer.write(held!, attemptRecord(2, 'circuit_open'), 'retrying', now, now + 60_000, `${parent}~1.1`);
    await addRetryBatch(stack, `${parent}~1.1`, [held!], 2, 60_000);
    // P as a killed worker leaves it: started once, its lock gone.
    await runtime.redis.hset(`${runtime.queues.slow.qualifiedName}:${parent}`, 'ats', '1');
    const worker = startWorker(runtime);
    try {
      for (const id of rest) {
        const r = await stack.waitFinal(id);
        expect(r.status).toBe('delivered');
        expect(r.attempts.map((a) => a.n)).toEqual([1, 2]);
      }
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/rb?e=rb-2', '/rb?e=rb-3']);
      // The one whose next batch is missing: a job of its own, attempt 3 next, on its schedule.
      await expect.poll(async () => (await runtime.queue.getJob(missing!))?.data as DeliveryJobData | undefined, { timeout: 5000 }).toMatchObject({ a0: 2 });
      expect((await runtime.queue.getJob(missing!))!.delay).toBeGreaterThan(55_000);
      // The other: only its next batch holds it.
      expect(await runtime.queue.getJob(held!)).toBeUndefined();
      expect(await runtime.queues.slow.getJob(held!)).toBeUndefined();
      expect(await runtime.queues.slow.getJob(`${parent}~1.1`)).toBeDefined();
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
