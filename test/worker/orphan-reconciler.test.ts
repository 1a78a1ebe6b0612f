import type { DeliveryJobData } from '../../src/queue/job-data.js';
import { describe, expect, it } from 'vitest';
import { newPostbackId } from '../../src/endpoints/postback-id.js';
import { validateEvents } from '../../src/events/validate-event.js';
import { createRecords } from '../../src/history/create-records.js';
import { getRecord } from '../../src/history/get-record.js';
import { AttemptWriter } from '../../src/history/record-attempt.js';
import { OrphanReconciler } from '../../src/worker/orphan-reconciler.js';
import { startWorker } from '../../src/worker/worker-service.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

const GRACE_MS = 120_000;
const TOKEN = 'tok-secret-1234';

/**
 * What a producer that crashed between writing records and `addBulk` leaves behind: the
 * `queued` record (request masked, replayable request tokenized, index entry) and the
 * dedupe claim, written exactly as Producer.enqueue writes them, and no job.
 */
async function writeOrphan(stack: Stack, endpointId: string, eventId: string, createdMs: number, nextAttemptMs = createdMs, batchJobId?: string): Promise<string> {
  const { runtime } = stack;
  const ep = runtime.registry.get(endpointId);
  const [event] = validateEvents([{ id: eventId, type: 'conversion', endpoint_id: endpointId }]);
  const id = newPostbackId(createdMs);
  const request = ep.render(event!, id);
  const masked = ep.maskRequest(request);
  expect(await runtime.redis.set(runtime.keys.dedupe(eventId, ep.dedupeScope), '1', 'PX', 86_400_000, 'NX')).toBe('OK');
  await createRecords(runtime.history, [
    {
      id,
      data: { event_id: eventId, endpoint_id: endpointId, publisher_id: null, offer_id: null, advertiser_name: null, payout: null, currency: null, created_ms: createdMs, request: masked },
      replayRequest: masked === request ? undefined : ep.tokenizeRequest(request),
      nextAttemptMs,
      batchJobId,
    },
  ]);
  return id;
}

async function jobExists(stack: Stack, id: string): Promise<boolean> {
  const jobs = await Promise.all(Object.values(stack.runtime.queues).map((q) => q.getJob(id)));
  return jobs.some((j) => j !== undefined);
}

