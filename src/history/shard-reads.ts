import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { getRecord, getReplayRequest, getStatuses } from './get-record.js';
import type { HistoryContext } from './history-context.js';
import type { PostbackRecord } from './postback-record.js';
import { decodeCursor, encodeCursor, queryPostbacks, scanIndex, type IndexPage, type IndexPosition, type PostbackFilter, type PostbackPage, type PostbackSummary } from './query-postbacks.js';

/**
 * Reads of live records over every shard history may hold them in (QUEUE_SHARDS, plus
 * DRAIN_QUEUE_SHARDS). A postback id does not say its shard: one record is looked for in
 * every shard at once (one read each, in parallel; a record is in exactly one). With one
 * shard these are the single-shard reads, unchanged.
 */

export async function getRecordIn(shards: readonly HistoryContext[], postbackId: string): Promise<PostbackRecord | undefined> {
  if (shards.length === 1) return getRecord(shards[0]!, postbackId);
  const found = await Promise.all(shards.map((ctx) => getRecord(ctx, postbackId)));
  return found.find((r) => r !== undefined);
}

export async function getReplayRequestIn(shards: readonly HistoryContext[], postbackId: string): Promise<RenderedRequest | undefined> {
  if (shards.length === 1) return getReplayRequest(shards[0]!, postbackId);
  const found = await Promise.all(shards.map((ctx) => getReplayRequest(ctx, postbackId)));
  return found.find((r) => r !== undefined);
}

export async function getStatusesIn(shards: readonly HistoryContext[], postbackIds: readonly string[]): Promise<Map<string, string>> {
  if (shards.length === 1) return getStatuses(shards[0]!, postbackIds);
  const maps = await Promise.all(shards.map((ctx) => getStatuses(ctx, postbackIds)));
  const out = new Map<string, string>();
  for (const m of maps) for (const [id, s] of m) out.set(id, s);
  return out;
}

/**
 * One page over every shard's time index, newest first: each shard's page below the
 * cursor, merged by (score, id). A shard that stopped early (its page full, or its scan
 * budget spent) is only known down to where it stopped: the page ends at the highest such
 * point, and the next page starts there, so no row is skipped or repeated. The cursor is a
 * position in the one (score, id) order all shards share: stable across pages and inserts.
 */
export async function queryPostbacksIn(shards: readonly HistoryContext[], filter: PostbackFilter, limit: number, cursor?: string): Promise<PostbackPage> {
  if (shards.length === 1) return queryPostbacks(shards[0]!, filter, limit, cursor);
  const after = cursor ? decodeCursor(cursor) : undefined;
  const { items, next } = mergePages(await Promise.all(shards.map((ctx) => scanIndex(ctx, filter, limit, after))), limit);
  return { items, next_cursor: next === undefined ? null : encodeCursor(next) };
}

/**
 * Merges shards' pages (each newest first, below the same cursor) into one of at most
 * `limit` rows, and where the next page starts (undefined: every shard is exhausted).
 */
export function mergePages(pages: readonly IndexPage[], limit: number): { items: PostbackSummary[]; next: IndexPosition | undefined } {
  // Rows below the highest stop are not known for every shard yet.
  let floor: IndexPosition | undefined;
  for (const p of pages) if (p.next !== undefined && (floor === undefined || above(p.next, floor))) floor = p.next;
  const rows: { item: PostbackSummary; at: IndexPosition }[] = [];
  for (const p of pages) {
    for (let i = 0; i < p.items.length; i++) {
      const at = p.positions[i]!;
      if (floor === undefined || !above(floor, at)) rows.push({ item: p.items[i]!, at });
    }
  }
  rows.sort((a, b) => (above(a.at, b.at) ? -1 : above(b.at, a.at) ? 1 : 0));
  const page = rows.slice(0, limit);
  const lastRow = page[page.length - 1];
  return { items: page.map((r) => r.item), next: page.length === limit && lastRow !== undefined ? lastRow.at : floor };
}

/** Whether `a` comes before `b` (newer) in the (score, id) descending order. */
function above(a: IndexPosition, b: IndexPosition): boolean {
  return a.score > b.score || (a.score === b.score && a.id > b.id);
}
