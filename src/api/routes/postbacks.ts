import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors/base-error.js';
import { getRecord } from '../../history/get-record.js';
import { recordToApi } from '../../history/postback-record.js';
import type { Runtime } from '../../runtime/runtime.js';

export function postbackRoutes(app: FastifyInstance, runtime: Runtime): void {
  app.get('/v1/postbacks/:id', async (request) => {
    const { id } = request.params as { id: string };
    const record = await getRecord(runtime.history, id);
    if (record === undefined) throw new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    return recordToApi(record);
  });
}
