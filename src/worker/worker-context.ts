import type { RedisClient } from '../redis/connection.js';
import type { Agent } from 'undici';
import type { Config } from '../config/schema.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { HealthBoard } from '../health/health-board.js';
import type { HealthPolicy } from '../health/health-policy.js';
import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import type { HistoryStore } from '../history/history-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { RedisKeys } from '../redis/keys.js';
import type { RedisTopology } from '../redis/topology.js';
import type { Shard, ShardRouter } from '../queue/shard.js';

/** What a worker needs from the process (a Runtime has it all). */
export interface WorkerContext {
  readonly config: Config;
  readonly logger: Logger;
  /** For the worker's own (blocking) connection. */
  readonly redisTopology: RedisTopology;
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  /** With PostgreSQL history, the worker also writes the outbox there. */
  readonly historyStore: HistoryStore;
  /** The slow lane's queue takes postbacks the fast lane hands over; the reconciler re-enqueues in either. */
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  /** The shards of QUEUE_SHARDS (its own queues and live records each). */
  readonly shards: ShardRouter;
  /** The current shards, then those still drained (DRAIN_QUEUE_SHARDS). */
  readonly allShards: readonly Shard[];
  readonly health: HealthBoard;
  readonly healthPolicy: HealthPolicy;
  readonly metrics: Metrics;
  deliveryAgent(): Agent;
}
