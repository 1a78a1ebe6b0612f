import { Gauge, type Registry } from 'prom-client';
import type { EndpointRegistry } from './registry.js';
import { keepLastOnError } from '../metrics/keep-last.js';

export const BROKEN_ENDPOINTS_METRIC = 'postback_endpoints_broken';

/**
 * `postback_endpoints_broken`: stored endpoint definitions that do not compile (they route
 * nothing; `GET /v1/endpoints` lists them under `broken`), read at scrape time. Alert on
 * `> 0`. Registered once per registry: a second call is a no-op.
 */
export function registerBrokenEndpointsGauge(registry: Registry, endpoints: EndpointRegistry): void {
  if (registry.getSingleMetric(BROKEN_ENDPOINTS_METRIC) !== undefined) return;
  new Gauge({
    name: BROKEN_ENDPOINTS_METRIC,
    help: 'Stored endpoint definitions that do not compile and route nothing (listed under "broken" by GET /v1/endpoints).',
    registers: [registry],
    async collect() {
      await keepLastOnError(async () => {
        await endpoints.refresh();
        this.set(endpoints.broken.size);
      });
    },
  });
}