describe('orphan reconciler', () => {
  const t = usePerTestStacks();

  function reconciler(stack: Stack): OrphanReconciler {
    const { runtime } = stack;
    return new OrphanReconciler(
      { history: runtime.history, registry: runtime.registry, queues: runtime.queues, health: runtime.health, logger: runtime.logger },
      { graceMs: GRACE_MS },
    );
  }

  it('a batched postback is an orphan only once its batch job is gone: re-enqueued as a job of its own and delivered', async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/pb?e={event_id}` }]);
    const t0 = Date.now();
    // A live batch (as the producer writes it) and a record whose batch job no longer exists.
    const produced = await runtime.producer.produce([1, 2, 3].map((i) => ({ id: `live-${i}`, type: 'conversion', endpoint_id: 'ep' })), { batch: true });
    const live = produced.flatMap((r) => r.postbacks);
    const batchId = await runtime.redis.hget(runtime.keys.record(live[0]!), 'j');
    expect(batchId).toMatch(/^b/);
    expect(await runtime.queue.getJob(batchId!)).toBeDefined();
    const lost = await writeOrphan(stack, 'ep', 'lost-batch-1', t0, t0, 'b-no-such-batch');

    const run = await reconciler(stack).reconcileOnce(Date.now() + GRACE_MS + 1000);
    expect(run).toMatchObject({ ran: true, requeued: [lost], failed: [] });
    for (const id of live) expect(await jobExists(stack, id)).toBe(false);
    expect(await jobExists(stack, lost)).toBe(true);

    const worker = startWorker(runtime);
    try {
      for (const id of [...live, lost]) expect((await stack.waitFinal(id)).status).toBe('delivered');
      expect(t.receiver.requests.map((r) => r.url).sort()).toEqual(['/pb?e=live-1', '/pb?e=live-2', '/pb?e=live-3', '/pb?e=lost-batch-1']);
    } finally {
      await worker.close();
    }
  });

  it('a postback retrying in a batch is no orphan while its retry batch, or the batch job adding it, exists; once both are gone it is re-enqueued with its attempts carried on', async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/pb?e={event_id}` }]);
    const t0 = Date.now();
    const placeholder = { v: 3 as const, p: [], i: [] };
    // The batch job that recorded attempt 1 and is adding the retry batch its record names.
    await runtime.queues.slow.add('batch', placeholder, { jobId: 'bparent', delay: 600_000 });
    const adding = await writeOrphan(stack, 'ep', 'adding-1', t0, t0, 'bparent~1.0');
    // One whose retry batch exists, its parent gone.
    await runtime.queues.slow.add('batch', placeholder, { jobId: 'bother~1.0', delay: 600_000 });
    const waiting = await writeOrphan(stack, 'ep', 'waiting-1', t0, t0, 'bother~1.0');
    for (const id of [adding, waiting]) await new AttemptWriter(runtime.history).write(id, { n: 1, started_at: new Date(t0).toISOString(), duration_ms: 0, status_code: 0, error: 'circuit_open', phase: null, response_excerpt: '' }, 'retrying', t0, t0);

    expect(await reconciler(stack).reconcileOnce(Date.now() + GRACE_MS + 1000)).toMatchObject({ ran: true, requeued: [], failed: [] });
    await (await runtime.queues.slow.getJob('bparent'))!.remove();
    // The scan passes an entry once; start this one over (as after every worker was down a while).
    await runtime.redis.del(runtime.keys.orphansPosition);
    const run = await reconciler(stack).reconcileOnce(Date.now() + GRACE_MS + 1000);
    expect(run).toMatchObject({ ran: true, requeued: [adding], failed: [] });
    const job = [await runtime.queue.getJob(adding), await runtime.queues.slow.getJob(adding)].find((j) => j !== undefined);
    expect((job!.data as DeliveryJobData).a0).toBe(1);
  });

  it('settles a batch that failed for good: a postback held by the retry batch it went on to is left to it, one the failed batch still names gets a job of its own', async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/pb?e={event_id}` }]);
    const t0 = Date.now();
    await runtime.queues.slow.add('batch', { v: 3, p: [], i: [] }, { jobId: 'bdead~1.0', delay: 600_000 });
    const movedOn = await writeOrphan(stack, 'ep', 'moved-on-1', t0, t0, 'bdead~1.0');
    const stuck = await writeOrphan(stack, 'ep', 'stuck-1', t0, t0, 'bdead');
    expect(await reconciler(stack).settleBatch([movedOn, stuck], 'bdead')).toBe(1);
    expect(await jobExists(stack, movedOn)).toBe(false);
    expect(await jobExists(stack, stuck)).toBe(true);
  });

  it('re-enqueues an orphan under its own id (delivered with its secret restored), leaves a record with a job and a fresh one alone, fails one whose endpoint is gone', async () => {
    // No worker yet: jobs stay where the producer put them while the reconciler looks.
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([
      { id: 'ep', url: `${t.receiver.base}/pb?e={event_id}&t={security_token}`, security_token: TOKEN },
      { id: 'gone', url: `${t.receiver.base}/gone?e={event_id}` },
    ]);
    const t0 = Date.now();
    const orphan = await writeOrphan(stack, 'ep', 'orphan-1', t0);
    const fresh = await writeOrphan(stack, 'ep', 'fresh-1', t0 + 60_000, t0);
    const lost = await writeOrphan(stack, 'gone', 'lost-1', t0);
    await runtime.registry.remove('gone');
    const produced = await runtime.producer.produce([{ id: 'with-job-1', type: 'conversion', endpoint_id: 'ep' }]);
    const withJob = produced[0]!.postbacks[0]!;
    const jobBefore = await runtime.queue.getJob(withJob);
    expect(jobBefore).toBeDefined();

    // The orphan's dedupe claim holds: the network's own retry of the event is a duplicate.
    const again = await runtime.producer.produce([{ id: 'orphan-1', type: 'conversion', endpoint_id: 'ep' }]);
    expect(again[0]).toMatchObject({ duplicate: true, postbacks: [] });

    const rec = reconciler(stack);
    const run = await rec.reconcileOnce(t0 + GRACE_MS + 1000);
    expect(run).toMatchObject({ ran: true, requeued: [orphan], failed: [lost] });
    expect(run.scanned).toBe(3); // orphan, lost, withJob: the fresh one is past the window's end

    expect(await jobExists(stack, orphan)).toBe(true);
    expect(await jobExists(stack, fresh)).toBe(false);
    expect((await getRecord(runtime.history, fresh))?.status).toBe('queued');
    const jobAfter = await runtime.queue.getJob(withJob);
    expect(jobAfter?.timestamp).toBe(jobBefore!.timestamp);
    const failed = await getRecord(runtime.history, lost);
    expect(failed).toMatchObject({ status: 'failed', attempts: [] });
    expect((await runtime.redis.hget(runtime.keys.record(lost), 'e'))).toBe('orphaned');
    expect(stack.logs.lines.some((l) => l.includes('orphaned postback re-enqueued') && l.includes(orphan))).toBe(true);
    expect(stack.logs.lines.some((l) => l.includes('orphaned postback marked failed') && l.includes('endpoint_unknown'))).toBe(true);

    const worker = startWorker(runtime);
    try {
      const delivered = await stack.waitFinal(orphan);
      expect(delivered).toMatchObject({ id: orphan, status: 'delivered', event_id: 'orphan-1' });
      expect(delivered.attempts).toHaveLength(1);
      expect((await stack.waitFinal(withJob)).status).toBe('delivered');
      const urls = t.receiver.requests.map((r) => r.url).sort();
      expect(urls).toEqual([`/pb?e=orphan-1&t=${TOKEN}`, `/pb?e=with-job-1&t=${TOKEN}`]);
      // History still shows the token masked.
      expect(delivered.request.url).not.toContain(TOKEN);

      // Incremental: the next run reads on from where the last stopped, and the fresh record,
      // now past its grace, is the only entry it reads.
      const later = await rec.reconcileOnce(t0 + 60_000 + GRACE_MS + 1000);
      expect(later).toMatchObject({ ran: true, scanned: 1, requeued: [fresh], failed: [] });
      expect((await stack.waitFinal(fresh)).status).toBe('delivered');
      expect(t.receiver.requests.filter((r) => r.url === `/pb?e=orphan-1&t=${TOKEN}`)).toHaveLength(1);
    } finally {
      await rec.stop();
      await worker.close();
    }
  });

  it('re-enqueues a retrying orphan with the attempts it made: the next attempt is number 2', async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/r?e={event_id}` }]);
    const t0 = Date.now();
    const id = await writeOrphan(stack, 'ep', 'retry-1', t0);
    const first = { n: 1, started_at: new Date(t0).toISOString(), duration_ms: 3, status_code: 500, error: 'http_status', phase: null, response_excerpt: '' };
    expect(await new AttemptWriter(runtime.history).write(id, first, 'retrying', t0, t0)).toBe(true);

    const rec = reconciler(stack);
    expect(await rec.reconcileOnce(t0 + GRACE_MS + 1000)).toMatchObject({ requeued: [id] });
    const job = await runtime.queue.getJob(id);
    expect((job?.data as DeliveryJobData | undefined)?.a0).toBe(1);
    expect(job?.opts.attempts).toBe(runtime.config.retryScheduleS.length - 1);

    const worker = startWorker(runtime);
    try {
      const record = await stack.waitFinal(id);
      expect(record.status).toBe('delivered');
      expect(record.attempts.map((a) => [a.n, a.status_code])).toEqual([[1, 500], [2, 200]]);
    } finally {
      await worker.close();
    }
  });

  it("keeps the record's next attempt time (delay_s): the job waits for it", async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/d?e={event_id}`, delay_s: 300 }]);
    const t0 = Date.now();
    const id = await writeOrphan(stack, 'ep', 'delayed-1', t0, t0 + 300_000);
    expect(await reconciler(stack).reconcileOnce(t0 + GRACE_MS + 1000)).toMatchObject({ requeued: [id] });
    const job = await runtime.queue.getJob(id);
    expect(job?.delay).toBeGreaterThan(290_000);
    expect(await job?.isDelayed()).toBe(true);
  });

  it('runs once at a time across reconcilers: a second one finds the lock taken and does nothing', async () => {
    const stack = await t.start({}, { worker: false });
    const { runtime } = stack;
    await runtime.registry.upsert([{ id: 'ep', url: `${t.receiver.base}/x?e={event_id}` }]);
    const t0 = Date.now();
    const id = await writeOrphan(stack, 'ep', 'lock-1', t0);
    const [a, b] = [reconciler(stack), reconciler(stack)];
    const runs = await Promise.all([a.reconcileOnce(t0 + GRACE_MS + 1000), b.reconcileOnce(t0 + GRACE_MS + 1000)]);
    expect(runs.map((r) => r.ran).sort()).toEqual([false, true]);
    expect(runs.flatMap((r) => r.requeued)).toEqual([id]);
    // The lock is released after a run, and the shared position means nothing is read twice.
    expect(await b.reconcileOnce(t0 + GRACE_MS + 2000)).toMatchObject({ ran: true, scanned: 0, requeued: [] });
  });
});
