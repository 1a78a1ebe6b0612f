import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { Runtime } from '../../runtime/runtime.js';

/** GET /metrics: the process's counters plus queue depth and history size read at scrape time. */
export function metricsRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { metrics, queue, redis, keys } = runtime;
  new Gauge({
    name: 'postback_queue_jobs',
    help: 'Postback jobs in the queue by state (waiting, delayed, active).',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    async collect() {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      this.set({ state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
      this.set({ state: 'delayed' }, counts.delayed ?? 0);
      this.set({ state: 'active' }, counts.active ?? 0);
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
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
