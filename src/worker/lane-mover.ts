import type { Job } from 'bullmq';
import type { Lane } from '../health/health-state.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { JOB_NAME, withAttemptsBefore, type DeliveryJobData } from '../queue/job-data.js';
import { BACKOFF_TYPE } from '../queue/retry-policy.js';

/**
 * Hands a job to the other lane under the same id, carrying the attempts it made (`a0`),
 * so its schedule and attempt count go on where they were. Adding an id the lane already
 * holds is a no-op, so a worker that dies between the add and completing the job it had
 * cannot make two.
 */
export function createLaneMover(
  queues: Readonly<Record<Lane, DeliveryQueue>>,
): (job: Job<DeliveryJobData>, lane: Lane, attemptsMade: number, totalAttempts: number) => Promise<void> {
  return async (job, lane, attemptsMade, total) => {
    await queues[lane].add(JOB_NAME, withAttemptsBefore(job.data, attemptsMade), {
      jobId: job.id!,
      attempts: Math.max(1, total - attemptsMade),
      backoff: { type: BACKOFF_TYPE },
          // History keeps each attempt's error class; BullMQ's stack traces would only grow the job.
          stackTraceLimit: 0,
    });
  };
}
