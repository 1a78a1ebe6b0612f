import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { SigningConfig } from '../endpoints/schema.js';
import type { SuccessSpec } from '../endpoints/success-rule.js';

/**
 * What a delivery job carries (version 1): the rendered request (fixed at enqueue) and
 * the policy the worker needs, so an attempt reads nothing else from Redis. Fields equal
 * to the worker's defaults are omitted to keep pending postbacks small.
 */
export interface DeliveryJobData {
  readonly v: 1;
  /** Postback id (also the BullMQ job id). */
  readonly id: string;
  /** Endpoint id (the registry's, or the inline target's). */
  readonly ep: string;
  readonly rq: RenderedRequest;
  /** Per-attempt deadline, ms. */
  readonly to: number;
  /** Retry schedule in seconds, when it differs from RETRY_SCHEDULE. */
  readonly sch?: readonly number[];
  /** Success rule, when not the default 2xx. */
  readonly ok?: SuccessSpec;
  /** Standard Webhooks signing: 1 = use the registry endpoint's signer. */
  readonly ws?: 1;
  /** Signing of an inline target, which has no registry entry. */
  readonly sg?: SigningConfig;
}

export const JOB_NAME = 'deliver';
