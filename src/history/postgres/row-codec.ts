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
  d: string;
  rr: string | null;
  a: string | null;
}

/** Columns in the order rowValues gives them (the upsert's unnest arrays). */
export const ROW_COLUMNS = ['id', 'endpoint_id', 'publisher_id', 'event_id', 'status', 'attempts', 'http_status', 'finished_ms', 'next_ms', 'last_error', 'd', 'rr', 'a'] as const;

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
  if (stored.created_ms === idTimeMs(id)) delete rest.created_ms;
  const count = Number(hash[F.count] ?? '0');
  const attempts: unknown[] = [];
  for (let n = 1; n <= count + 1; n++) {
    const a = hash[F.attempt(n)];
    if (a !== undefined) attempts.push(compactAttempt(JSON.parse(a) as AttemptRecord));
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
    d: JSON.stringify(rest),
    rr: hash[F.replayRequest] ?? null,
    a: attempts.length > 0 ? JSON.stringify(attempts) : null,
  };
}

function num(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : Number(v);
}

/** An attempt as an array: [n, started ms, duration, status code, error, phase, excerpt, location?, retry after?]. */
function compactAttempt(a: AttemptRecord): unknown[] {
  const out: unknown[] = [a.n, Date.parse(a.started_at), a.duration_ms, a.status_code, a.error, a.phase, a.response_excerpt];
  if (a.location !== undefined || a.retry_after_ms !== undefined) out.push(a.location ?? null);
  if (a.retry_after_ms !== undefined) out.push(a.retry_after_ms);
  return out;
}

function expandAttempt(v: unknown[]): AttemptRecord {
  const [n, started, duration, code, error, phase, excerpt, location, retryAfter] = v as [number, number, number, number, string | null, string | null, string, string | null | undefined, number | undefined];
  return {
    n,
    started_at: new Date(started).toISOString(),
    duration_ms: duration,
    status_code: code,
    error,
    phase,
    response_excerpt: excerpt,
    ...(location !== undefined && location !== null ? { location } : {}),
    ...(retryAfter !== undefined ? { retry_after_ms: retryAfter } : {}),
  };
}

const toNum = (v: string | number | null): number | null => (v === null ? null : Number(v));

function staticOf(row: PostbackRow): ReturnType<typeof staticFromStored> {
  const d = JSON.parse(row.d) as StoredStatic;
  return staticFromStored({
    ...d,
    event_id: row.event_id,
    endpoint_id: row.endpoint_id,
    publisher_id: row.publisher_id,
    created_ms: d.created_ms ?? idTimeMs(row.id),
  });
}

export function recordFromRow(row: PostbackRow): PostbackRecord {
  return {
    ...staticOf(row),
    id: row.id,
    status: STATUS_NAME[row.status] ?? 'queued',
    attempts: row.a === null ? [] : (JSON.parse(row.a) as unknown[][]).map(expandAttempt),
    http_status: row.http_status,
    finished_ms: toNum(row.finished_ms),
    next_attempt_ms: toNum(row.next_ms),
  };
}

export function summaryFromRow(row: Omit<PostbackRow, 'a' | 'rr' | 'next_ms'>): PostbackSummary {
  return {
    ...staticOf(row as PostbackRow),
    id: row.id,
    status: STATUS_NAME[row.status] ?? 'queued',
    attempts: row.attempts,
    http_status: row.http_status,
    finished_ms: toNum(row.finished_ms),
    last_error: row.last_error,
  };
}
