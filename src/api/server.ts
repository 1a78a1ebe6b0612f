import Fastify, { type FastifyInstance } from 'fastify';
import type { ApiContext } from './api-context.js';
import type { Principal } from '../keys/principal.js';
import { ApiKeyCheck, resolvePrincipal } from './auth.js';
import './scope.js';
import { createErrorHandler, errorBody } from './error-handler.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { postbackRoutes } from './routes/postbacks.js';
import { presetRoutes } from './routes/presets.js';
import { endpointRoutes } from './routes/endpoints.js';
import { endpointPreviewRoutes } from './routes/endpoint-preview.js';
import { EXPLORER_PATHS, explorerRoutes } from './routes/explorer.js';
import { metricsRoutes } from './routes/metrics.js';
import { keyRoutes } from './routes/keys.js';
import { auditRoutes } from './routes/audit.js';
import { statsRoutes } from './routes/stats.js';
import { whoamiRoutes } from './routes/whoami.js';

export const BODY_LIMIT = 1024 * 1024;

/** Routes open without a key: probes, metrics and the Explorer page and its assets (they hold no data). */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics', ...EXPLORER_PATHS]);

export function buildApi(runtime: ApiContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    // Reject __proto__ / constructor.prototype in JSON bodies (prototype pollution).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const keys = new ApiKeyCheck(runtime.config.apiKeys);
  const owner = (key: string) => runtime.publisherKeys.owner(key);
  // Set by the hook below before any route runs (routes open without a key never read it).
  app.decorateRequest<Principal | null>('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (OPEN_ROUTES.has(path)) return;
    const principal = await resolvePrincipal(request.headers.authorization, keys, owner);
    if (principal === undefined) {
      return reply.code(401).send(errorBody('missing or invalid API key', [{ path: 'Authorization', message: 'expected "Bearer <key>" with a key from API_KEYS or a publisher key' }]));
    }
    request.principal = principal;
  });
  app.setErrorHandler(createErrorHandler(runtime.logger));
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(`no route ${request.method} ${request.url.split('?', 1)[0]}`));
  });
  healthRoutes(app, runtime);
  eventRoutes(app, runtime);
  postbackRoutes(app, runtime);
  presetRoutes(app);
  endpointRoutes(app, runtime);
  endpointPreviewRoutes(app, runtime);
  metricsRoutes(app, runtime);
  keyRoutes(app, runtime);
  auditRoutes(app, runtime);
  statsRoutes(app, runtime);
  whoamiRoutes(app);
  explorerRoutes(app);
  return app;
}
