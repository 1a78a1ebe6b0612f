import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../redis/keys.js';
import type { DeliveryJobData } from './job-data.js';

export type DeliveryQueue = Queue<DeliveryJobData>;

/** The one BullMQ queue postbacks travel through. */
export function createDeliveryQueue(connection: Redis, keys: RedisKeys): DeliveryQueue {
  return new Queue<DeliveryJobData>(RedisKeys.QUEUE_NAME, {
    connection,
    prefix: keys.prefix,
    // Finished jobs are removed: the history is the record, Redis holds only what is pending.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    // BullMQ's event stream is for QueueEvents listeners, which this project has none of:
    // keep it short so it costs little memory per pending postback.
    streams: { events: { maxLen: 100 } },
  });
}
