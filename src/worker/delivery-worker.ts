import { Worker } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { queueNameOf } from '../queue/delivery-queue.js';
import type { QueueJobData } from '../queue/job-data.js';
import { createBackoffStrategy } from '../queue/retry-policy.js';
import { createProcessor } from './processor.js';
import type { ProcessorDeps } from './processor-deps.js';

export interface DeliveryWorkerOptions {
  readonly connection: RedisClient;
  readonly keys: RedisKeys;
  readonly concurrency: number;
  readonly lockMs: number;
  readonly stalledIntervalMs: number;
}

/**
 * One lane's BullMQ Worker, every option explicit. The lock outlasts the longest attempt
 * (attempts are cut 1 s before it); a job whose worker died is found by the stalled check
 * and delivered by another worker (at-least-once).
 */
export function createDeliveryWorker(options: DeliveryWorkerOptions, deps: ProcessorDeps): Worker<QueueJobData> {
  return new Worker<QueueJobData>(queueNameOf(deps.lane), createProcessor(deps), {
    connection: options.connection,
    prefix: options.keys.prefix,
    concurrency: options.concurrency,
    // Started by the caller once it knows the endpoints' health (see worker-service).
    autorun: false,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: 5,
    drainDelay: 5,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
    settings: { backoffStrategy: createBackoffStrategy(deps.defaultScheduleS) },
  });
}
