import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../errors/base-error.js';
import { csvHeader, csvRow } from '../../history/csv.js';
import { iteratePostbacks } from '../../history/history-store.js';
import { recordToApi, recordToListItem, type PostbackRecord } from '../../history/postback-record.js';
import { parseFilter, type PostbackSummary } from '../../history/query-postbacks.js';
import type { ReplaySource } from '../../queue/producer.js';
import type { ApiContext } from '../api-context.js';
import { nothingVisible, requestScope, scopedFilter, visibleIn } from '../scope.js';

/** Most postbacks one bulk replay may enqueue. */
export const MAX_BULK_REPLAY = 100_000;
const REPLAY_CHUNK = 500;

export function postbackRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'historyStore' | 'logger' | 'producer' | 'audit'>): void {
  const history = runtime.historyStore;

  /** A postback the caller may see: a publisher key sees its own publisher's only (others are 404). */
  const visibleRecord = async (request: FastifyRequest, id: string): Promise<PostbackRecord> => {
    const record = await history.getRecord(id);
    if (record === undefined || !visibleIn(requestScope(request), record.publisher_id)) throw new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    return record;
  };

  app.get('/v1/postbacks', async (request) => {
    const { filter: asked, limit, cursor } = parseFilter(request.query as Record<string, unknown>);
    const filter = scopedFilter(asked, requestScope(request));
    if (filter === undefined) return { items: [], next_cursor: null };
    const page = await history.queryPostbacks(filter, limit, cursor);
    return { items: page.items.map(summaryToListItem), next_cursor: page.next_cursor };
  });

  // Streamed: memory stays flat however many rows match.
  app.get('/v1/postbacks.csv', async (request, reply) => {
    const { filter: asked } = parseFilter(request.query as Record<string, unknown>);
    const filter = scopedFilter(asked, requestScope(request));
    // The first page is read before answering, so the store being down is a 503, not a 200
    // whose body stops after the header row.
    const matching = filter === undefined ? nothingVisible() : iteratePostbacks(history, filter);
    const first = await matching.next();
    const route = request.routeOptions.url;
    async function* rows(): AsyncGenerator<string> {
      yield csvHeader();
      if (first.done) return;
      let chunk = csvRow(first.value);
      try {
        for await (const r of matching) {
          chunk += csvRow(r);
          if (chunk.length > 64 * 1024) {
            yield chunk;
            chunk = '';
          }
        }
      } catch (err) {
        // Past the status line: all that is left is to cut the response short, and say so.
        runtime.logger.warn({ err, route }, 'CSV export cut short');
        throw err;
      }
      if (chunk) yield chunk;
    }
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="postbacks.csv"')
      .send(Readable.from(rows()));
  });

  app.get('/v1/postbacks/:id', async (request) => {
    const { id } = request.params as { id: string };
    return recordToApi(await visibleRecord(request, id));
  });

  app.post('/v1/postbacks/:id/replay', async (request, reply) => {
    const { id } = request.params as { id: string };
    const record = await visibleRecord(request, id);
    const replayable = await history.getReplayRequest(id);
    if (replayable === undefined) throw new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    const [result] = await runtime.producer.replay([{ original: record, request: replayable }]);
    if (result === undefined || 'error' in result) throw result?.error ?? new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    await runtime.audit.append({ actor: request.principal.actor, action: 'postback.replay', target: id, ...(record.publisher_id !== null ? { publisher_id: record.publisher_id } : {}) });
    return reply.code(202).send({ id: result.id, replay_of: id });
  });

  app.post('/v1/postbacks/replay', async (request, reply) => {
    const { filter: asked } = parseFilter((request.body ?? {}) as Record<string, unknown>);
    const scope = requestScope(request);
    const filter = scopedFilter(asked, scope);
    if (filter === undefined) return reply.code(202).send({ enqueued: 0 });
    let enqueued = 0;
    let unreplayable = 0;
    let chunk: PostbackSummary[] = [];
    const flush = async (): Promise<void> => {
      const sources: ReplaySource[] = [];
      for (const [i, replayable] of (await Promise.all(chunk.map((r) => history.getReplayRequest(r.id)))).entries()) {
        if (replayable !== undefined) sources.push({ original: chunk[i]!, request: replayable });
      }
      chunk = [];
      for (const r of await runtime.producer.replay(sources)) {
        if ('id' in r) enqueued++;
        else unreplayable++;
      }
    };
    let seen = 0;
    for await (const r of iteratePostbacks(history, filter)) {
      if (++seen > MAX_BULK_REPLAY) break;
      chunk.push(r);
      if (chunk.length >= REPLAY_CHUNK) await flush();
    }
    await flush();
    await runtime.audit.append({ actor: request.principal.actor, action: 'postbacks.replay', target: JSON.stringify({ ...filter, enqueued }), ...(scope !== undefined ? { publisher_id: scope } : {}) });
    return reply.code(202).send({
      enqueued,
      ...(unreplayable > 0 ? { unreplayable } : {}),
      ...(seen > MAX_BULK_REPLAY ? { truncated_at: MAX_BULK_REPLAY } : {}),
    });
  });
}

function summaryToListItem(r: PostbackSummary): Record<string, unknown> {
  return recordToListItem({ ...r, attempts: [], next_attempt_ms: null }, r.attempts);
}
