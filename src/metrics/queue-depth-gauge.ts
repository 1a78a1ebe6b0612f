import { Gauge, type Registry } from 'prom-client';
import { keepLastOnError } from './keep-last.js';

export const QUEUE_DEPTH_METRIC = 'postback_queue_jobs';

/** What the gauge reads from each lane's queue (a BullMQ `Queue` is one). */
export interface JobCountSource {
  getJobCounts(...types: ('waiting' | 'delayed' | 'active' | 'prioritized')[]): Promise<Record<string, number>>;
}

/**
 * `postback_queue_jobs{state}`: jobs waiting, delayed and active, summed over the lanes
 * (the slow lane's jobs are pending postbacks too), read from Redis at scrape time.
 * Registered once per registry: a second call is a no-op.
 */
export function registerQueueDepthGauge(registry: Registry, queues: readonly JobCountSource[]): void {
  if (registry.getSingleMetric(QUEUE_DEPTH_METRIC) !== undefined) return;
  new Gauge({
    name: QUEUE_DEPTH_METRIC,
    help: 'Postback jobs in the queue by state (waiting, delayed, active).',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      await keepLastOnError(async () => {
        const counts = await Promise.all(queues.map((q) => q.getJobCounts('waiting', 'delayed', 'active', 'prioritized')));
        const sum = (k: string): number => counts.reduce((n, c) => n + (c[k] ?? 0), 0);
        this.set({ state: 'waiting' }, sum('waiting') + sum('prioritized'));
        this.set({ state: 'delayed' }, sum('delayed'));
        this.set({ state: 'active' }, sum('active'));
      });
    },
  });
}
