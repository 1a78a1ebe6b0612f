import type { FastifyInstance } from 'fastify';
import { PRESETS } from '../../endpoints/presets/index.js';

/** GET /v1/presets: the seed networks' formats, with their macros and defaults. */
export function presetRoutes(app: FastifyInstance): void {
  app.get('/v1/presets', () =>
    Promise.resolve({
      presets: [...PRESETS.values()].map((p) => ({
        name: p.name,
        network: p.network,
        description: p.description,
        macros: p.macros,
        defaults: p.defaults,
        sample_event: p.sampleEvent,
      })),
    }),
  );
}
