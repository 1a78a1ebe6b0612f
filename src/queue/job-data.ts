import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { SigningConfig } from '../endpoints/schema.js';
import type { SuccessSpec } from '../endpoints/success-rule.js';
import { JobDataError } from './errors.js';

/**
 * What a delivery job carries (version 2): the rendered request (fixed at enqueue) and the
 * policy the worker needs, so an attempt reads nothing else from Redis. Every pending
 * postback holds one, so fields equal to a default are left out: the postback id is the
 * BullMQ job id, GET / no headers / no body are implied.
 */
export interface DeliveryJobData {
  readonly v: 2;
  /** Endpoint id (the registry's, or the inline target's). */
  readonly ep: string;
  /** URL. */
  readonly u: string;
  /** Method, when not GET. */
  readonly m?: 'POST';
  /** Headers, when any. */
  readonly h?: Readonly<Record<string, string>>;
  /** Body, when any. */
  readonly b?: string;
  /** Per-attempt deadline, ms. */
  readonly to: number;
  /**
   * Retry schedule in seconds. Always stored: producer and workers may run with different
   * RETRY_SCHEDULE values (a rolling change), and `attempts` was set from this one.
   */
  readonly sch: readonly number[];
  /** Success rule, when not the default 2xx. */
  readonly ok?: SuccessSpec;
  /** Standard Webhooks signing: 1 = use the registry endpoint's signer. */
  readonly ws?: 1;
  /** Signing of an inline target, which has no registry entry. */
  readonly sg?: SigningConfig;
  /** Secrets of an inline target, for masking response excerpts (the request holds them anyway). */
  readonly sk?: readonly string[];
  /** Attempts made before this job: set when a postback moves to the slow lane mid-schedule. */
  readonly a0?: number;
}

export const JOB_NAME = 'deliver';

type Policy = Omit<DeliveryJobData, 'v' | 'u' | 'm' | 'h' | 'b' | 'a0'>;

export function toJobData(request: RenderedRequest, policy: Policy): DeliveryJobData {
  return {
    v: 2,
    u: request.url,
    ...(request.method === 'POST' ? { m: 'POST' as const } : {}),
    ...(hasKeys(request.headers) ? { h: request.headers } : {}),
    ...(request.body !== null ? { b: request.body } : {}),
    ...policy,
  };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A delivery job as the worker reads it: the only reader of the stored letters. */
export interface DeliveryJob {
  readonly endpointId: string;
  readonly request: RenderedRequest;
  readonly timeoutMs: number;
  readonly scheduleS: readonly number[];
  /** Undefined: the default rule (2xx). */
  readonly success: SuccessSpec | undefined;
  /** `endpoint`: sign with the registry endpoint's signer; a config: an inline target's own. */
  readonly signing: 'endpoint' | SigningConfig | undefined;
  /** An inline target's secrets, for masking what the receiver answers. */
  readonly inlineSecrets: readonly string[] | undefined;
  /** Attempts made before this job existed (a postback moved to the slow lane). */
  readonly attemptsBefore: number;
}

/** Reads a job's data, checking its version: a job this version cannot read fails, named, not guessed at. */
export function decodeJob(data: unknown): DeliveryJob {
  const d = data as Partial<DeliveryJobData> | null;
  if (d === null || typeof d !== 'object' || d.v !== 2 || typeof d.u !== 'string' || typeof d.ep !== 'string' || typeof d.to !== 'number') {
    const v = d !== null && typeof d === 'object' ? JSON.stringify(d.v) : typeof d;
    throw new JobDataError(`job data version ${v} is not one this worker reads (2): upgrade the worker, or replay the postback`);
  }
  return {
    endpointId: d.ep,
    request: { method: d.m ?? 'GET', url: d.u, headers: d.h ?? NO_HEADERS, body: d.b ?? null },
    timeoutMs: d.to,
    scheduleS: d.sch ?? [],
    success: d.ok,
    signing: d.ws === 1 ? 'endpoint' : d.sg,
    inlineSecrets: d.sk,
    attemptsBefore: d.a0 ?? 0,
  };
}

/** The same job data with the attempts made before it (a lane move). */
export function withAttemptsBefore(data: DeliveryJobData, attempts: number): DeliveryJobData {
  return { ...data, a0: attempts };
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
