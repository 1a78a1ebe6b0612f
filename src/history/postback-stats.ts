import { ValidationError } from '../errors/base-error.js';
import type { PostbackStatus } from './postback-record.js';
import type { PostbackSummary } from './query-postbacks.js';

/** Counts of postbacks by status. */
export interface StatusCounts {
  delivered: number;
  failed: number;
  retrying: number;
  queued: number;
}

/** Buckets a range may be cut into, and their length. */
export const BUCKETS: ReadonlyMap<string, number> = new Map([
  ['1m', 60_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
]);
/** Most buckets one answer holds (a chart's worth). */
const MAX_BUCKETS = 2000;

export interface PostbackStats {
  readonly from: string;
  readonly to: string;
  readonly bucket: string;
  readonly totals: StatusCounts & { total: number; success_rate: number | null };
  /** One entry per bucket of creation time, oldest first, empty buckets included. */
  readonly series: (StatusCounts & { t: string })[];
  /** Final failures and retrying postbacks by their last error class, most first. */
  readonly errors: { error: string; count: number }[];
  readonly endpoints: (StatusCounts & { endpoint_id: string })[];
  /** Rows read; `truncated` when the range held more than could be read for one answer. */
  readonly scanned: number;
  readonly truncated: boolean;
}

/** The bucket for a range: as asked, else the coarsest that still gives at least 24 points. */
export function bucketFor(asked: string | undefined, fromMs: number, toMs: number): { name: string; ms: number } {
  if (asked !== undefined && asked !== '') {
    const ms = BUCKETS.get(asked);
    if (ms === undefined) throw new ValidationError(`bucket must be one of ${[...BUCKETS.keys()].join(', ')}, got ${JSON.stringify(asked).slice(0, 40)}`, [{ path: 'bucket', message: `must be one of ${[...BUCKETS.keys()].join(', ')}` }]);
    if ((toMs - fromMs) / ms > MAX_BUCKETS) throw new ValidationError(`bucket ${asked} cuts this range into more than ${MAX_BUCKETS} buckets: choose a larger one`, [{ path: 'bucket', message: 'too small for the range' }]);
    return { name: asked, ms };
  }
  let chosen: [string, number] = ['1m', 60_000];
  for (const [name, ms] of BUCKETS) if ((toMs - fromMs) / ms >= 24) chosen = [name, ms];
  return { name: chosen[0], ms: chosen[1] };
}

const zero = (): StatusCounts => ({ delivered: 0, failed: 0, retrying: 0, queued: 0 });

/**
 * Aggregates postbacks (newest first, as history lists them) created in [fromMs, toMs):
 * totals, a series per bucket, errors, per endpoint. Reads at most `maxRows`, then says
 * `truncated` (the counts then cover the newest part of the range).
 */
export async function aggregateStats(
  rows: AsyncIterable<PostbackSummary>,
  range: { fromMs: number; toMs: number; bucket: { name: string; ms: number } },
  maxRows: number,
): Promise<PostbackStats> {
  const { fromMs, toMs, bucket } = range;
  const start = Math.floor(fromMs / bucket.ms) * bucket.ms;
  const series = Array.from({ length: Math.max(1, Math.ceil((toMs - start) / bucket.ms)) }, (_, i) => ({ t: new Date(start + i * bucket.ms).toISOString(), ...zero() }));
  const totals = zero();
  const errors = new Map<string, number>();
  const endpoints = new Map<string, StatusCounts>();
  let scanned = 0;
  let truncated = false;
  for await (const r of rows) {
    if (scanned >= maxRows) {
      truncated = true;
      break;
    }
    scanned++;
    const status: PostbackStatus = r.status;
    totals[status]++;
    const slot = series[Math.floor((r.created_ms - start) / bucket.ms)];
    if (slot !== undefined) slot[status]++;
    let ep = endpoints.get(r.endpoint_id);
    if (ep === undefined) endpoints.set(r.endpoint_id, (ep = zero()));
    ep[status]++;
    if ((status === 'failed' || status === 'retrying') && r.last_error) errors.set(r.last_error, (errors.get(r.last_error) ?? 0) + 1);
  }
  const total = totals.delivered + totals.failed + totals.retrying + totals.queued;
  const settled = totals.delivered + totals.failed;
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    bucket: bucket.name,
    totals: { ...totals, total, success_rate: settled === 0 ? null : totals.delivered / settled },
    series,
    errors: [...errors].map(([error, count]) => ({ error, count })).sort((a, b) => b.count - a.count),
    endpoints: [...endpoints].map(([endpoint_id, c]) => ({ endpoint_id, ...c })).sort((a, b) => (a.endpoint_id < b.endpoint_id ? -1 : 1)),
    scanned,
    truncated,
  };
}
