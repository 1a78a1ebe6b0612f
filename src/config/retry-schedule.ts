import { ValidationError } from '../errors/base-error.js';

export const MAX_SCHEDULE_ENTRIES = 20;
/** One schedule step may not exceed a day: anything longer is a typo, not a policy. */
export const MAX_SCHEDULE_STEP_S = 86_400;

/**
 * Parses "0,60,90,120,150" (seconds, fractions allowed) or an array of numbers into
 * seconds. Throws a ValidationError naming `field` and the value.
 */
export function parseRetrySchedule(input: string | readonly number[], field: string): number[] {
  const parts = typeof input === 'string' ? input.split(',').map((p) => p.trim()) : input;
  if (parts.length < 1 || parts.length > MAX_SCHEDULE_ENTRIES) {
    throw new ValidationError(`${field}: must have 1 to ${MAX_SCHEDULE_ENTRIES} entries, got ${parts.length}`, [
      { path: field, message: `must have 1 to ${MAX_SCHEDULE_ENTRIES} entries` },
    ]);
  }
  return parts.map((part, i) => {
    const n = typeof part === 'number' ? part : part === '' ? Number.NaN : Number(part);
    if (!Number.isFinite(n) || n < 0 || n > MAX_SCHEDULE_STEP_S) {
      const message = `entry ${i} must be a number of seconds from 0 to ${MAX_SCHEDULE_STEP_S}, got ${JSON.stringify(part)}`;
      throw new ValidationError(`${field}: ${message}`, [{ path: `${field}[${i}]`, message }]);
    }
    return n;
  });
}
