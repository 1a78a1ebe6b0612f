import type { RenderedRequest } from '../endpoints/rendered-request.js';

export type PostbackStatus = 'queued' | 'retrying' | 'delivered' | 'failed';
export const POSTBACK_STATUSES: readonly PostbackStatus[] = ['queued', 'retrying', 'delivered', 'failed'];

/** One attempt as history keeps it: codes and numbers, not free text. */
export interface AttemptRecord {
  readonly n: number;
  readonly started_at: string;
  readonly duration_ms: number;
  readonly status_code: number;
  /** Error class (timeout, refused, reset, dns, tls, blocked, other, http_status, redirect, body_mismatch) or null. */
  readonly error: string | null;
  readonly phase: string | null;
  readonly response_excerpt: string;
  readonly location?: string;
  readonly retry_after_ms?: number;
}

/** The immutable part of a record, written once at enqueue. */
export interface RecordStatic {
  readonly event_id: string;
  readonly endpoint_id: string;
  readonly publisher_id: string | null;
  readonly offer_id: string | null;
  readonly advertiser_name: string | null;
  readonly payout: number | null;
  /** The event's `currency` (SPEC: e.g. "USD"), as given. */
  readonly currency: string | null;
  readonly created_ms: number;
  /** As sent, secrets masked. */
  readonly request: RenderedRequest;
  readonly replay_of?: string;
  readonly delay_s?: number;
  /** The endpoint's `ordering_key` as rendered for this postback (ordered endpoints only). */
  readonly ordering_key?: string;
}

export interface PostbackRecord extends RecordStatic {
  readonly id: string;
  readonly status: PostbackStatus;
  readonly attempts: readonly AttemptRecord[];
  readonly http_status: number | null;
  readonly finished_ms: number | null;
  readonly next_attempt_ms: number | null;
  /** Ordered endpoints: the earlier postback of the same key this one waits for, while it waits. */
  readonly waiting_for?: string;
}

/** Hash field names of a record. Short, because every pending postback carries them. The Lua in scripts/record-attempt.ts is built from this table. */
export const F = {
  static: 'd',
  /** The request with secrets as placeholders, when masking changed it: what replay restores. */
  replayRequest: 'rr',
  status: 's',
  count: 'c',
  http: 'h',
  finished: 'f',
  next: 'n',
  /** Error class of the last attempt, for lists and CSV without reading every attempt. */
  lastError: 'e',
  /**
   * The batch job carrying the postback's first attempt when it was batched, or its next
   * one when it retries in a batch: what the orphan scan looks for. Left as it was when the
   * next attempt went to a job of its own, so it may name a job long gone.
   */
  batch: 'j',
  /** Ordered endpoints: the Redis key of the postback's chain (its ordering key's turn list). */
  chain: 'k',
  /** Ordered endpoints: the postback this one waits for, while it waits. */
  waiting: 'w',
  attempt: (n: number) => `a${n}`,
} as const;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NULLABLE = ['publisher_id', 'offer_id', 'advertiser_name', 'payout', 'currency'] as const;

/**
 * The static part as stored: JSON without what is implied (null fields; GET, no headers, no
 * body), because every pending postback carries it. decodeStatic puts the defaults back.
 */
export function encodeStatic(data: RecordStatic): string {
  const out: Record<string, unknown> = { ...data };
  for (const k of NULLABLE) if (out[k] === null) delete out[k];
  const r = data.request;
  const req: Record<string, unknown> = { url: r.url };
  if (r.method !== 'GET') req.method = r.method;
  if (Object.keys(r.headers).length > 0) req.headers = r.headers;
  if (r.body !== null) req.body = r.body;
  out.request = req;
  return JSON.stringify(out);
}

export type StoredRequest = Partial<RecordStatic['request']> & { url: string };

function requestOf(r: StoredRequest): RecordStatic['request'] {
  return { method: r.method ?? 'GET', url: r.url, headers: r.headers ?? NO_HEADERS, body: r.body ?? null };
}

