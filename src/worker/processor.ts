import { randomBytes } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Outcome } from '../delivery/classify.js';
import { subjectOf, type HealthState } from '../health/health-state.js';
import { originOf } from '../health/origin.js';
import type { HistoryContext } from '../history/history-context.js';
import { markFailedIfPending } from '../history/mark-failed.js';
import { laneJobPrefixes } from '../queue/delivery-queue.js';
import { JobDataError } from '../queue/errors.js';
import { BATCH_JOB_NAME, batchPostbackIds, decodeJob, policyDataOf, type BatchJobData, type DeliveryJob, type DeliveryJobData, type PolicyData, type QueueJobData } from '../queue/job-data.js';
import { parentBatchId, retryBatchId } from '../history/batch-link.js';
import { readBatchRecords, type PendingRecord } from '../history/read-batch-records.js';
import { getRecord } from '../history/get-record.js';
import { takeTurns } from '../history/take-turns.js';
import { jobKeys } from '../redis/job-keys.js';
import { isRedisUnavailable } from '../redis/redis-unavailable.js';
import type { AcquireMode } from './adaptive-limiter.js';
import { AttemptFailedError } from './attempt-errors.js';
import { CIRCUIT_OPEN, DISABLED, SIGNER_MISSING } from './attempt-outcome.js';
import { createBatchProcessor } from './batch-processor.js';
import { BoundedCache } from './bounded-cache.js';
import { JobAdder } from './job-adder.js';
import { OpenCircuitGate } from './open-circuit-gate.js';
import type { ProcessorDeps } from './processor-deps.js';
import { recordOutcome } from './record-outcome.js';
import { sendAttempt } from './send-attempt.js';
import { slowLaneTurn } from './slow-lane-turn.js';
import { JobPolicies } from './job-policy.js';
import { recheckTurn, turnWaitMs } from './ordering-turn.js';
import { RetryBatches, type RetryGroup } from './retry-batches.js';


/**
 * One delivery attempt per call, gated by the endpoint's health:
 * - disabled: final `failed` (`disabled`), nothing sent;
 * - fast lane: an endpoint that is not healthy, or an origin over an adaptive limit cut
 *   below its ceiling, moves to the slow lane (no attempt used), so healthy endpoints never
 *   wait behind it; a healthy origin at its ceiling is parked, as in the slow lane;
 * - slow lane, circuit open: one probe at a time is sent; other attempts are recorded as
 *   `circuit_open` and the schedule goes on, except a postback's last attempt when nothing
 *   was ever sent for it (a postback never fails without one real request);
 * - slow lane, origin over its limit: parked in the delayed set (no attempt used);
 * - an ordered endpoint's first attempt: waits in the delayed set (no attempt used) while an
 *   earlier postback of its ordering key is pending.
 * Then sign, send, classify, record, and tell BullMQ: return (delivered, or the next attempt
 * handed to a retry batch), AttemptFailedError (retry on the schedule) or UnrecoverableError
 * (final). History is written before BullMQ
 * hears of it, so a crash in between repeats the attempt rather than losing its record.
 */
export function createProcessor(deps: ProcessorDeps): (job: Job<QueueJobData>, token?: string) => Promise<void> {
  const gate = new OpenCircuitGate(deps.redis, deps.keys, deps.policy);
  const single = createSingleProcessor(deps, gate);
  const batch = createBatchProcessor(deps, gate);
  const { fastLag } = deps;
  return (job, token) => {
    if (job.name === BATCH_JOB_NAME) return batch(job, token); // observes its own lateness, per postback
    if (fastLag !== undefined && job.attemptsStarted <= 1 && job.attemptsMade === 0) {
      // Only a fast-lane job's first start tells lateness: a parked job is late on purpose.
      fastLag.observeFastLag(Date.now() - job.timestamp - (job.opts.delay ?? 0), 1);
    }
    return single(job as Job<DeliveryJobData>, token);
  };
}

