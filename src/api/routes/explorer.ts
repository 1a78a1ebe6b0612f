import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../runtime/package-root.js';
import { OPENAPI } from '../openapi.js';

/** GET / serves the Postback Explorer (one static page, no build step); GET /openapi.json the API description. */
export function explorerRoutes(app: FastifyInstance): void {
  // Read once at start: the page is static.
  const page = readFileSync(join(packageRoot(), 'public', 'explorer.html'), 'utf8');
  app.get('/', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
      .header('x-content-type-options', 'nosniff')
      .send(page),
  );
  app.get('/openapi.json', async () => OPENAPI);
}
