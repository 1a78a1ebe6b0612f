import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { SigningConfig } from '../endpoints/schema.js';
import type { SuccessSpec } from '../endpoints/success-rule.js';

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
  /** Attempts that sent nothing (circuit open), so the last one can tell whether any request went out. */
  readonly co?: number;
}

export const JOB_NAME = 'deliver';

type Policy = Omit<DeliveryJobData, 'v' | 'u' | 'm' | 'h' | 'b' | 'a0' | 'co'>;

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

export function requestOf(data: DeliveryJobData): RenderedRequest {
  return { method: data.m ?? 'GET', url: data.u, headers: data.h ?? NO_HEADERS, body: data.b ?? null };
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
