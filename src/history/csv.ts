import type { PostbackSummary } from './query-postbacks.js';

/** SPEC's CSV columns, in order. */
export const CSV_COLUMNS = [
  'created_at', 'finished_at', 'postback_id', 'event_id', 'endpoint_id', 'publisher_id', 'offer_id',
  'advertiser_name', 'payout', 'status', 'attempts', 'http_status', 'error', 'url',
] as const;

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double inner quotes. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

const iso = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString());

/** One row; the URL is the recorded one, secrets already masked. */
export function csvRow(r: PostbackSummary): string {
  return `${[
    iso(r.created_ms), iso(r.finished_ms), r.id, r.event_id, r.endpoint_id, r.publisher_id, r.offer_id,
    r.advertiser_name, r.payout, r.status, r.attempts, r.http_status, r.last_error, r.request.url,
  ].map(csvField).join(',')}\r\n`;
}
