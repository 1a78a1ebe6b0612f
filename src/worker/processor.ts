import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { EndpointRegistry } from '../endpoints/registry.js';
import { attempt } from '../delivery/attempt.js';
import type { Outcome } from '../delivery/classify.js';
import type { HistoryContext } from '../history/history-context.js';
import type { AttemptRecord } from '../history/postback-record.js';
import { recordAttempt } from '../history/record-attempt.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { requestOf, type DeliveryJobData } from '../queue/job-data.js';
import { nextDelayMs } from '../queue/retry-policy.js';
import { AttemptFailedError } from './attempt-errors.js';
import { JobPolicies } from './job-policy.js';
import type { OriginLimiter } from './origin-limiter.js';

export interface ProcessorDeps {
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  readonly dispatcher: Dispatcher;
  readonly defaultScheduleS: readonly number[];
  /** Attempts are cut off this long before the job lock would lapse. */
  readonly maxAttemptMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly limiter: OriginLimiter;
}

/** The outcome of a job that asks for its endpoint's signer after the endpoint lost it. */
const SIGNER_MISSING: Outcome = {
  ok: false,
  statusCode: 0,
  errorClass: 'config',
  phase: null,
  permanent: true,
  retryAfterMs: undefined,
  location: undefined,
  excerpt: '',
};

function statusClass(o: Outcome): string {
  return o.statusCode > 0 ? `${Math.floor(o.statusCode / 100)}xx` : (o.errorClass ?? 'other');
}

/**
 * One delivery attempt per call: sign (if asked), send, classify, record, then tell BullMQ
 * what happened: return (delivered), AttemptFailedError (retry on the schedule), or
 * UnrecoverableError (final failure). History is written before BullMQ hears of it, so a
 * crash in between repeats the attempt rather than losing its record.
 */
export function createProcessor(deps: ProcessorDeps): (job: Job<DeliveryJobData>, token?: string) => Promise<void> {
  const policies = new JobPolicies(deps.registry);

  return async (job, token) => {
    const data = job.data;
    const postbackId = job.id as string;
    const n = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const schedule = data.sch ?? deps.defaultScheduleS;
    const timeoutMs = Math.min(data.to, deps.maxAttemptMs);
    const request = requestOf(data);
    const policy = await policies.resolve(data);

    let outcome: Outcome;
    let startedMs = Date.now();
    let durationMs = 0;
    if (policy.signerMissing) {
      // Sending unsigned what was meant to be signed would be worse than not sending.
      outcome = SIGNER_MISSING;
    } else {
      const release = deps.limiter.tryAcquire(request.url);
      if (release === undefined) {
        // Over the origin's cap: back to the delayed set; attemptsMade is unchanged.
        await job.moveToDelayed(Date.now() + deps.limiter.parkDelayMs(request.url), token);
        throw new DelayedError();
      }
      try {
        const headers = policy.signer?.headers(postbackId, request.body ?? '', Math.floor(Date.now() / 1000));
        ({ outcome, startedMs, durationMs } = await attempt(deps.dispatcher, request, headers, timeoutMs, policy.rule));
      } finally {
        release(durationMs);
      }
    }

    const nowMs = Date.now();
    const final = outcome.ok || outcome.permanent || n >= maxAttempts;
    const status = outcome.ok ? 'delivered' : final ? 'failed' : 'retrying';
    const nextMs = final ? undefined : nowMs + nextDelayMs(schedule, n, outcome.retryAfterMs);
    const record: AttemptRecord = {
      n,
      started_at: new Date(startedMs).toISOString(),
      duration_ms: durationMs,
      status_code: outcome.statusCode,
      error: outcome.errorClass,
      phase: outcome.phase,
      // A receiver may echo what it was sent: mask the endpoint's secrets in what it said.
      response_excerpt: policy.masker.empty ? outcome.excerpt : policy.masker.mask(outcome.excerpt),
      ...(outcome.location !== undefined ? { location: policy.masker.mask(outcome.location) } : {}),
      ...(outcome.retryAfterMs !== undefined ? { retry_after_ms: outcome.retryAfterMs } : {}),
    };
    await recordWithRetry(() => recordAttempt(deps.history, postbackId, record, status, nowMs, nextMs), deps.maxAttemptMs);

    const m = deps.metrics;
    m.attemptDuration.observe(durationMs / 1000);
    m.attempts.inc({ outcome: outcome.ok ? 'success' : final ? 'failed' : 'retry', status_class: statusClass(outcome) });
    const logFields = { postbackId, endpointId: data.ep, attempt: n, statusCode: outcome.statusCode, error: outcome.errorClass, durationMs };
    if (outcome.ok) {
      m.finals.inc({ outcome: 'delivered' });
      deps.logger.info(logFields, 'postback delivered');
      return;
    }
    if (final) {
      m.finals.inc({ outcome: 'failed' });
      deps.logger.warn(logFields, 'postback failed');
      throw new UnrecoverableError(`final: ${outcome.errorClass ?? 'failed'}`);
    }
    deps.logger.warn({ ...logFields, nextAttemptAt: nextMs }, 'attempt failed');
    throw new AttemptFailedError(outcome.errorClass ?? 'other', outcome.statusCode, outcome.retryAfterMs);
  };
}

/**
 * Redis may be briefly away (restart, failover) right after a request went out: keep
 * trying to record for up to `budgetMs` rather than failing the job, which would count a
 * sent postback as a failed attempt, or lose its final record.
 */
async function recordWithRetry(write: () => Promise<unknown>, budgetMs: number): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
