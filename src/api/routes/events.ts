import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../errors/base-error.js';
import type { ApiContext } from '../api-context.js';

export const MAX_BATCH = 1000;

/** POST /v1/events: one event, or {"events": [...]} (at most 1000); all or nothing. */
export function eventRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'producer'>): void {
  app.post('/v1/events', async (request, reply) => {
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
