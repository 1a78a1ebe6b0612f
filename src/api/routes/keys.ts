import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireOperator } from '../scope.js';

/** Publisher keys (SPEC: Keys): operators make, list and revoke them; a key is shown once. */
export function keyRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'publisherKeys' | 'audit'>): void {
  const { publisherKeys, audit } = runtime;

  app.post('/v1/keys', async (request, reply) => {
    requireOperator(request, 'making a key');
    const made = await publisherKeys.create(request.body ?? {});
    await audit.append({ actor: request.principal.actor, action: 'key.create', target: made.id, publisher_id: made.publisher_id });
    return reply.code(201).send(made);
  });

  app.get('/v1/keys', async (request) => {
    requireOperator(request, 'listing keys');
    const { publisher_id: publisherId } = request.query as { publisher_id?: string };
    return { keys: await publisherKeys.list(publisherId === '' ? undefined : publisherId) };
  });

  app.delete('/v1/keys/:id', async (request, reply) => {
    requireOperator(request, 'revoking a key');
    const { id } = request.params as { id: string };
    const revoked = await publisherKeys.revoke(id);
    await audit.append({ actor: request.principal.actor, action: 'key.revoke', target: id, publisher_id: revoked.publisher_id });
    return reply.code(204).send();
  });
}
