import { Gauge, type Registry } from 'prom-client';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { HealthBoard } from './health-board.js';
import { HEALTH_STATES } from './health-state.js';
import { keepLastOnError } from '../metrics/keep-last.js';

export const ENDPOINT_STATE_METRIC = 'postback_endpoint_state';

/**
 * `postback_endpoint_state{endpoint_id,state}`: 1 for each endpoint's current state, 0 for
 * the others (so alerts can match `== 1`), read at scrape time from the shared states.
 * Registered once per registry: a second call is a no-op.
 */
export function registerEndpointStateGauge(registry: Registry, endpoints: EndpointRegistry, board: HealthBoard): void {
  if (registry.getSingleMetric(ENDPOINT_STATE_METRIC) !== undefined) return;
  new Gauge({
    name: ENDPOINT_STATE_METRIC,
    help: 'Endpoint health state (healthy, degraded, open, disabled): 1 for the current one.',
    labelNames: ['endpoint_id', 'state'] as const,
    registers: [registry],
    async collect() {
      await keepLastOnError(() => Promise.all([board.refresh(), endpoints.refresh()]).then(() => undefined));
      this.reset();
      for (const ep of endpoints.list()) {
        const current = ep.enabled ? board.stateOf(ep.id) : 'disabled';
        for (const s of HEALTH_STATES) this.set({ endpoint_id: ep.id, state: s }, s === current ? 1 : 0);
      }
    },
  });
}
