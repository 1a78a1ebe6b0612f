import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Outcome } from '../delivery/classify.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { subjectOf } from '../health/health-state.js';
import { originOf } from '../health/origin.js';
import { readBatchRecords, type PendingRecord } from '../history/read-batch-records.js';
import { takeTurns, type ChainWait } from '../history/take-turns.js';
import { retryBatchId } from '../history/batch-link.js';
import { deliveryJobOptions } from '../queue/delivery-job.js';
import { laneJobPrefixes } from '../queue/delivery-queue.js';
import { JobDataError } from '../queue/errors.js';
import { JOB_NAME, decodeBatch, itemJobData, type BatchItem, type DecodedBatch, type DecodedPolicy, type QueueJobData } from '../queue/job-data.js';
import { jobKeys } from '../redis/job-keys.js';
import { isRedisUnavailable } from '../redis/redis-unavailable.js';
import type { AcquireMode } from './adaptive-limiter.js';
import { CIRCUIT_OPEN, DISABLED, SIGNER_MISSING } from './attempt-outcome.js';
import { JobAdder } from './job-adder.js';
import { JobPolicies, type JobPolicy } from './job-policy.js';
import type { OpenCircuitGate } from './open-circuit-gate.js';
import { recheckTurn, turnWaitMs } from './ordering-turn.js';
import type { ProcessorDeps } from './processor-deps.js';
import { recordOutcome } from './record-outcome.js';
import { recordWithRetry } from './record-with-retry.js';
import { RetryBatches, type RetryGroup } from './retry-batches.js';
import { sendAttempt } from './send-attempt.js';
import { slowLaneTurn } from './slow-lane-turn.js';

/** How long an origin may go without answering (or a waiting line without moving) before a batch's items go to the slow lane instead. */
const SLOT_STALL_MS = 1000;
/** How soon a batch that met Redis away before reading its records is tried again. */
const REDIS_AWAY_RETRY_MS = 1000;

/** How many of a batch's items start in one turn of the event loop. */
const START_GROUP = 8;


const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What became of one item of a batch. */
type ItemResult = 'delivered' | 'retrying' | 'failed' | 'moved' | 'waiting' | 'done_before';

interface Tally {
  delivered: number;
  retrying: number;
  failed: number;
  moved: number;
  waiting: number;
  done_before: number;
}

/** A batch job's run: where its items stand, and the retry batches it is filling. */
interface Run {
  readonly jobId: string;
  /** Attempts each item made before this job (0: first attempts). */
  readonly made: number;
  readonly sentBefore: boolean;
  readonly retries: RetryBatches;
}

/**
 * A batch job: the first attempts of several postbacks of one produce call, in the fast
 * lane (healthy endpoints) or the slow lane (degraded or open ones; never ordered ones),
 * or a later attempt of several postbacks of degraded or open endpoints that retry
 * together (slow lane).
 * 1. One pipeline reads their records: status, and the request when the job does not hold it.
 *    A batch run again (its worker died, or it failed) skips what was already recorded, and
 *    makes sure a postback recorded `retrying` has its next job: it repeats at most what
 *    was in flight.
 * 2. Each item is gated as a lone job would be (an ordered endpoint's item whose key's turn
 *    is an earlier postback's: its own job, waiting; disabled: final). Fast lane: not
 *    healthy, its own job on the slow lane; it waits in line here for a slot at its origin
 *    (unless the origin does not answer: see AdaptiveLimiter.acquire; then the slow lane
 *    takes it), and is sent. Slow lane: an open circuit's items are gated here as a lone
 *    job is (OpenCircuitGate: the probe, a last chance, else `circuit_open`, sending
 *    nothing); the others take the governor's pace, and are sent if their origin has a
 *    slot, else become jobs of their own (parked as lone jobs are). Jobs of their own are
 *    added an addBulk per turn of the event loop (JobAdder).
 * 3. Outcomes are recorded as they come, coalesced into script calls (AttemptWriter). A
 *    postback that must retry at a degraded or open endpoint joins a retry batch (one job
 *    for many: an open circuit's backlog costs a job per batch and attempt, not one per
 *    postback and attempt); any other becomes a job of its own on its schedule, added after
 *    its record. Only then does the batch complete.
 * One info line per batch; per-postback lines at debug, failures at warn.
 */
