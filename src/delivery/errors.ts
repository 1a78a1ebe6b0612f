import { PostbackError } from '../errors/base-error.js';

/** Where an attempt without a usable response failed. */
export type DeliveryPhase = 'dns' | 'connect' | 'tls' | 'headers' | 'body' | 'status';

/** The error class SPEC records for an attempt (status_code 0 for all but http ones). */
export type ErrorClass =
  | 'timeout'
  | 'refused'
  | 'reset'
  | 'dns'
  | 'tls'
  | 'blocked'
  | 'other'
  | 'config'
  | 'http_status'
  | 'redirect'
  | 'body_mismatch'
  /** Not sent: the endpoint's circuit was open (SPEC, Isolation). */
  | 'circuit_open'
  /** Not sent: the endpoint is disabled. */
  | 'disabled';

/** The connector refused the target (SSRF guard): final at once, never retried. */
export class TargetBlockedError extends PostbackError {
  readonly code = 'PBD_ERR_TARGET_BLOCKED';
  readonly address: string;
  constructor(host: string, address: string) {
    super(`target ${host} resolves to ${address}, which ALLOW_PRIVATE_TARGETS / ALLOWED_TARGET_CIDRS do not allow`);
    this.address = address;
  }
}

/** The per-attempt overall deadline passed. */
export class DeliveryTimeoutError extends PostbackError {
  readonly code = 'PBD_ERR_DELIVERY_TIMEOUT';
  readonly phase: DeliveryPhase;
  constructor(timeoutMs: number, phase: DeliveryPhase) {
    super(`no complete response within ${timeoutMs} ms (phase ${phase})`);
    this.phase = phase;
  }
}
