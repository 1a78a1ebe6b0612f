import { PostbackError } from '../errors/base-error.js';

/** A publisher key asked for what only operator keys (API_KEYS) may do. */
export class OperatorOnlyError extends PostbackError {
  readonly code = 'PBD_ERR_OPERATOR_ONLY';
  override readonly statusCode = 403;
}