function createSingleProcessor(deps: ProcessorDeps, gate: OpenCircuitGate): (job: Job<DeliveryJobData>, token?: string) => Promise<void> {
  const policies = new JobPolicies(deps.registry);
  // Retry batches of lone jobs' postbacks. Their ids name no parent job: while a group is
  // being added, its members' own jobs still exist, which is what the orphan scan sees.
  const retryPrefix = `r${randomBytes(6).toString('hex')}`;
  const retries = new RetryBatches(new JobAdder(deps.queues.slow), (k) => retryBatchId(retryPrefix, 0, k), { keepFailed: false });
  /** Equal policies as one object, so a retry batch stores each once. */
  const policyCache = new BoundedCache<PolicyData>(1000);
  const policyOf = (d: DeliveryJobData): PolicyData => {
    const p = policyDataOf(d);
    return policyCache.get(JSON.stringify(p), () => p);
  };
  const { lane, limiter, board, reporter, policy: health } = deps;

  return async (job, token) => {
    const { governor } = deps;
    const postbackId = job.id as string;
    let data: DeliveryJob;
    try {
      data = decodeJob(job.data);
    } catch (err) {
      if (!(err instanceof JobDataError)) throw err;
      // Guessing at another version's data could send the wrong request: fail it, visibly.
      deps.logger.error({ postbackId, err }, 'job data not readable: postback failed');
      await markFailedIfPending(deps.history, postbackId, 'config', Date.now());
      throw new UnrecoverableError(err.message);
    }
    // Redis away before anything was sent: no attempt is used, the job is tried again soon
    // (BullMQ would otherwise count an attempt that history never saw).
    const notNow = async (err: unknown): Promise<never> => {
      if (!isRedisUnavailable(err)) throw err;
      await job.moveToDelayed(Date.now() + REDIS_AWAY_RETRY_MS, token);
      throw new DelayedError();
    };
    if (job.stalledCounter > 0) {
      // Taken over from a worker that died: if that one recorded the postback final (it was
      // only finishing the job), sending again would repeat a request already answered, and
      // for an ordered endpoint it would arrive after the postbacks that followed it.
      const [rec] = await readBatchRecords(deps.history, [{ postbackId, needRequest: false }], undefined).catch(notNow);
      const status = rec?.status;
      if (status === 'delivered' || status === 'failed') {
        deps.logger.info({ postbackId, status }, 'stalled job already final: not sent again');
        return;
      }
      // Or it had recorded its attempt and handed the next to a retry batch, which holds the postback now.
      const holder = rec !== undefined && rec.count > job.attemptsMade + data.attemptsBefore ? await retryBatchHolding(deps, postbackId, rec).catch(notNow) : 'none';
      if (holder === 'holds') {
        deps.logger.info({ postbackId, batch: rec?.batch }, 'stalled job already handed to a retry batch: not sent again');
        return;
      }
      if (holder === 'being added') {
        // Named, not added yet, by a batch job still running: look again in a second.
        await job.moveToDelayed(Date.now() + REDIS_AWAY_RETRY_MS, token);
        throw new DelayedError();
      }
    }
    const made = job.attemptsMade + data.attemptsBefore;
    const n = made + 1;
    const maxAttempts = (job.opts.attempts ?? 1) + data.attemptsBefore;
    const { request, endpointId } = data;
    const subject = subjectOf(endpointId, request.url);
    const origin = originOf(request.url);
    const state: HealthState = deps.registry.find(endpointId)?.enabled === false ? 'disabled' : board.stateOf(subject);
    if (lane === 'slow' && governor?.isClosed === true) {
      // Stopping: back to the delayed set, due now, for the next worker (no attempt used).
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }

    if (data.ordered && made === 0) {
      // An ordered endpoint's first attempt waits while an earlier postback of its key is
      // pending: back to the delayed set (no attempt used) until that one is final.
      const [wait] = await takeTurns(deps.history, [postbackId]).catch(notNow);
      if (wait !== undefined) {
        await job.moveToDelayed(Date.now() + turnWaitMs(wait, Date.now()), token);
        deps.metrics.orderingWaits.inc();
        await recheckTurn(deps.history, postbackId, () => job.promote()).catch((err: unknown) => deps.logger.debug({ postbackId, err }, 'turn recheck failed'));
        throw new DelayedError();
      }
    }

    let outcome: Outcome | undefined;
    let mode: AcquireMode = 'adaptive';
    let probing = false;
    if (state === 'disabled') outcome = DISABLED;
    else if (lane === 'fast' && state !== 'healthy' && deps.toSlowLane) {
      await deps.toSlowLane(job, made, maxAttempts).catch(notNow);
      deps.metrics.laneMoves.inc({ reason: state });
      return;
    } else if (state === 'open') {
      const lastChance = n >= maxAttempts && (await sentBefore(deps.history, postbackId, n).catch(notNow)) === 0;
      const send = await gate.decide(subject, Math.min(data.timeoutMs, deps.maxAttemptMs), lastChance).catch(notNow);
      if (send === undefined) outcome = CIRCUIT_OPEN;
      else ({ mode, probing } = send);
    }

    const schedule = data.scheduleS.length > 0 ? data.scheduleS : deps.defaultScheduleS;
    const policy = await policies.resolve(data).catch(notNow);
    let startedMs = Date.now();
    let durationMs = 0;
    if (outcome === undefined && policy.signerMissing) outcome = SIGNER_MISSING;
    if (outcome === undefined) {
      // Slow lane: a request takes the governor's pace, as a batch's item does: not before
      // the origin has room (a parked job would only have held a token and the line), and not
      // for the probe or a last chance (one per circuit; one per postback at most). An
      // attempt an open circuit keeps back sends nothing and is not paced: it keeps its schedule.
      if (lane === 'slow' && mode === 'adaptive' && (await slowLaneTurn(governor, limiter, board, origin, subject)) === 'not now') {
        // Stopping, or the circuit opened while it waited: back to the delayed set, due
        // now, for the next worker or the open circuit's rules (no attempt used).
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      const release = limiter.tryAcquire(origin, mode);
      if (release === undefined) {
        // Held below its ceiling, the origin is congested (or still unproven): the slow lane
        // takes the job. At its ceiling it is merely busy: wait here, as any busy origin does.
        if (lane === 'fast' && deps.toSlowLane && !limiter.atCeiling(origin)) {
          await deps.toSlowLane(job, made, maxAttempts).catch(notNow);
          deps.metrics.laneMoves.inc({ reason: 'origin_limit' });
          return;
        }
        // Over the origin's limit: back to the delayed set; attemptsMade is unchanged.
        await job.moveToDelayed(Date.now() + limiter.parkDelayMs(origin), token);
        deps.metrics.parked.inc({ lane });
        throw new DelayedError();
      }
      const sent = await sendAttempt(
        { dispatcher: deps.dispatcher, reporter, slowMs: health.slowMs },
        { postbackId, subject, lane, request, policy, timeoutMs: Math.min(data.timeoutMs, deps.maxAttemptMs), release },
      );
      ({ startedMs, durationMs } = sent);
      outcome = sent.outcome;
      // A probe's answer should close (or keep open) the circuit for every worker now.
      if (probing) reporter.flush().catch((err: unknown) => deps.logger.warn({ err }, 'health flush failed'));
    }

    // An attempt an open circuit kept back hands the next to a retry batch, not this job
    // (ordered endpoints' postbacks keep theirs: they take turns one by one); an attempt that
    // was sent keeps BullMQ's retry, whose delays are the schedule's to the millisecond.
    // Whether a request was sent before is not known here: such a retry batch sends a last
    // chance at an open circuit even if an earlier attempt was sent.
    const joinable = !data.ordered && outcome === CIRCUIT_OPEN;
    const joined: { group?: RetryGroup } = {};
    let final: boolean;
    let written = false;
    try {
      ({ final } = await recordOutcome(
        deps,
        { postbackId, endpointId, subject, outcome, n, maxAttempts, scheduleS: schedule, startedMs, durationMs, masker: policy.masker },
        'info',
        joinable ? (delayMs) => (joined.group = retries.join(n, delayMs, false)).id : undefined,
      ));
      joined.group?.members.push({ postbackId, policy: policyOf(job.data), request });
      written = true;
    } finally {
      if (joined.group !== undefined) retries.written(joined.group, written);
    }
    if (joined.group !== undefined) {
      // The retry batch holds the next attempt once it is added; this job completes at once
      // (not after the pace: this job's id must be free before the retry batch comes due,
      // in case that one gives the postback a job of its own). Not added (Redis away): this
      // job retries on the schedule instead, as it would have.
      const group = joined.group;
      // A timed-out add may still have run: then the retry batch holds it all the same.
      const added = await retries.whenAdded(group).then(
        () => true,
        async () => (await deps.queues.slow.getJob(group.id).catch(() => undefined)) !== undefined,
      );
      if (added) return;
    }
    // Requests started together end together (a dead origin's timeouts): pace what follows
    // the record too (BullMQ's completion), as for the request itself (not after the probe or
    // a last chance). When stopping it resolves false at once.
    if (lane === 'slow' && mode === 'adaptive' && durationMs > 0) await governor?.pace();
    if (outcome.ok) return;
    if (final) throw new UnrecoverableError(`final: ${outcome.errorClass ?? 'failed'}`);
    throw new AttemptFailedError(outcome.errorClass ?? 'other', outcome.statusCode, outcome.retryAfterMs);
  };
}

/** Attempts of a postback before attempt `n` that sent a request (read only for a last chance). */
async function sentBefore(history: HistoryContext, postbackId: string, n: number): Promise<number> {
  const record = await getRecord(history, postbackId);
  return record?.attempts.filter((a) => a.n < n && a.error !== 'circuit_open' && a.error !== 'disabled').length ?? 0;
}

/**
 * Whether the retry batch a postback's record names holds its next attempt: it exists,
 * carries the postback and starts after the attempts recorded (the record's batch field is
 * left as it was when an attempt names none, so it may be stale); or it is still being
 * added by the batch job that named it (its parent exists).
 */
async function retryBatchHolding(deps: ProcessorDeps, postbackId: string, rec: PendingRecord): Promise<'holds' | 'being added' | 'none'> {
  const parent = rec.batch === undefined ? undefined : parentBatchId(rec.batch);
  if (rec.batch === undefined || parent === undefined) return 'none';
  const held = await deps.queues.slow.getJob(rec.batch);
  if (held !== undefined) {
    const data = held.data as Partial<BatchJobData>;
    return (data.a ?? 0) === rec.count && batchPostbackIds(data).includes(postbackId) ? 'holds' : 'none';
  }
  return (await deps.redis.exists(...jobKeys(laneJobPrefixes(deps.queues), parent))) > 0 ? 'being added' : 'none';
}

/** How soon a job that met Redis away before its attempt is tried again. */
const REDIS_AWAY_RETRY_MS = 1000;
