import type { SuccessRule } from '../endpoints/success-rule.js';
import { isPostbackError } from '../errors/base-error.js';
import { DeliveryTimeoutError, TargetBlockedError, type DeliveryPhase, type ErrorClass } from './errors.js';
import type { RawResponse } from './send.js';

/** What one attempt came to, decided by a pure function of the response or error. */
export interface Outcome {
  readonly ok: boolean;
  /** 0 when no response arrived. */
  readonly statusCode: number;
  readonly errorClass: ErrorClass | null;
  readonly phase: DeliveryPhase | null;
  /** Retrying cannot help (SSRF guard refused): fail now. */
  readonly permanent: boolean;
  readonly retryAfterMs: number | undefined;
  readonly location: string | undefined;
  readonly excerpt: string;
}

/** The most a Retry-After may push an attempt back. */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** Network error codes to [class, phase]; matched on `code`, never on messages. */
const ERROR_CODES: Readonly<Record<string, readonly [ErrorClass, DeliveryPhase]>> = {
  UND_ERR_CONNECT_TIMEOUT: ['timeout', 'connect'],
  UND_ERR_HEADERS_TIMEOUT: ['timeout', 'headers'],
  UND_ERR_BODY_TIMEOUT: ['timeout', 'body'],
  ETIMEDOUT: ['timeout', 'connect'],
  ECONNREFUSED: ['refused', 'connect'],
  ECONNRESET: ['reset', 'headers'],
  EPIPE: ['reset', 'headers'],
  UND_ERR_SOCKET: ['reset', 'headers'],
  UND_ERR_CLOSED: ['reset', 'headers'],
  UND_ERR_HEADERS_OVERFLOW: ['other', 'headers'],
  HPE_INVALID_CONSTANT: ['other', 'headers'],
  ENOTFOUND: ['dns', 'dns'],
  EAI_AGAIN: ['dns', 'dns'],
  EAI_NONAME: ['dns', 'dns'],
  EAI_FAIL: ['dns', 'dns'],
  EHOSTUNREACH: ['refused', 'connect'],
  ENETUNREACH: ['refused', 'connect'],
  CERT_HAS_EXPIRED: ['tls', 'tls'],
  DEPTH_ZERO_SELF_SIGNED_CERT: ['tls', 'tls'],
  SELF_SIGNED_CERT_IN_CHAIN: ['tls', 'tls'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: ['tls', 'tls'],
  ERR_TLS_CERT_ALTNAME_INVALID: ['tls', 'tls'],
};

function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  // Happy-eyeballs wraps per-address failures in an AggregateError.
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0]);
  const inner = e.cause !== undefined ? errorCode(e.cause) : undefined;
  return inner ?? (typeof e.code === 'string' ? e.code : undefined);
}

export function classifyError(err: unknown): Outcome {
  const base = { ok: false, statusCode: 0, retryAfterMs: undefined, location: undefined, excerpt: '' };
  if (err instanceof TargetBlockedError || (isPostbackError(err) && err.code === 'PBD_ERR_TARGET_BLOCKED')) {
    return { ...base, errorClass: 'blocked', phase: 'connect', permanent: true };
  }
  if (err instanceof DeliveryTimeoutError) return { ...base, errorClass: 'timeout', phase: err.phase, permanent: false };
  const code = errorCode(err);
  if (code !== undefined) {
    const known = ERROR_CODES[code];
    if (known) return { ...base, errorClass: known[0], phase: known[1], permanent: false };
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) {
      return { ...base, errorClass: 'tls', phase: 'tls', permanent: false };
    }
  }
  // A blocked lookup surfaces through net as the guard's own error.
  if (err !== null && typeof err === 'object' && (err as { cause?: unknown }).cause instanceof TargetBlockedError) {
    return { ...base, errorClass: 'blocked', phase: 'connect', permanent: true };
  }
  return { ...base, errorClass: 'other', phase: 'connect', permanent: false };
}

/** Seconds or an HTTP date, to milliseconds from `nowMs`; capped; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.max(0, Math.min(ms, MAX_RETRY_AFTER_MS));
}

/** An outcome of a response, built in one shape (the hot path: no spreads). */
function answered(res: RawResponse, ok: boolean, errorClass: ErrorClass | null, phase: DeliveryPhase | null, retryAfterMs?: number): Outcome {
  return { ok, statusCode: res.statusCode, errorClass, phase, permanent: false, retryAfterMs, location: res.location, excerpt: res.excerpt };
}

export function classifyResponse(res: RawResponse, rule: SuccessRule, nowMs: number): Outcome {
  const status = res.statusCode;
  if (status >= 300 && status < 400) return answered(res, false, 'redirect', 'status');
  if (rule.statusOk(status)) {
    if (rule.bodyContains !== undefined && !res.excerpt.includes(rule.bodyContains)) return answered(res, false, 'body_mismatch', 'body');
    return answered(res, true, null, null);
  }
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.retryAfter, nowMs) : undefined;
  return answered(res, false, 'http_status', 'status', retryAfterMs);
}
