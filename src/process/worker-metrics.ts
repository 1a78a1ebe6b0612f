import type { Runtime } from '../runtime/runtime.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { registerScrapeGauges } from '../health/scrape-gauges.js';

const READY_TIMEOUT_MS = 1000;

/**
 * METRICS_PORT in a worker-only process: the scrape-time gauges the API has (queue depth,
 * endpoint state) added to the process's registry, served with /healthz and /readyz on
 * HOST:METRICS_PORT: the address the API would bind (HOST; unset, 0.0.0.0 with API_KEYS and
 * 127.0.0.1 without; config/schema refuses a non-loopback HOST without API_KEYS).
 */
export async function startWorkerMetrics(runtime: Runtime, port: number): Promise<MetricsServer> {
  const { config, logger, metrics, redis } = runtime;
  registerScrapeGauges(metrics.registry, runtime);
  const server = await startMetricsServer({
    port,
    host: config.host,
    registry: metrics.registry,
    render: () => metrics.render(),
    ready: () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
        timer.unref();
        redis.ping().then(
          () => resolve(true),
          () => resolve(false),
        ).finally(() => clearTimeout(timer));
      }),
  });
  logger.info({ address: server.address }, 'worker metrics listening');
  return server;
}
