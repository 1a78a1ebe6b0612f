import type { JobsOptions } from 'bullmq';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import { subjectOf, type Lane } from '../health/health-state.js';
import { JOB_NAME, toJobData, withAttemptsBefore, type DeliveryJobData } from './job-data.js';
import { BACKOFF_TYPE } from './retry-policy.js';

/** A BullMQ job to add: name, data, options, and the lane (queue) it goes to. */
export interface DeliveryJobSpec {
  readonly name: string;
  readonly data: DeliveryJobData;
  readonly opts: JobsOptions;
  readonly lane: Lane;
}

export interface DeliveryJobInput {
  readonly postbackId: string;
  /** Undefined when replaying a postback whose endpoint is gone (defaults apply). */
  readonly endpoint: CompiledEndpoint | undefined;
  /** The endpoint id to record when `endpoint` is gone. */
  readonly endpointId?: string;
  readonly request: RenderedRequest;
  /** When the first (next) attempt is due, from now. */
  readonly delayMs: number;
  /** Attempts already made (an orphan re-enqueued mid-schedule). */
  readonly attemptsMade?: number;
}

export interface JobDefaults {
  readonly scheduleS: readonly number[];
  readonly timeoutMs: number;
}

/**
 * The one way a postback's job is built (producer, replay, orphan reconciler): the policy
 * the worker needs from the endpoint, the schedule as attempts and backoff, and the lane
 * from the endpoint's health now.
 */
export function deliveryJob(input: DeliveryJobInput, defaults: JobDefaults, health: HealthBoard): DeliveryJobSpec {
  const ep = input.endpoint;
  const schedule = ep?.scheduleS ?? defaults.scheduleS;
  const made = input.attemptsMade ?? 0;
  const fresh = toJobData(input.request, {
    ep: ep?.id ?? input.endpointId ?? 'inline',
    to: ep?.timeoutMs ?? defaults.timeoutMs,
    sch: schedule,
    ...(ep?.inline && ep.secrets.length > 0 ? { sk: ep.secrets } : {}),
    ...(ep?.successSpec !== undefined ? { ok: ep.successSpec } : {}),
    ...(ep?.webhookSigner !== undefined ? (ep.inline ? { sg: ep.definition.signing! } : { ws: 1 as const }) : {}),
  });
  const data = made > 0 ? withAttemptsBefore(fresh, made) : fresh;
  return {
    name: JOB_NAME,
    data,
    opts: deliveryJobOptions(input.postbackId, schedule.length - made, input.delayMs),
    lane: health.laneOf(subjectOf(data.ep, data.u)),
  };
}

/** A postback job's BullMQ options: its id, the attempts left, the schedule's backoff. */
export function deliveryJobOptions(postbackId: string, attemptsLeft: number, delayMs: number): JobsOptions {
  return {
    jobId: postbackId,
    attempts: Math.max(1, attemptsLeft),
    backoff: { type: BACKOFF_TYPE },
    // History keeps each attempt's error class; BullMQ's stack traces would only grow the job.
    stackTraceLimit: 0,
    ...(delayMs > 0 ? { delay: delayMs } : {}),
  };
}
