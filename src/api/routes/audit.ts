import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../errors/base-error.js';
import type { ApiContext } from '../api-context.js';
import { requireOperator } from '../scope.js';

/** GET /v1/audit: who changed which endpoint or key, who replayed what; newest first, operators only. */
export function auditRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'audit'>): void {
  app.get('/v1/audit', async (request) => {
    requireOperator(request, 'reading the audit log');
    const { limit: rawLimit, cursor } = request.query as { limit?: string; cursor?: string };
    const limit = rawLimit === undefined || rawLimit === '' ? 100 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ValidationError(`limit must be an integer from 1 to 1000, got ${JSON.stringify(rawLimit)}`, [{ path: 'limit', message: 'must be an integer from 1 to 1000' }]);
    }
    return runtime.audit.list(limit, cursor === '' ? undefined : cursor);
  });
}
