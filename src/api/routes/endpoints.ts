import type { FastifyInstance } from 'fastify';
import { testEndpoint } from '../../delivery/test-endpoint.js';
import { isBlockedLiteralHost, parseCidrs } from '../../delivery/target-guard.js';
import { EndpointNotFoundError } from '../../endpoints/errors.js';
import { ValidationError } from '../../errors/base-error.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { CompiledEndpoint } from '../../endpoints/compile-endpoint.js';

export function endpointRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { registry, config } = runtime;
  const policy = { allowPrivate: config.allowPrivateTargets, allowed: parseCidrs(config.allowedTargetCidrs) };
  const warningsFor = (ep: CompiledEndpoint): string[] =>
    ep.definition.url !== undefined && isBlockedLiteralHost(ep.definition.url, policy)
      ? [`url host is a loopback/private/link-local address: deliveries will fail with error class "blocked" unless ALLOW_PRIVATE_TARGETS or ALLOWED_TARGET_CIDRS allow it`]
      : [];

  app.get('/v1/endpoints', async () => {
    await registry.refresh();
    return { endpoints: registry.list().map((ep) => ep.toPublic()) };
  });

  app.get('/v1/endpoints/:id', async (request) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    return registry.get(id).toPublic();
  });

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
    const [ep] = await registry.upsert([{ ...def, id }]);
    return { ...ep!.toPublic(), warnings: warningsFor(ep!) };
  });

  app.delete('/v1/endpoints/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await registry.remove(id))) throw new EndpointNotFoundError(`endpoint ${JSON.stringify(id)} not found`);
    return reply.code(204).send();
  });

  /** One synchronous attempt with a sample (or the posted) event; no retries, no queue, no history. */
  app.post('/v1/endpoints/:id/test', async (request) => {
    const { id } = request.params as { id: string };
    await registry.refresh();
    return testEndpoint(registry.get(id), runtime.deliveryAgent(), request.body);
  });
}
