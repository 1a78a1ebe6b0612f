import type { FastifyInstance, FastifyRequest } from 'fastify';
import { testEndpoint } from '../../delivery/test-endpoint.js';
import { EndpointNotFoundError } from '../../endpoints/errors.js';
import { ValidationError, isPostbackError, type ErrorDetail } from '../../errors/base-error.js';
import type { ApiContext } from '../api-context.js';
import type { CompiledEndpoint } from '../../endpoints/compile-endpoint.js';
import { disableEndpoint, enableEndpoint } from '../../health/endpoint-switch.js';
import { readHealth, type EndpointHealth } from '../../health/read-health.js';
import { errorBody } from '../error-handler.js';
import { requestScope, visibleIn } from '../scope.js';
import { targetWarnings } from '../target-warnings.js';
import { writableDefinition } from '../writable-endpoint.js';

export function endpointRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'registry' | 'config' | 'redis' | 'keys' | 'health' | 'deliveryAgent' | 'audit'>): void {
  const { registry, config } = runtime;

  /** The endpoint, if the caller may see it: a publisher key sees its own publisher's only (others are 404). */
  const visibleEndpoint = (request: FastifyRequest, id: string): CompiledEndpoint => {
    const ep = registry.get(id);
    if (!visibleIn(requestScope(request), ep.publisherId)) throw new EndpointNotFoundError(`endpoint ${JSON.stringify(id)} not found`);
    return ep;
  };
  const audited = (request: FastifyRequest, action: string, ep: { id: string; publisherId: string | undefined }): Promise<void> =>
    runtime.audit.append({ actor: request.principal.actor, action, target: ep.id, ...(ep.publisherId !== undefined ? { publisher_id: ep.publisherId } : {}) });
  const warningsFor = targetWarnings(config);

  /** Endpoints as the API shows them: definition (secrets masked) plus SPEC's `health`. */
  const withHealth = async (eps: readonly CompiledEndpoint[]): Promise<Record<string, unknown>[]> => {
    const health = await readHealth(runtime.redis, runtime.keys, eps.map((ep) => ep.id));
    return eps.map((ep) => ({ ...ep.toPublic(), health: effectiveHealth(ep, health.get(ep.id)!) }));
  };

  /** Why a stored definition does not compile: its error and the fields it names. */
  const brokenDetails = (id: string, err: Error): ErrorDetail[] =>
    isPostbackError(err) && err.details.length > 0 ? err.details : [{ path: `endpoints.${id}`, message: err.message }];

  /** `broken`: stored definitions that do not compile (they route nothing until PUT or DELETE). */
  app.get('/v1/endpoints', async (request) => {
    await registry.refresh();
    const scope = requestScope(request);
    if (scope !== undefined) return { endpoints: await withHealth(registry.list().filter((ep) => ep.publisherId === scope)), broken: [] };
    const broken = [...registry.broken.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, err]) => ({ id, error: err.message, details: brokenDetails(id, err) }));
    return { endpoints: await withHealth(registry.list()), broken };
  });

  /** A stored definition that does not compile is 409 (fix it with PUT, or DELETE it), not 404. */
  app.get('/v1/endpoints/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    const broken = requestScope(request) === undefined ? registry.broken.get(id) : undefined;
    if (broken !== undefined) {
      return reply.code(409).send(errorBody(`endpoint ${JSON.stringify(id)} is stored but invalid: ${broken.message}`, brokenDetails(id, broken)));
    }
    const [ep] = await withHealth([visibleEndpoint(request, id)]);
    return ep;
  });

  /** Disabled: new events skip it (`disabled`), its pending postbacks end failed (`disabled`). */
  app.post('/v1/endpoints/:id/disable', async (request) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    const ep = visibleEndpoint(request, id);
    const body = (request.body ?? {}) as { reason?: unknown };
    const reason = typeof body.reason === 'string' && body.reason.length > 0 ? body.reason.slice(0, 200) : request.principal.kind;
    await disableEndpoint(runtime.redis, runtime.keys, id, reason);
    runtime.health.set(id, 'disabled');
    await audited(request, 'endpoint.disable', ep);
    const [out] = await withHealth([ep]);
    return out;
  });

  /** Enabled again, healthy, failure streaks cleared (also turns on a definition with `enabled: false`). */
  app.post('/v1/endpoints/:id/enable', async (request) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    let ep = visibleEndpoint(request, id);
    if (!ep.enabled) [ep] = (await registry.upsert([{ ...ep.definition, enabled: true }])) as [CompiledEndpoint];
    await enableEndpoint(runtime.redis, runtime.keys, id);
    runtime.health.set(id, 'healthy');
    await audited(request, 'endpoint.enable', ep);
    const [out] = await withHealth([ep]);
    return out;
  });

  /** Create or replace. Secrets given as "***" keep the stored ones (keepStoredSecrets). */
  app.put('/v1/endpoints/:id', async (request) => {
    const { id } = request.params as { id: string };
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ValidationError('the body must be an endpoint object', [{ path: 'endpoint', message: 'must be an object' }]);
    }
    const def = body as Record<string, unknown>;
    if (def.id !== undefined && def.id !== id) {
      throw new ValidationError(`endpoint.id ${JSON.stringify(def.id)} differs from the path's ${JSON.stringify(id)}`, [
        { path: 'endpoint.id', message: 'must match the id in the path' },
      ]);
    }
    // A publisher key changes its own endpoints only, and they stay its own; "***" keeps a stored secret.
    const [ep] = await registry.upsert([{ ...(await writableDefinition(request, registry, id, def)), id }]);
    await audited(request, 'endpoint.put', ep!);
    const [out] = await withHealth([ep!]);
    return { ...out, warnings: warningsFor(ep!) };
  });

  app.delete('/v1/endpoints/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    let publisherId: string | undefined;
    if (requestScope(request) !== undefined) {
      await registry.refresh();
      publisherId = visibleEndpoint(request, id).publisherId;
    } else publisherId = registry.find(id)?.publisherId;
    if (!(await registry.remove(id))) throw new EndpointNotFoundError(`endpoint ${JSON.stringify(id)} not found`);
    await audited(request, 'endpoint.delete', { id, publisherId });
    return reply.code(204).send();
  });

  /** One synchronous attempt with a sample (or the posted) event; no retries, no queue, no history. */
  app.post('/v1/endpoints/:id/test', async (request) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    return testEndpoint(visibleEndpoint(request, id), runtime.deliveryAgent(), request.body);
  });
}

/** A definition with `enabled: false` is disabled whatever its recorded health says. */
function effectiveHealth(ep: CompiledEndpoint, h: EndpointHealth): EndpointHealth {
  return ep.enabled || h.state === 'disabled' ? h : { ...h, state: 'disabled', disabled_reason: 'configuration (enabled: false)' };
}
