import { PostbackError } from '../errors/base-error.js';

/** A job whose data this version cannot read (written by a newer version, or damaged). */
export class JobDataError extends PostbackError {
  readonly code = 'PBD_ERR_JOB_DATA';
}
