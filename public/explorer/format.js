// How the Explorer writes times, payouts, rates, attempt errors and bodies.
import { dash } from './dom.js';

export function pad(n, w) {
  return String(n).padStart(w || 2, '0');
}

/** Local date and time to the second, "2026-11-21 10:00:00". */
export function fmtTime(iso) {
  if (!iso) return '\u2014';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

/** Local time of day to the millisecond (attempts). */
export function fmtClock(iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d.getTime())) return dash(iso);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3);
}

/** datetime-local value (local time, seconds) of a Date. */
export function toLocalInput(d) {
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

// Payouts with 2 to 4 decimals (0.5 -> 0.50, 0.12345 -> 0.1235), and the event's currency
// when it gave one: "0.50 USD" (the code, not a symbol: "$" alone is several currencies).
const PAYOUT_FORMAT = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
export function fmtPayout(v, currency) {
  if (v === null || v === undefined || v === '') return '\u2014';
  const n = Number(v);
  const amount = isFinite(n) ? PAYOUT_FORMAT.format(n) : String(v);
  return currency ? amount + ' ' + currency : amount;
}

function fmtSeconds(ms) {
  const s = Math.round(Number(ms) / 100) / 10;
  return (s >= 10 ? String(Math.round(s)) : String(s)) + ' s';
}

/** A rate of 0..1 as a percentage with one decimal at most. */
export function pct(rate) {
  return rate === null || rate === undefined ? '\u2014' : (Math.round(rate * 1000) / 10) + '%';
}

// An attempt's error class in words; the class itself is shown beside it as a code.
const ERROR_TEXT = {
  http_status: (a) => 'HTTP ' + a.status_code + ' from receiver',
  timeout: (a) => 'timed out after ' + fmtSeconds(a.duration_ms),
  circuit_open: () => 'circuit open: not sent',
  disabled: () => 'endpoint disabled: not sent',
  refused: () => 'connection refused',
  reset: () => 'connection reset',
  dns: () => 'DNS lookup failed',
  tls: () => 'TLS handshake failed',
  blocked: () => 'blocked: target address not allowed',
  redirect: (a) => 'HTTP ' + a.status_code + ' redirect (not followed)',
  body_mismatch: (a) => 'HTTP ' + a.status_code + ' without the expected body text',
  config: () => 'endpoint configuration error',
  other: () => 'request failed',
};

/** An attempt's error in words, from its class, status code and duration. */
export function errorText(a) {
  const f = Object.prototype.hasOwnProperty.call(ERROR_TEXT, a.error) ? ERROR_TEXT[a.error] : null;
  return f ? f(a) : 'failed';
}

/** A request body as text: JSON pretty-printed, anything else as it is. */
export function prettyBody(body) {
  if (body === null || body === undefined) return '';
  if (typeof body !== 'string') return JSON.stringify(body, null, 2);
  const t = body.trim();
  if (t.charAt(0) === '{' || t.charAt(0) === '[') {
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch { /* not JSON: as sent */ }
  }
  return body;
}

/** "Times in your local zone (UTC+01:00)". */
export function tzNote() {
  let off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  off = Math.abs(off);
  return 'Times in your local zone (UTC' + sign + pad(Math.floor(off / 60)) + ':' + pad(off % 60) + ')';
}
