import type { RedisClient } from '../redis/connection.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { PublisherKeys } from '../keys/publisher-keys.js';
import type { Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { HealthBoard } from '../health/health-board.js';
import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import type { HistoryStore } from '../history/history-store.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { Producer } from '../queue/producer.js';
import type { RedisKeys } from '../redis/keys.js';
import type { Shard } from '../queue/shard.js';

/**
 * What the API needs from the process (a Runtime has it all). Each route takes the part
 * it uses, so a route's dependencies read from its signature.
 */
export interface ApiContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  /** Where history is read (Redis or PostgreSQL). */
  readonly historyStore: HistoryStore;
  readonly producer: Producer;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  /** Every shard's queues and keys (QUEUE_SHARDS, plus shards being drained), for metrics. */
  readonly allShards: readonly Shard[];
  readonly health: HealthBoard;
  readonly metrics: Metrics;
  /** Publisher keys (scoped API access). */
  readonly publisherKeys: PublisherKeys;
  /** Who changed which endpoint or key, who replayed what. */
  readonly audit: AuditLog;
  /** The process's delivery agent, for endpoint tests. */
  deliveryAgent(): Dispatcher;
}
