import type { Job, JobsOptions } from 'bullmq';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { QueueJobData } from '../queue/job-data.js';

interface PendingAdd {
  readonly job: { name: string; data: QueueJobData; opts: JobsOptions };
  readonly resolve: (job: Job) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Adds the jobs asked for within one turn of the event loop with one addBulk: a batch's
 * postbacks that become jobs of their own (lane moves, an open circuit's, retries) tend
 * to do so together, and one script call each held the event loop and Redis for a burst
 * of round trips. Each caller still gets its own job, or the bulk's error.
 */
export class JobAdder {
  private readonly queue: DeliveryQueue;
  private pending: PendingAdd[] = [];

  constructor(queue: DeliveryQueue) {
    this.queue = queue;
  }

  add(name: string, data: QueueJobData, opts: JobsOptions): Promise<Job> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ job: { name, data, opts }, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const jobs = await this.queue.addBulk(batch.map((p) => p.job));
      batch.forEach((p, i) => p.resolve(jobs[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
