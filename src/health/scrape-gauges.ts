import type { Registry } from 'prom-client';
import type { EndpointRegistry } from '../endpoints/registry.js';
import { registerEndpointStateGauge } from './endpoint-state-gauge.js';
import type { HealthBoard } from './health-board.js';
import { registerQueueDepthGauge, type JobCountSource } from '../metrics/queue-depth-gauge.js';

/** Where the scrape-time gauges read from (a `Runtime` has all three). */
export interface ScrapeSources {
  readonly queues: Readonly<Record<string, JobCountSource>>;
  /** With QUEUE_SHARDS > 1 (or shards being drained): every shard's lanes, summed. */
  readonly allShards?: readonly { readonly queues: Readonly<Record<string, JobCountSource>> }[];
  readonly registry: EndpointRegistry;
  readonly health: HealthBoard;
}

/**
 * The gauges read from Redis at scrape time that every process serving /metrics exposes,
 * the API (`GET /metrics`) and a worker-only process (METRICS_PORT): queue depth of both
 * lanes and `postback_endpoint_state`. Idempotent: each gauge is registered at most once
 * per registry, so a process that builds both never hits prom-client's duplicate-name error.
 */
export function registerScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  registerQueueDepthGauge(registry, sources.allShards === undefined ? Object.values(sources.queues) : sources.allShards.flatMap((s) => Object.values(s.queues)));
  registerEndpointStateGauge(registry, sources.registry, sources.health);
}
