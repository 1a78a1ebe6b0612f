import { ValidationError, describeValue, type ErrorDetail } from '../errors/base-error.js';
import type { HistoryContext } from './history-context.js';
import { F, POSTBACK_STATUSES, decodeStatic, type PostbackStatus, type RecordStatic } from './postback-record.js';

/** Filters of GET /v1/postbacks, the CSV export, bulk replay and `postback history`. */
export interface PostbackFilter {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  readonly status?: PostbackStatus | undefined;
  readonly endpointId?: string | undefined;
  readonly publisherId?: string | undefined;
  readonly eventId?: string | undefined;
}

/** A row of a list: what the list, the CSV and replay need, without every attempt. */
export interface PostbackSummary extends RecordStatic {
  readonly id: string;
  readonly status: PostbackStatus;
  readonly attempts: number;
  readonly http_status: number | null;
  readonly finished_ms: number | null;
  readonly last_error: string | null;
}

export interface PostbackPage {
  readonly items: PostbackSummary[];
  /** Continue from here; null when the range is exhausted. */
  readonly next_cursor: string | null;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** Index entries read per Redis round trip while filtering. */
const SCAN_BATCH = 500;
/** Most index entries one page may scan; past it the page ends early with a cursor. */
const MAX_SCAN = 50_000;

type Cursor = IndexPosition;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.score}:${c.id}`).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const raw = Buffer.from(text, 'base64url').toString('utf8');
  const at = raw.indexOf(':');
  const score = Number(raw.slice(0, at));
  const id = raw.slice(at + 1);
  if (at <= 0 || !Number.isFinite(score) || !/^[a-z0-9]{1,64}$/.test(id)) {
    throw new ValidationError(`cursor ${describeValue(text)} is not one this API returned`, [{ path: 'cursor', message: 'invalid cursor' }]);
  }
  return { score, id };
}

/** A row's place in the time index: rows are ordered by (score, id), newest first. */
export interface IndexPosition {
  readonly score: number;
  readonly id: string;
}

/** A page with each row's index position (for merging several shards' pages). */
export interface IndexPage {
  readonly items: PostbackSummary[];
  /** Index position of each item, in order. */
  readonly positions: IndexPosition[];
  /** Where the walk stopped (continue below it); undefined when the range is exhausted. */
  readonly next: IndexPosition | undefined;
}

/**
 * One page of history, newest first, from the time index. Stable under concurrent
 * inserts: the cursor is the last row's (created time, id), and rows are ordered by that
 * pair, so new postbacks (always newer) never shift a later page. A narrow date range
 * reads only the index entries inside it; other filters are applied to those entries.
 */
export async function queryPostbacks(
  ctx: HistoryContext,
  filter: PostbackFilter,
  limit: number = DEFAULT_LIMIT,
  cursor?: string,
): Promise<PostbackPage> {
  const page = await scanIndex(ctx, filter, limit, cursor ? decodeCursor(cursor) : undefined);
  return { items: page.items, next_cursor: page.next === undefined ? null : encodeCursor(page.next) };
}

/** queryPostbacks on decoded positions: rows strictly below `after`, up to `limit` matches. */
export async function scanIndex(ctx: HistoryContext, filter: PostbackFilter, limit: number, after: IndexPosition | undefined): Promise<IndexPage> {
  const upper = filter.toMs === undefined ? Number.POSITIVE_INFINITY : indexScore(filter.toMs, 999);
  const min = filter.fromMs === undefined ? Number.NEGATIVE_INFINITY : indexScore(filter.fromMs, 0);
  const items: PostbackSummary[] = [];
  const positions: IndexPosition[] = [];
  let scanned = 0;
  // The walk's position: rows at or above it (in (score, id) order) were already seen.
  let last: Cursor | undefined = after;
  let tieOffset = 0;
  for (;;) {
    const max = last === undefined ? upper : Math.min(last.score, upper);
    const batch = await ctx.redis.zrange(ctx.keys.index, fmt(max), fmt(min), 'BYSCORE', 'REV', 'LIMIT', tieOffset, SCAN_BATCH, 'WITHSCORES');
    if (batch.length === 0) return { items, positions, next: undefined };
    const entries: Cursor[] = [];
    for (let i = 0; i < batch.length; i += 2) {
      const id = batch[i] as string;
      const score = Number(batch[i + 1]);
      // Equal scores sort by id, descending: skip the ones already returned.
      if (last !== undefined && score === last.score && id >= last.id) continue;
      entries.push({ score, id });
    }
    if (entries.length === 0) {
      // A whole batch of one score, all seen: step over it (only with > SCAN_BATCH ties).
      tieOffset += SCAN_BATCH;
      continue;
    }
    tieOffset = 0;
    const rows = await loadSummaries(ctx, entries.map((e) => e.id));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Cursor;
      scanned++;
      last = entry;
      const row = rows[i];
      if (row !== undefined && matches(row, filter)) {
        items.push(row);
        positions.push(entry);
        if (items.length >= limit) return { items, positions, next: entry };
      }
      if (scanned >= MAX_SCAN) return { items, positions, next: entry };
    }
    if (batch.length / 2 < SCAN_BATCH) return { items, positions, next: undefined };
  }
}

/**
 * Index scores are creation milliseconds x 1000 plus a per-process sequence, so the
 * thousand postbacks of one batch (one millisecond) still have distinct, ordered scores.
 */
export function indexScore(createdMs: number, seq: number): number {
  return createdMs * 1000 + (seq % 1000);
}

function fmt(n: number): string {
  return n === Number.POSITIVE_INFINITY ? '+inf' : n === Number.NEGATIVE_INFINITY ? '-inf' : String(n);
}

function matches(r: PostbackSummary, f: PostbackFilter): boolean {
  return (
    (f.status === undefined || r.status === f.status) &&
    (f.endpointId === undefined || r.endpoint_id === f.endpointId) &&
    (f.publisherId === undefined || r.publisher_id === f.publisherId) &&
    (f.eventId === undefined || r.event_id === f.eventId)
  );
}

async function loadSummaries(ctx: HistoryContext, ids: readonly string[]): Promise<(PostbackSummary | undefined)[]> {
  if (ids.length === 0) return [];
  const pipe = ctx.redis.pipeline();
  for (const id of ids) pipe.hmget(ctx.keys.record(id), F.static, F.status, F.count, F.http, F.finished, F.lastError);
  const res = (await pipe.exec()) ?? [];
  return ids.map((id, i) => {
    const [err, fields] = res[i] ?? [null, null];
    // A failed read is not a missing row: dropping it would cut a page, export or bulk replay short.
    if (err) throw err;
    if (!Array.isArray(fields)) return undefined;
    const [d, s, c, h, f, e] = fields as (string | null)[];
    if (!d) return undefined; // expired between index trims
    return {
      ...decodeStatic(d),
      id,
      status: (s ?? 'queued') as PostbackStatus,
      attempts: Number(c ?? 0),
      http_status: h ? Number(h) : null,
      finished_ms: f ? Number(f) : null,
      last_error: e || null,
    };
  });
}

/** Parses the query-string (or JSON body) form of the filters; errors name the field and value. */
export function parseFilter(input: Record<string, unknown>): { filter: PostbackFilter; limit: number; cursor: string | undefined } {
  const details: ErrorDetail[] = [];
  const time = (name: string): number | undefined => {
    const v = input[name];
    if (v === undefined || v === '') return undefined;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a non-string (a repeated query parameter's array, a JSON object) keeps the String() coercion it always had
    const n = typeof v === 'number' ? v : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v));
    if (!Number.isFinite(n)) {
      details.push({ path: name, message: `must be ISO 8601 or epoch milliseconds, got ${describeValue(v)}` });
      return undefined;
    }
    return n;
  };
  const text = (name: string): string | undefined => {
    const v = input[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || v.length > 128) {
      details.push({ path: name, message: `must be a string of at most 128 chars, got ${describeValue(v)}` });
      return undefined;
    }
    return v;
  };
  const status = text('status');
  if (status !== undefined && !(POSTBACK_STATUSES as readonly string[]).includes(status)) {
    details.push({ path: 'status', message: `must be one of ${POSTBACK_STATUSES.join(', ')}, got ${describeValue(status)}` });
  }
  let limit = DEFAULT_LIMIT;
  if (input.limit !== undefined && input.limit !== '') {
    const n = Number(input.limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) details.push({ path: 'limit', message: `must be an integer from 1 to ${MAX_LIMIT}, got ${describeValue(input.limit)}` });
    else limit = n;
  }
  const filter: PostbackFilter = {
    fromMs: time('from'),
    toMs: time('to'),
    status: status as PostbackStatus | undefined,
    endpointId: text('endpoint_id'),
    publisherId: text('publisher_id'),
    eventId: text('event_id'),
  };
  const cursor = text('cursor');
  if (details.length > 0) throw new ValidationError(`invalid filter: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  return { filter, limit, cursor };
}
