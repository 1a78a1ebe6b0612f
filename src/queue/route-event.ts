import type { PostbackEvent } from '../events/event.js';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import { ValidationError, type ErrorDetail } from '../errors/base-error.js';

/**
 * The endpoints an event goes to: its `endpoint_id`, every endpoint of its `publisher_id`,
 * or its inline `target`. What routes nowhere is added to `details` (prefixed with the
 * event's path in a batch) and yields no endpoint; the caller rejects the batch.
 */
export function routeEvent(registry: EndpointRegistry, event: PostbackEvent, prefix: string, details: ErrorDetail[]): readonly CompiledEndpoint[] {
  if (event.endpointId !== undefined) {
    const ep = registry.find(event.endpointId);
    if (ep === undefined) {
      const broken = registry.broken.get(event.endpointId);
      const name = JSON.stringify(event.endpointId);
      details.push({ path: `${prefix}endpoint_id`, message: broken ? `endpoint ${name} is stored but invalid: ${broken.message}` : `unknown endpoint ${name}` });
      return [];
    }
    return [ep];
  }
  if (event.publisherId !== undefined && event.target === undefined) {
    const eps = registry.forPublisher(event.publisherId);
    if (eps.length === 0) details.push({ path: `${prefix}publisher_id`, message: `no endpoint for publisher ${JSON.stringify(event.publisherId)}` });
    return eps;
  }
  if (event.target !== undefined) {
    try {
      return [registry.compileInline(event.target, `${prefix}target`)];
    } catch (err) {
      if (err instanceof ValidationError) {
        details.push(...err.details);
        return [];
      }
      throw err;
    }
  }
  return [];
}
