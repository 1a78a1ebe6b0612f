import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { registerEndpointStateGauge } from '../../health/endpoint-state-gauge.js';
import type { Runtime } from '../../runtime/runtime.js';

/** GET /metrics: the process's counters plus queue depth and history size read at scrape time. */
export function metricsRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { metrics, redis, keys } = runtime;
  new Gauge({
    name: 'postback_queue_jobs',
    help: 'Postback jobs in the queue by state (waiting, delayed, active).',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    async collect() {
      // Both lanes: the slow lane's jobs are pending postbacks too.
      const [fast, slow] = await Promise.all(Object.values(runtime.queues).map((q) => q.getJobCounts('waiting', 'delayed', 'active', 'prioritized')));
      const sum = (k: string): number => (fast?.[k] ?? 0) + (slow?.[k] ?? 0);
      this.set({ state: 'waiting' }, sum('waiting') + sum('prioritized'));
      this.set({ state: 'delayed' }, sum('delayed'));
      this.set({ state: 'active' }, sum('active'));
    },
  });
  new Gauge({
    name: 'postback_history_records',
    help: 'Postback records in the history index.',
    registers: [metrics.registry],
    async collect() {
      this.set(await redis.zcard(keys.index));
    },
  });
  registerEndpointStateGauge(metrics.registry, runtime.registry, runtime.health);
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
