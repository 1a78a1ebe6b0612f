import type { Job } from 'bullmq';
import { deliveryJobOptions } from '../queue/delivery-job.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { JOB_NAME, withAttemptsBefore, type DeliveryJobData } from '../queue/job-data.js';

/**
 * Hands a fast-lane job to the slow lane under the same id, carrying the attempts it made
 * (`a0`), so its schedule and attempt count go on where they were. Adding an id the slow
 * lane already holds is a no-op, so a worker that dies between the add and completing the
 * fast-lane job cannot make two. Never the other way: see ProcessorDeps.toSlowLane.
 */
export function createLaneMover(slow: DeliveryQueue): (job: Job<DeliveryJobData>, attemptsMade: number, totalAttempts: number) => Promise<void> {
  return async (job, attemptsMade, total) => {
    await slow.add(JOB_NAME, withAttemptsBefore(job.data, attemptsMade), deliveryJobOptions(job.id!, total - attemptsMade, 0));
  };
}
