import type { JobsOptions } from 'bullmq';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import { subjectOf, type Lane } from '../health/health-state.js';
import {
  BATCH_JOB_NAME,
  JOB_NAME,
  toJobData,
  toRequestData,
  withAttemptsBefore,
  type BatchItemData,
  type BatchJobData,
  type DeliveryJobData,
  type PolicyData,
  type QueueJobData,
} from './job-data.js';
import { BACKOFF_TYPE } from './retry-policy.js';

/** A BullMQ job to add: name, data, options, and the lane (queue) it goes to. */
export interface DeliveryJobSpec<D extends QueueJobData = QueueJobData> {
  readonly name: string;
  readonly data: D;
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
export function deliveryJob(input: DeliveryJobInput, defaults: JobDefaults, health: HealthBoard): DeliveryJobSpec<DeliveryJobData> {
  const made = input.attemptsMade ?? 0;
  const policy = jobPolicy(input.endpoint, input.endpointId, defaults);
  const fresh = toJobData(input.request, policy);
  const data = made > 0 ? withAttemptsBefore(fresh, made) : fresh;
  return {
    name: JOB_NAME,
    data,
    opts: deliveryJobOptions(input.postbackId, policy.sch.length - made, input.delayMs),
    lane: health.laneOf(subjectOf(data.ep, data.u)),
  };
}

/** What the worker needs from the endpoint besides the request (defaults when it is gone). */
export function jobPolicy(ep: CompiledEndpoint | undefined, endpointId: string | undefined, defaults: JobDefaults): PolicyData {
  return {
    ep: ep?.id ?? endpointId ?? 'inline',
    to: ep?.timeoutMs ?? defaults.timeoutMs,
    sch: ep?.scheduleS ?? defaults.scheduleS,
    ...(ep?.inline && ep.secrets.length > 0 ? { sk: ep.secrets } : {}),
    ...(ep?.successSpec !== undefined ? { ok: ep.successSpec } : {}),
    ...(ep?.webhookSigner !== undefined ? (ep.inline ? { sg: ep.definition.signing! } : { ws: 1 as const }) : {}),
    ...(ep?.ordered === true ? { oc: 1 as const } : {}),
  };
}

/** One postback of a batch being built: `request` only when its record holds a masked copy. */
export interface BatchMember {
  readonly postbackId: string;
  readonly policy: PolicyData;
  readonly request: RenderedRequest | undefined;
}

/** A batch job's id: its first postback's, marked, so it never equals a postback's job id. */
export function batchJobId(firstPostbackId: string): string {
  return `b${firstPostbackId}`;
}

/** Where a batch job's items stand: the attempts each made before it, and whether one of them was a real request. */
export interface BatchProgress {
  readonly jobId: string;
  readonly attemptsBefore: number;
  readonly sentBefore: boolean;
}

/**
 * A batch job of the first attempts of `members` (one produce call), or with `progress` of
 * a later attempt of postbacks that retry together. Policies are stored
 * once per distinct object. If the batch itself fails (Redis away past the record
 * retries), it is run again: items already recorded are skipped then. A worker sends
 * its postbacks, in either lane (see batch-processor; in the slow lane an open circuit's
 * postbacks are recorded circuit_open inside it, and those over their origin's limit become
 * jobs of their own): one job to write while the producer's call waits, not one per postback.
 */
export function batchJob(members: readonly BatchMember[], delayMs: number, lane: Lane = 'fast', progress?: BatchProgress): DeliveryJobSpec<BatchJobData> {
  const policies: PolicyData[] = [];
  const index = new Map<PolicyData, number>();
  const items: BatchItemData[] = members.map((m) => {
    let p = index.get(m.policy);
    if (p === undefined) {
      p = policies.push(m.policy) - 1;
      index.set(m.policy, p);
    }
    return m.request === undefined ? [m.postbackId, p] : [m.postbackId, p, toRequestData(m.request)];
  });
  const later = progress !== undefined && progress.attemptsBefore > 0;
  return {
    name: BATCH_JOB_NAME,
    data: { v: 3, p: policies, i: items, ...(later ? { a: progress.attemptsBefore } : {}), ...(progress?.sentBefore === true ? { s: 1 as const } : {}) },
    opts: {
      jobId: progress?.jobId ?? batchJobId(members[0]!.postbackId),
      attempts: BATCH_ATTEMPTS,
      backoff: { type: 'fixed', delay: 1000 },
      stackTraceLimit: 0,
      ...(delayMs > 0 ? { delay: delayMs } : {}),
    },
    lane,
  };
}
const BATCH_ATTEMPTS = 10;

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
