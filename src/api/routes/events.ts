import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../errors/base-error.js';
import type { ApiContext } from '../api-context.js';
import { requireOperator } from '../scope.js';

export const MAX_BATCH = 1000;

const text = { type: 'string' } as const;

/**
 * The 202 body, {"events": [{id, postbacks, duplicate, skipped}]}, as JSON Schema. fastify
 * compiles it once into a serialiser (fast-json-stringify), about twice as fast as
 * JSON.stringify on a 1000-event reply. It writes only the properties named here: a field
 * added to ProduceResult must be added here too (test/api/events-route.test.ts checks the
 * whole body). OpenAPI documents the reply with the same schema.
 */
export const ACCEPTED_SCHEMA = {
  type: 'object',
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'postbacks', 'duplicate', 'skipped'],
        properties: {
          id: text,
          postbacks: { type: 'array', items: text },
          duplicate: { type: 'boolean' },
          skipped: {
            type: 'array',
            items: { type: 'object', required: ['endpoint_id', 'reason'], properties: { endpoint_id: text, reason: text } },
          },
        },
      },
    },
  },
} as const;

/** POST /v1/events: one event, or {"events": [...]} (at most 1000); all or nothing. */
export function eventRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'producer'>): void {
  app.post('/v1/events', { schema: { response: { 202: ACCEPTED_SCHEMA } } }, async (request, reply) => {
    requireOperator(request, 'sending events');
    const body = request.body;
    let events: unknown[];
    let batch = false;
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'events' in body) {
      const list = body.events;
      if (!Array.isArray(list)) throw new ValidationError('events must be an array', [{ path: 'events', message: 'must be an array' }]);
      if (list.length === 0) throw new ValidationError('events is empty', [{ path: 'events', message: 'must hold 1 to 1000 events' }]);
      if (list.length > MAX_BATCH) {
        throw new ValidationError(`a batch holds at most ${MAX_BATCH} events, got ${list.length}`, [
          { path: 'events', message: `at most ${MAX_BATCH} events, got ${list.length}` },
        ]);
      }
      events = list;
      batch = true;
    } else events = [body];
    const force = (request.query as { force?: string }).force === 'true';
    const results = await runtime.producer.produce(events, { force, batch });
    return reply.code(202).send({ events: results });
  });
}
