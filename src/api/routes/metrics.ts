import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { registerBrokenEndpointsGauge } from '../../endpoints/broken-endpoints-gauge.js';
import { registerScrapeGauges } from '../../health/scrape-gauges.js';
import type { ApiContext } from '../api-context.js';
import { keepLastOnError } from '../../metrics/keep-last.js';
import type { RedisKeys } from '../../redis/keys.js';

const HISTORY_SIZE_METRIC = 'postback_history_records';
const OUTBOX_METRIC = 'postback_history_outbox';

/**
 * GET /metrics: the process's counters plus the scrape-time gauges every serving process
 * shares (queue depth, endpoint state: metrics/scrape-gauges) and, here only, history size.
 * In `postback start` this also covers the worker: no second metrics server is started.
 */
export function metricsRoutes(
  app: FastifyInstance,
  runtime: Pick<ApiContext, 'metrics' | 'redis' | 'keys' | 'registry' | 'queues' | 'health' | 'historyStore'> & Partial<Pick<ApiContext, 'allShards'>>,
): void {
  const { metrics, redis } = runtime;
  // Summed over every shard (one without QUEUE_SHARDS: runtime.keys itself, as for a caller without shards).
  const shardKeys = runtime.allShards?.map((s) => s.keys) ?? [runtime.keys];
  const sum = async (read: (key: RedisKeys) => Promise<number>): Promise<number> => (await Promise.all(shardKeys.map(read))).reduce((a, b) => a + b, 0);
  registerScrapeGauges(metrics.registry, runtime);
  registerBrokenEndpointsGauge(metrics.registry, runtime.registry);
  if (metrics.registry.getSingleMetric(HISTORY_SIZE_METRIC) === undefined) {
    new Gauge({
      name: HISTORY_SIZE_METRIC,
      help: 'Postback records in the Redis time index: all of history with Redis history, the pending ones with PostgreSQL history.',
      registers: [metrics.registry],
      async collect() {
        await keepLastOnError(async () => this.set(await sum((k) => redis.zcard(k.index))));
      },
    });
  }
  if (runtime.historyStore.kind === 'postgres' && metrics.registry.getSingleMetric(OUTBOX_METRIC) === undefined) {
    new Gauge({
      name: OUTBOX_METRIC,
      help: 'History writes waiting in Redis for PostgreSQL (new events get 503 at HISTORY_OUTBOX_MAX).',
      registers: [metrics.registry],
      async collect() {
        await keepLastOnError(async () => this.set(await sum((k) => redis.xlen(k.outbox))));
      },
    });
  }
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.render();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
