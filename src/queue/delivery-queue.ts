import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { RedisKeys } from '../redis/keys.js';
import type { Lane } from '../health/health-state.js';
import type { QueueJobData } from './job-data.js';

export type DeliveryQueue = Queue<QueueJobData>;

/** The key prefixes of both lanes' jobs (for `jobKeys`: whether either lane holds a job id). */
export function laneJobPrefixes(queues: Readonly<Record<Lane, DeliveryQueue>>): string[] {
  return [queues.fast.qualifiedName, queues.slow.qualifiedName];
}

/** The BullMQ queue name of a lane. */
export function queueNameOf(lane: Lane): string {
  return lane === 'fast' ? RedisKeys.QUEUE_NAME : RedisKeys.SLOW_QUEUE_NAME;
}

/** A lane's BullMQ queue: `fast` for healthy endpoints, `slow` for degraded and open ones. */
export function createDeliveryQueue(connection: RedisClient, keys: RedisKeys, lane: Lane = 'fast'): DeliveryQueue {
  return new Queue<QueueJobData>(queueNameOf(lane), {
    connection,
    prefix: keys.prefix,
    // On a Cluster, BullMQ's version check sends INFO to any node, a replica included; a
    // producer connection (no offline queue) refuses it while that node is still connecting,
    // and the queue's init, so every later add, fails for good (seen with 12 queues: 6 shards).
    skipVersionCheck: connection instanceof Cluster,
    // Finished jobs are removed: the history is the record, Redis holds only what is pending.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    // BullMQ's event stream is for QueueEvents listeners, which this project has none of:
    // keep it short so it costs little memory per pending postback.
    streams: { events: { maxLen: 100 } },
  });
}
