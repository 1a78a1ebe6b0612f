import type { FastifyInstance } from 'fastify';
import { previewRequest } from '../../endpoints/preview-request.js';
import { ValidationError, describeValue } from '../../errors/base-error.js';
import type { ApiContext } from '../api-context.js';
import { targetWarnings } from '../target-warnings.js';
import { writableDefinition } from '../writable-endpoint.js';

/** The id an endpoint previewed without one compiles under (it names it in errors only). */
const UNSAVED_ID = 'preview';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * POST /v1/endpoints/preview {"endpoint": {...}, "event"?: {...}}: the request an endpoint
 * definition (saved or not) would send for the event, or its preset's sample event, rendered
 * by the delivery's own templates, secrets masked; nothing is stored or sent. Scoped like
 * PUT: a publisher key previews its own publisher's endpoints only, and "***" stands for a
 * stored secret.
 */
export function endpointPreviewRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'registry' | 'config'>): void {
  const { registry } = runtime;
  const warningsFor = targetWarnings(runtime.config);

  app.post('/v1/endpoints/preview', async (request) => {
    const body = request.body;
    if (!isRecord(body) || !isRecord(body.endpoint)) {
      throw new ValidationError('the body must be {"endpoint": {...}} with an optional "event"', [
        { path: 'endpoint', message: `must be an endpoint object, got ${describeValue(isRecord(body) ? body.endpoint : body)}` },
      ]);
    }
    if (body.event !== undefined && !isRecord(body.event)) {
      throw new ValidationError('event must be an event object', [{ path: 'event', message: `must be an event object, got ${describeValue(body.event)}` }]);
    }
    const raw = body.endpoint;
    // An id that is no string or number is not looked up: compiling names it as a bad endpoint.id.
    const id = typeof raw.id === 'string' || typeof raw.id === 'number' ? String(raw.id) : undefined;
    const def = await writableDefinition(request, registry, id, raw);
    const ep = registry.compile({ ...def, id: def.id ?? UNSAVED_ID });
    return { ...previewRequest(ep, body.event), warnings: warningsFor(ep) };
  });
}
