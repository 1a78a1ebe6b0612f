import { PostbackError } from '../errors/base-error.js';
import type { RetryHint } from '../queue/retry-policy.js';

/** Thrown to BullMQ after a failed attempt that will be retried; carries Retry-After. */
export class AttemptFailedError extends PostbackError implements RetryHint {
  readonly code = 'PBD_ERR_ATTEMPT_FAILED';
  readonly retryAfterMs: number | undefined;
  constructor(errorClass: string, statusCode: number, retryAfterMs: number | undefined) {
    super(`attempt failed: ${errorClass} (status ${statusCode})`);
    this.retryAfterMs = retryAfterMs;
  }
}
