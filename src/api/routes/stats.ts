import type { FastifyInstance } from 'fastify';
import { iteratePostbacks } from '../../history/history-store.js';
import { aggregateStats, bucketFor } from '../../history/postback-stats.js';
import { parseFilter } from '../../history/query-postbacks.js';
import type { ApiContext } from '../api-context.js';
import { nothingVisible, requestScope, scopedFilter } from '../scope.js';

/** Rows one stats answer reads at most; past it the answer says `truncated`. */
const MAX_STATS_ROWS = 200_000;
const DAY_MS = 86_400_000;

/**
 * GET /v1/stats?from&to&endpoint_id&publisher_id&bucket: delivered / failed / retrying /
 * queued totals, a series per bucket of creation time, errors and per-endpoint counts,
 * computed from history (either store) with the list's filters; default range the last 24 h.
 * A publisher key gets its own publisher's only.
 */
export function statsRoutes(app: FastifyInstance, runtime: Pick<ApiContext, 'historyStore'>): void {
  app.get('/v1/stats', async (request) => {
    const query = request.query as Record<string, unknown>;
    const { filter: asked } = parseFilter({ ...query, status: undefined, limit: undefined, cursor: undefined });
    const toMs = asked.toMs ?? Date.now();
    const fromMs = asked.fromMs ?? toMs - DAY_MS;
    const bucket = bucketFor(typeof query.bucket === 'string' ? query.bucket : undefined, fromMs, toMs);
    const filter = scopedFilter({ ...asked, fromMs, toMs }, requestScope(request));
    const rows = filter === undefined ? nothingVisible() : iteratePostbacks(runtime.historyStore, filter);
    return aggregateStats(rows, { fromMs, toMs, bucket }, MAX_STATS_ROWS);
  });
}