export function createBatchProcessor(deps: ProcessorDeps, gate: OpenCircuitGate): (job: Job<QueueJobData>, token?: string) => Promise<void> {
  const policies = new JobPolicies(deps.registry);
  const { limiter, board, reporter, queues, governor } = deps;
  const slowLane = deps.lane === 'slow';
  const jobKeyPrefixes = laneJobPrefixes(queues);

  const adders = { fast: new JobAdder(queues.fast), slow: new JobAdder(queues.slow) };
  /**
   * The item as a job of its own: a retry (attempts made), a lane move or a wait for its
   * turn. A slow-lane batch's items that leave it due now (over their origin's limit) go to
   * the head of the lane: they waited their turn in it.
   */
  const ownJob = async (item: BatchItem, request: RenderedRequest, made: number, delayMs: number, lane: 'fast' | 'slow'): Promise<Job> => {
    const data = itemJobData(item.policyData, request, made);
    const opts = deliveryJobOptions(item.postbackId, item.policy.scheduleS.length - made, Math.max(0, delayMs));
    return adders[lane].add(JOB_NAME, data, slowLane && lane === 'slow' && delayMs <= 0 ? { ...opts, lifo: true } : opts);
  };

  /**
   * A retry batch's item as a job of its own: only once the lone job that handed it over
   * (same id) is gone, else BullMQ would drop the add as a duplicate id; until then the
   * item fails and the batch runs again a second later (what it recorded is kept).
   */
  const ownJobFrom = async (run: Run, item: BatchItem, request: RenderedRequest, made: number, delayMs: number, lane: 'fast' | 'slow'): Promise<Job> => {
    if (run.made > 0 && (await hasOwnJob(item.postbackId))) throw new Error(`postback ${item.postbackId} is still held by the job that handed it to this retry batch: run again`);
    return ownJob(item, request, made, delayMs, lane);
  };

  /** Whether a job of the postback's own exists in either lane. */
  const hasOwnJob = async (postbackId: string): Promise<boolean> => (await deps.redis.exists(...jobKeys(jobKeyPrefixes, postbackId))) > 0;

  /** An ordered item whose key's turn is an earlier postback's: a job of its own, waiting (no attempt used). */
  const waitForTurn = async (item: BatchItem, request: RenderedRequest, wait: ChainWait): Promise<ItemResult> => {
    const own = await ownJob(item, request, 0, turnWaitMs(wait, Date.now()), 'fast');
    deps.metrics.orderingWaits.inc();
    await recheckTurn(deps.history, item.postbackId, () => own.promote()).catch((err: unknown) => deps.logger.debug({ postbackId: item.postbackId, err }, 'turn recheck failed'));
    return 'waiting';
  };

  /** A batch's items share their decoded policy objects: resolve each once per batch, not per postback. */
  const resolved = new WeakMap<DecodedPolicy, Promise<JobPolicy>>();
  const resolve = (p: DecodedPolicy): Promise<JobPolicy> => {
    let r = resolved.get(p);
    if (r === undefined) resolved.set(p, (r = policies.resolve(p)));
    return r;
  };

  const deliver = async (item: BatchItem, request: RenderedRequest, run: Run): Promise<ItemResult> => {
    const { postbackId, policy: p } = item;
    const endpointId = p.endpointId;
    const subject = subjectOf(endpointId, request.url);
    const origin = originOf(request.url);
    const state = deps.registry.find(endpointId)?.enabled === false ? 'disabled' : board.stateOf(subject);
    const schedule = p.scheduleS.length > 0 ? p.scheduleS : deps.defaultScheduleS;
    const n = run.made + 1;
    const timeoutMs = Math.min(p.timeoutMs, deps.maxAttemptMs);
    let outcome: Outcome | undefined;
    let mode: AcquireMode = 'adaptive';
    let probing = false;
    if (state === 'disabled') outcome = DISABLED;
    else if (!slowLane && state !== 'healthy') {
      // Fast lane: the slow lane takes it.
      await ownJob(item, request, run.made, 0, 'slow');
      deps.metrics.laneMoves.inc({ reason: state });
      return 'moved';
    } else if (state === 'open') {
      const send = await gate.decide(subject, timeoutMs, n >= schedule.length && !run.sentBefore);
      if (send === undefined) outcome = CIRCUIT_OPEN;
      else ({ mode, probing } = send);
    }
    const policy = await resolve(p);
    if (outcome === undefined && policy.signerMissing) outcome = SIGNER_MISSING;
    let startedMs = Date.now();
    let durationMs = 0;
    let requested = false;
    if (outcome === undefined) {
      // Slow lane: paced as a lone job is; over its origin's limit it becomes one (before
      // waiting for the pace: it would only find the origin as full), and is parked as one
      // (no attempt used). When stopping it is handed on the same way. The circuit may have
      // opened while it waited for the pace: then the lone job's rules apply. The probe and
      // a last chance are not paced: one per circuit, and one per postback at most.
      const release = !slowLane
        ? await limiter.acquire(origin, SLOT_STALL_MS)
        : mode !== 'adaptive'
          ? limiter.tryAcquire(origin, mode)
          : (await slowLaneTurn(governor, limiter, board, origin, subject)) === 'ready'
            ? limiter.tryAcquire(origin, mode)
            : undefined;
      if (release === undefined) {
        // Fast lane: held below its ceiling, the origin is congested (or still unproven).
        await ownJobFrom(run, item, request, run.made, 0, 'slow');
        if (!slowLane) deps.metrics.laneMoves.inc({ reason: 'origin_limit' });
        return 'moved';
      }
      const sent = await sendAttempt(
        { dispatcher: deps.dispatcher, reporter, slowMs: deps.policy.slowMs },
        { postbackId, subject, lane: deps.lane, request, policy, timeoutMs, release },
      );
      ({ startedMs, durationMs } = sent);
      outcome = sent.outcome;
      requested = true;
      // A probe's answer should close (or keep open) the circuit for every worker now.
      if (probing) reporter.flush().catch((err: unknown) => deps.logger.warn({ err }, 'health flush failed'));
    }
    // Its next attempt goes in a retry batch while the endpoint is not healthy (ordered
    // endpoints' postbacks keep jobs of their own: they take turns one by one).
    const joins = !p.ordered && board.laneOf(subject) === 'slow';
    const sentSoFar = run.sentBefore || requested;
    const joined: { group?: RetryGroup } = {};
    let settled;
    let written = false;
    try {
      settled = await recordOutcome(
        deps,
        { postbackId, endpointId, subject, outcome, n, maxAttempts: schedule.length, scheduleS: schedule, startedMs, durationMs, masker: policy.masker },
        'debug',
        joins ? (delayMs) => (joined.group = run.retries.join(n, delayMs, sentSoFar)).id : undefined,
      );
      joined.group?.members.push({ postbackId, policy: item.policyData, request: item.request });
      written = true;
    } finally {
      if (joined.group !== undefined) run.retries.written(joined.group, written);
    }
    const { status, nextMs } = settled;
    if (status === 'retrying' && joined.group === undefined) await recordWithRetry(() => ownJobFrom(run, item, request, n, nextMs! - Date.now(), board.laneOf(subject)), deps.maxAttemptMs);
    // Requests started together end together (a dead origin's timeouts): in the slow lane,
    // what follows the record is paced too, as a lone job's completion is.
    if (slowLane && mode === 'adaptive' && durationMs > 0) await governor?.pace();
    return status;
  };

  /**
   * Whether a job holds the postback's next attempt: one of its own in either lane, or the
   * retry batch its record names, unless that is this very job (run again: it never added it).
   */
  const hasNextJob = async (postbackId: string, batch: string | undefined, thisJob: string): Promise<boolean> => {
    const ids = batch !== undefined && batch !== thisJob ? [postbackId, batch] : [postbackId];
    return (await deps.redis.exists(...jobKeys(jobKeyPrefixes, ...ids))) > 0;
  };

  /** An item run before (this batch again): leave it, or make sure its next job exists. */
  const resume = async (item: BatchItem, rec: PendingRecord, request: RenderedRequest, run: Run): Promise<ItemResult | undefined> => {
    if (rec.status === 'delivered' || rec.status === 'failed') return 'done_before';
    if (rec.count > run.made) {
      // This batch recorded its attempt before. Its next job may not have been added before
      // the crash. Look in both lanes first: adding an id is a no-op only within one queue,
      // and health may have moved since.
      if (rec.status === 'retrying' && !(await hasNextJob(item.postbackId, rec.batch, run.jobId))) {
        await ownJob(item, request, rec.count, (rec.nextMs ?? 0) - Date.now(), board.laneOf(subjectOf(item.policy.endpointId, request.url)));
      }
      return 'done_before';
    }
    if (rec.ownJob) return 'done_before'; // moved to a job of its own before
    return undefined;
  };

  /** The items of ordered endpoints, about to make their first attempt, that must wait for their key's turn (one script call). */
  const orderingWaits = async (items: readonly BatchItem[], records: readonly (PendingRecord | undefined)[]): Promise<Map<number, ChainWait>> => {
    const at: number[] = [];
    items.forEach((item, i) => {
      const rec = records[i];
      if (item.policy.ordered && rec?.status === 'queued' && !rec.ownJob) at.push(i);
    });
    const waits = new Map<number, ChainWait>();
    if (at.length === 0) return waits;
    const turns = await takeTurns(deps.history, at.map((i) => items[i]!.postbackId));
    turns.forEach((wait, k) => wait !== undefined && waits.set(at[k]!, wait));
    return waits;
  };

  return async (job, token) => {
    const started = Date.now();
    let batch: DecodedBatch;
    try {
      batch = decodeBatch(job.data);
    } catch (err) {
      if (!(err instanceof JobDataError)) throw err;
      // The worker's failed handler then gives each postback it can name a job of its own.
      deps.logger.error({ batchId: job.id, err }, 'batch job data not readable');
      throw new UnrecoverableError(err.message);
    }
    const { items } = batch;
    const run: Run = {
      jobId: job.id!,
      made: batch.attemptsBefore,
      sentBefore: batch.sentBefore,
      retries: new RetryBatches(adders.slow, (k) => retryBatchId(job.id!, job.attemptsStarted, k), { keepFailed: true }),
    };
    const rerun = job.attemptsStarted > 1 || job.attemptsMade > 0;
    let records: (PendingRecord | undefined)[];
    try {
      records = await readBatchRecords(deps.history, items.map((i) => ({ postbackId: i.postbackId, needRequest: i.request === undefined })), rerun ? jobKeyPrefixes : undefined);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      // Nothing sent yet: back to the delayed set, using no attempt.
      await job.moveToDelayed(Date.now() + REDIS_AWAY_RETRY_MS, token);
      throw new DelayedError();
    }
    if (deps.fastLag !== undefined && !rerun) {
      // The slow lane yields when healthy postbacks start late: a batch counts for each of
      // its postbacks, lateness taken once its records are read, just before they go out.
      deps.fastLag.observeFastLag(Date.now() - job.timestamp - (job.opts.delay ?? 0), items.length);
    }
    let waits: Map<number, ChainWait>;
    try {
      waits = await orderingWaits(items, records);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      await job.moveToDelayed(Date.now() + REDIS_AWAY_RETRY_MS, token);
      throw new DelayedError();
    }
    const tally: Tally = { delivered: 0, retrying: 0, failed: 0, moved: 0, waiting: 0, done_before: 0 };
    let gone = 0;
    // Start a batch's items a group per turn of the event loop: each start is synchronous work
    // (gate, sign, write the request or a job), and a hundred at once would hold the loop.
    const turns: Promise<void>[] = [Promise.resolve()];
    for (let g = 1; g * START_GROUP < items.length; g++) turns.push(turns[g - 1]!.then(nextTurn));
    // Every item settles before the batch does: one that failed to record must not let the
    // batch be run again while the others are still in flight.
    const settled = await Promise.allSettled(
      items.map(async (item, i) => {
        if (i >= START_GROUP) await turns[Math.floor(i / START_GROUP)];
        const rec = records[i];
        const request = item.request ?? rec?.request;
        if (rec === undefined || request === undefined) {
          gone++; // expired, or its enqueue was undone: nothing to send
          return;
        }
        const wait = waits.get(i);
        const result = (await resume(item, rec, request, run)) ?? (wait !== undefined ? await waitForTurn(item, request, wait) : await deliver(item, request, run));
        tally[result]++;
      }),
    );
    // The retry batches last: their members' records name them (a failure here runs this
    // batch again, which gives a member whose retry batch is missing a job of its own).
    settled.push(...(await Promise.allSettled([run.retries.finish()])));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      deps.logger.error({ batchId: job.id, postbacks: items.length, ...tally, err: failure.reason as unknown }, 'batch stopped: it runs again, skipping what it recorded');
      throw failure.reason;
    }
    deps.logger.info({ batchId: job.id, ...(run.made > 0 ? { attempt: run.made + 1 } : {}), postbacks: items.length, ...tally, ...(gone > 0 ? { gone } : {}), ms: Date.now() - started }, 'batch done');
  };
}
