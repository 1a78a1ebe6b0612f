import type { BackoffStrategy } from 'bullmq';
import { decodeJob } from './job-data.js';

/** The backoff type name jobs ask for; the worker's strategy reads the schedule from data. */
export const BACKOFF_TYPE = 'schedule';

/** Carried by the error of a failed attempt: a Retry-After that outlasts the schedule step. */
export interface RetryHint {
  readonly retryAfterMs?: number | undefined;
}

/** Delay before attempt `n + 1` after `n` failed attempts: schedule step or Retry-After, whichever is longer. */
export function nextDelayMs(scheduleS: readonly number[], failedAttempts: number, retryAfterMs?: number): number {
  const step = Math.round((scheduleS[failedAttempts] ?? 0) * 1000);
  return retryAfterMs === undefined ? step : Math.max(step, retryAfterMs);
}

/** BullMQ backoffStrategy: one function for every job, reading policy from the job's data. */
export function createBackoffStrategy(defaultScheduleS: readonly number[]): BackoffStrategy {
  return (attemptsMade, _type, err, job) => {
    const decoded = job === undefined ? undefined : decodeJob(job.data);
    const schedule = decoded !== undefined && decoded.scheduleS.length > 0 ? decoded.scheduleS : defaultScheduleS;
    return nextDelayMs(schedule, attemptsMade + (decoded?.attemptsBefore ?? 0), (err as RetryHint | undefined)?.retryAfterMs);
  };
}
