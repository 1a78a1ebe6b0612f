import { AggregatorRegistry, Counter, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** Another thread's counters, as `registry.getMetricsAsJSON()` gives them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The process's Prometheus metrics, created once. Counters are per process; queue depth
 * and history size are read from Redis at scrape time by the API (see api/routes/metrics).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly enqueued = new Counter({
    name: 'postback_enqueued_total',
    help: 'Postbacks enqueued (event x endpoint).',
    labelNames: ['replay'] as const,
    registers: [this.registry],
  });
  readonly skipped = new Counter({
    name: 'postback_skipped_total',
    help: 'Postbacks not enqueued, by reason (disabled, event_type, state, zero_payout, duplicate).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: 'postback_attempts_total',
    help: 'Delivery attempts by outcome (success, retry, failed) and status class (2xx..5xx, or the error class).',
    labelNames: ['outcome', 'status_class'] as const,
    registers: [this.registry],
  });
  readonly finals = new Counter({
    name: 'postback_deliveries_total',
    help: 'Postbacks reaching a final state: delivered or failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly endpointAttempts = new Counter({
    name: 'postback_endpoint_attempts_total',
    help: 'Attempts per endpoint by outcome (delivered, retry, failed, circuit_open, disabled); inline targets count as "inline".',
    labelNames: ['endpoint_id', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly laneMoves = new Counter({
    name: 'postback_lane_moves_total',
    help: 'Postbacks moved from the fast lane to the slow lane, by reason (degraded, open, origin_limit).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly parked = new Counter({
    name: 'postback_parked_total',
    help: 'Jobs put back in the delayed set because their origin was at its limit (no attempt used), by lane.',
    labelNames: ['lane'] as const,
    registers: [this.registry],
  });
  readonly orderingWaits = new Counter({
    name: 'postback_ordering_waits_total',
    help: 'First attempts held back because an earlier postback of the same ordering key was still pending (no attempt used).',
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'postback_attempt_duration_seconds',
    help: 'Duration of delivery attempts.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly sources: (() => Promise<MetricsSnapshot>)[] = [];

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'postback_process_' });
  }

  /** Adds another thread's counters (the slow lane's) to what `render` serves: summed per label set. */
  addSource(read: () => Promise<MetricsSnapshot>): void {
    this.sources.push(read);
  }

  /** The exposition text /metrics serves: this registry's metrics, plus every source's, summed. */
  async render(): Promise<string> {
    if (this.sources.length === 0) return this.registry.metrics();
    const own = await this.registry.getMetricsAsJSON();
    const others = await Promise.all(this.sources.map((read) => read()));
    return AggregatorRegistry.aggregate([own, ...others]).metrics();
  }
}
