import { PostbackError } from '../errors/base-error.js';

/** Wrong usage of a command: exit code 2. */
export class UsageError extends PostbackError {
  readonly code = 'PBD_ERR_USAGE';
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
