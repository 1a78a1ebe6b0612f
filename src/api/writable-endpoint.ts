import type { FastifyRequest } from 'fastify';
import { EndpointNotFoundError } from '../endpoints/errors.js';
import { keepStoredSecrets } from '../endpoints/keep-stored-secrets.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import { ValidationError } from '../errors/base-error.js';
import { requestScope } from './scope.js';

/**
 * An endpoint definition as the caller may write it (PUT) or preview it, before it is
 * compiled: a publisher key writes its own publisher's endpoints only (another's, or a
 * broken one, is 404; naming another publisher is 400) and they get its publisher; a secret
 * given as "***" is the stored endpoint's (keepStoredSecrets). `id` undefined: an endpoint
 * that is not stored (the preview of a new one).
 */
export async function writableDefinition(
  request: FastifyRequest,
  registry: EndpointRegistry,
  id: string | undefined,
  def: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  await registry.refresh();
  const scope = requestScope(request);
  const stored = id === undefined ? undefined : registry.find(id);
  if (scope !== undefined) {
    if ((stored !== undefined && stored.publisherId !== scope) || (id !== undefined && registry.broken.has(id))) {
      throw new EndpointNotFoundError(`endpoint ${JSON.stringify(id)} not found`);
    }
    const named = def.publisher_id;
    if (named !== undefined && !((typeof named === 'string' || typeof named === 'number') && String(named) === scope)) {
      throw new ValidationError(`endpoint.publisher_id ${JSON.stringify(def.publisher_id)} is not this key's publisher ${JSON.stringify(scope)}`, [
        { path: 'endpoint.publisher_id', message: `must be the key's publisher ${JSON.stringify(scope)} (or left out), got ${JSON.stringify(def.publisher_id)}` },
      ]);
    }
  }
  const kept = keepStoredSecrets(def, stored?.definition);
  return scope === undefined ? kept : { ...kept, publisher_id: scope };
}
