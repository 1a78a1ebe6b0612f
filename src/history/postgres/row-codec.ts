import { F, staticFromStored, type AttemptRecord, type PostbackRecord, type PostbackStatus, type StoredStatic } from '../postback-record.js';
import type { PostbackSummary } from '../query-postbacks.js';
import { idTimeMs } from './day-partitions.js';
import { STATUS_CODE, STATUS_NAME } from './schema.js';

/** A postbacks row, as written and as read (bigints come back as strings). */
export interface PostbackRow {
  id: string;
  endpoint_id: string;
  publisher_id: string | null;
  event_id: string;
  status: string;
  attempts: number;
  http_status: number | null;
  finished_ms: string | number | null;
  next_ms: string | number | null;
  last_error: string | null;
  /** The request's URL (masked); the rest of the request, when not implied, is in `d`. */
  url: string;
  d: string;
  rr: string | null;
  a: string | null;
}

/** Columns in the order rowValues gives them (the upsert's unnest arrays). */
export const ROW_COLUMNS = ['id', 'endpoint_id', 'publisher_id', 'event_id', 'status', 'attempts', 'http_status', 'finished_ms', 'next_ms', 'last_error', 'url', 'd', 'rr', 'a'] as const;

/** What a live record's static JSON holds that the row keeps as columns. */
const IN_COLUMNS = ['event_id', 'endpoint_id', 'publisher_id'] as const;

/**
 * A live record's hash (an outbox snapshot) as a row. Undefined for a snapshot without
 * its static part (cannot happen for one a record script wrote; never guessed at).
 */
export function rowFromSnapshot(id: string, hash: Readonly<Record<string, string>>): PostbackRow | undefined {
  const json = hash[F.static];
  if (json === undefined) return undefined;
  const stored = JSON.parse(json) as StoredStatic;
  const rest: Record<string, unknown> = { ...stored };
  for (const k of IN_COLUMNS) delete rest[k];
  // The id starts with the creation time: kept apart only when they differ.
  const createdMs = stored.created_ms ?? idTimeMs(id);
  if (createdMs === idTimeMs(id)) delete rest.created_ms;
  // A plain GET's request is its URL alone: a column, and no `request` in the JSON.
  const { url, ...otherRequest } = stored.request;
  if (Object.keys(otherRequest).length > 0) rest.request = otherRequest;
  else delete rest.request;
  const count = Number(hash[F.count] ?? '0');
  const attempts: unknown[] = [];
  for (let n = 1; n <= count + 1; n++) {
    const a = hash[F.attempt(n)];
    if (a !== undefined) attempts.push(compactAttempt(JSON.parse(a) as AttemptRecord, createdMs));
  }
  const status = (hash[F.status] ?? 'queued') as PostbackStatus;
  return {
    id,
    endpoint_id: stored.endpoint_id ?? '',
    publisher_id: stored.publisher_id ?? null,
    event_id: stored.event_id ?? '',
    status: STATUS_CODE[status] ?? 'q',
    attempts: count,
    http_status: num(hash[F.http]),
    finished_ms: num(hash[F.finished]),
    next_ms: status === 'retrying' || status === 'queued' ? num(hash[F.next]) : null,
    last_error: hash[F.lastError] || null,
    url,
    d: JSON.stringify(rest),
    rr: hash[F.replayRequest] ?? null,
    a: attempts.length > 0 ? JSON.stringify(attempts) : null,
  };
}

function num(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

/**
 * An attempt as an array: [n, started ms after creation, duration, status code, excerpt,
 * error, phase, location, retry after], trailing empty entries left out (a success is
 * `[1,4,3,200,"OK"]`).
 */
function compactAttempt(a: AttemptRecord, createdMs: number): unknown[] {
  const out: unknown[] = [a.n, Date.parse(a.started_at) - createdMs, a.duration_ms, a.status_code, a.response_excerpt, a.error, a.phase, a.location ?? null, a.retry_after_ms ?? null];
  while (out.length > 5 && out[out.length - 1] === null) out.pop();
  return out;
}

function expandAttempt(v: unknown[], createdMs: number): AttemptRecord {
  const [n, started, duration, code, excerpt, error, phase, location, retryAfter] = v as [number, number, number, number, string, string | null | undefined, string | null | undefined, string | null | undefined, number | null | undefined];
  return {
    n,
    started_at: new Date(createdMs + started).toISOString(),
    duration_ms: duration,
    status_code: code,
    error: error ?? null,
    phase: phase ?? null,
    response_excerpt: excerpt,
    ...(location !== undefined && location !== null ? { location } : {}),
    ...(retryAfter !== undefined && retryAfter !== null ? { retry_after_ms: retryAfter } : {}),
  };
}

const toNum = (v: string | number | null): number | null => (v === null ? null : Number(v));

function staticOf(row: Pick<PostbackRow, 'id' | 'endpoint_id' | 'publisher_id' | 'event_id' | 'url' | 'd'>): ReturnType<typeof staticFromStored> {
  const d = JSON.parse(row.d) as Omit<StoredStatic, 'request'> & { request?: Omit<StoredStatic['request'], 'url'> };
  return staticFromStored({
    ...d,
    request: { ...d.request, url: row.url },
    event_id: row.event_id,
    endpoint_id: row.endpoint_id,
    publisher_id: row.publisher_id,
    created_ms: d.created_ms ?? idTimeMs(row.id),
  });
}

export function recordFromRow(row: PostbackRow): PostbackRecord {
  const base = staticOf(row);
  return {
    ...base,
    id: row.id,
    status: STATUS_NAME[row.status] ?? 'queued',
    attempts: row.a === null ? [] : (JSON.parse(row.a) as unknown[][]).map((a) => expandAttempt(a, base.created_ms)),
    http_status: row.http_status,
    finished_ms: toNum(row.finished_ms),
    next_attempt_ms: toNum(row.next_ms),
  };
}

export function summaryFromRow(row: Omit<PostbackRow, 'a' | 'rr' | 'next_ms'>): PostbackSummary {
  return {
    ...staticOf(row),
    id: row.id,
    status: STATUS_NAME[row.status] ?? 'queued',
    attempts: row.attempts,
    http_status: row.http_status,
    finished_ms: toNum(row.finished_ms),
    last_error: row.last_error,
  };
}
