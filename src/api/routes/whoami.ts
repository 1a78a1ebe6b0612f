import type { FastifyInstance } from 'fastify';

/**
 * GET /v1/whoami: what the presented key is, so a page can shape itself (the Explorer fixes a
 * publisher key's endpoints to its publisher): {"kind": "operator"} or {"kind": "publisher",
 * "publisher_id", "key_id"}. Never the key.
 */
export function whoamiRoutes(app: FastifyInstance): void {
  app.get('/v1/whoami', (request) => {
    const p = request.principal;
    return Promise.resolve(p.kind === 'publisher' ? { kind: 'publisher', publisher_id: p.publisherId, key_id: p.keyId } : { kind: 'operator' });
  });
}
