import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';

export function healthRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'redis'>): void {
  app.get('/healthz', () => Promise.resolve({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await Promise.race([
        runtime.redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000).unref()),
      ]);
      return { ok: true, redis: 'up' };
    } catch {
      return reply.code(503).send({ ok: false, redis: 'down' });
    }
  });
}