/** Only the request of what encodeStatic wrote (a batch's worker needs nothing else). */
export function decodeStaticRequest(json: string): RecordStatic['request'] {
  return requestOf((JSON.parse(json) as { request: StoredRequest }).request);
}

/** Reads what encodeStatic wrote (and the full form older records hold). */
export function decodeStatic(json: string): RecordStatic {
  return staticFromStored(JSON.parse(json) as StoredStatic);
}

/** What encodeStatic's JSON parses to. */
export type StoredStatic = Omit<Partial<RecordStatic>, 'request'> & { request: StoredRequest };

/** The static part, defaults put back, from its stored (parsed) form. */
export function staticFromStored(d: StoredStatic): RecordStatic {
  return {
    ...d,
    event_id: d.event_id!,
    endpoint_id: d.endpoint_id!,
    created_ms: d.created_ms!,
    publisher_id: d.publisher_id ?? null,
    offer_id: d.offer_id ?? null,
    advertiser_name: d.advertiser_name ?? null,
    payout: d.payout ?? null,
    currency: d.currency ?? null,
    request: requestOf(d.request),
  };
}

export function recordFromHash(id: string, hash: Record<string, string>): PostbackRecord | undefined {
  const d = hash[F.static];
  if (d === undefined) return undefined;
  const base = decodeStatic(d);
  const count = Number(hash[F.count] ?? '0');
  const attempts: AttemptRecord[] = [];
  for (let n = 1; n <= count + 1; n++) {
    const a = hash[F.attempt(n)];
    if (a !== undefined) attempts.push(JSON.parse(a) as AttemptRecord);
  }
  const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));
  return {
    ...base,
    id,
    status: (hash[F.status] ?? 'queued') as PostbackStatus,
    attempts,
    http_status: num(hash[F.http]),
    finished_ms: num(hash[F.finished]),
    next_attempt_ms: num(hash[F.next]),
    ...(hash[F.waiting] ? { waiting_for: hash[F.waiting] } : {}),
  };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The record in SPEC's API shape (GET /v1/postbacks/:id). */
export function recordToApi(r: PostbackRecord): Record<string, unknown> {
  return {
    id: r.id,
    event_id: r.event_id,
    endpoint_id: r.endpoint_id,
    publisher_id: r.publisher_id,
    status: r.status,
    request: r.request,
    attempts: r.attempts,
    http_status: r.http_status,
    offer_id: r.offer_id,
    payout: r.payout,
    currency: r.currency,
    created_at: iso(r.created_ms),
    finished_at: iso(r.finished_ms),
    ...(r.status === 'retrying' || r.status === 'queued' ? { next_attempt_at: iso(r.next_attempt_ms) } : {}),
    ...(r.replay_of ? { replay_of: r.replay_of } : {}),
    ...(r.delay_s ? { delay_s: r.delay_s } : {}),
    ...(r.ordering_key !== undefined ? { ordering_key: r.ordering_key } : {}),
    ...(r.waiting_for !== undefined && (r.status === 'retrying' || r.status === 'queued') ? { waiting_for: r.waiting_for } : {}),
  };
}

/** The list item of SPEC (GET /v1/postbacks). */
export function recordToListItem(r: PostbackRecord, attemptCount: number = r.attempts.length): Record<string, unknown> {
  return {
    id: r.id,
    event_id: r.event_id,
    endpoint_id: r.endpoint_id,
    publisher_id: r.publisher_id,
    status: r.status,
    attempts: attemptCount,
    http_status: r.http_status,
    created_at: iso(r.created_ms),
    finished_at: iso(r.finished_ms),
    offer_id: r.offer_id,
    advertiser_name: r.advertiser_name,
    payout: r.payout,
    currency: r.currency,
    ...(r.replay_of ? { replay_of: r.replay_of } : {}),
  };
}
