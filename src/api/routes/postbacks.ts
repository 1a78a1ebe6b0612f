import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { NotFoundError, ValidationError } from '../../errors/base-error.js';
import { csvHeader, csvRow } from '../../history/csv.js';
import { getRecord, getReplayRequest } from '../../history/get-record.js';
import { recordToApi, recordToListItem } from '../../history/postback-record.js';
import { iteratePostbacks, parseFilter, queryPostbacks, type PostbackSummary } from '../../history/query-postbacks.js';
import type { ReplaySource } from '../../queue/producer.js';
import type { Runtime } from '../../runtime/runtime.js';

/** Most postbacks one bulk replay may enqueue. */
export const MAX_BULK_REPLAY = 100_000;
const REPLAY_CHUNK = 500;

export function postbackRoutes(app: FastifyInstance, runtime: Runtime): void {
  const { history } = runtime;

  app.get('/v1/postbacks', async (request) => {
    const { filter, limit, cursor } = parseFilter(request.query as Record<string, unknown>);
    const page = await queryPostbacks(history, filter, limit, cursor);
    return { items: page.items.map(summaryToListItem), next_cursor: page.next_cursor };
  });

  // Streamed: memory stays flat however many rows match.
  app.get('/v1/postbacks.csv', async (request, reply) => {
    const { filter } = parseFilter(request.query as Record<string, unknown>);
    async function* rows(): AsyncGenerator<string> {
      yield csvHeader();
      let chunk = '';
      for await (const r of iteratePostbacks(history, filter)) {
        chunk += csvRow(r);
        if (chunk.length > 64 * 1024) {
          yield chunk;
          chunk = '';
        }
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
    const record = await getRecord(history, id);
    if (record === undefined) throw new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    return recordToApi(record);
  });

  app.post('/v1/postbacks/:id/replay', async (request, reply) => {
    const { id } = request.params as { id: string };
    const record = await getRecord(history, id);
    const real = record && (await getReplayRequest(history, id));
    if (record === undefined || real === undefined) throw new NotFoundError(`postback ${JSON.stringify(id)} not found`);
    const [newId] = await runtime.producer.replay([
      {
        originalId: record.id,
        eventId: record.event_id,
        endpointId: record.endpoint_id,
        publisherId: record.publisher_id,
        offerId: record.offer_id,
        advertiserName: record.advertiser_name,
        payout: record.payout,
        request: real,
      },
    ]);
    return reply.code(202).send({ id: newId, replay_of: id });
  });

  app.post('/v1/postbacks/replay', async (request, reply) => {
    const { filter } = parseFilter((request.body ?? {}) as Record<string, unknown>);
    let enqueued = 0;
    let unreplayable = 0;
    let chunk: PostbackSummary[] = [];
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const sources = (await Promise.all(chunk.map((r) => replaySource(r)))).filter((s): s is ReplaySource => s !== undefined);
      chunk = [];
      try {
        enqueued += (await runtime.producer.replay(sources)).length;
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        // One record whose endpoint's secrets are gone: replay the rest one by one.
        for (const source of sources) {
          try {
            enqueued += (await runtime.producer.replay([source])).length;
          } catch (e) {
            if (!(e instanceof ValidationError)) throw e;
            unreplayable++;
          }
        }
      }
    };
    const replaySource = async (r: PostbackSummary): Promise<ReplaySource | undefined> => {
      const real = await getReplayRequest(history, r.id);
      if (real === undefined) return undefined;
      return {
        originalId: r.id,
        eventId: r.event_id,
        endpointId: r.endpoint_id,
        publisherId: r.publisher_id,
        offerId: r.offer_id,
        advertiserName: r.advertiser_name,
        payout: r.payout,
        request: real,
      };
    };
    let seen = 0;
    for await (const r of iteratePostbacks(history, filter)) {
      if (++seen > MAX_BULK_REPLAY) break;
      chunk.push(r);
      if (chunk.length >= REPLAY_CHUNK) await flush();
    }
    await flush();
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
