import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { LATENCY_BUCKETS_MS, histogramQuantile, type HealthState } from './health-state.js';

/** SPEC's `health` of an endpoint in GET /v1/endpoints[/:id]. */
export interface EndpointHealth {
  readonly state: HealthState;
  readonly success_rate_5m: number | null;
  readonly attempts_5m: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  readonly consecutive_failures: number;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
  readonly last_success_at: string | null;
  readonly state_since: string | null;
  readonly disabled_at: string | null;
  readonly disabled_reason: string | null;
}

const MINUTE_MS = 60_000;
const WINDOW_MINUTES = 5;
const iso = (v: string | undefined): string | null => (v === undefined || v === '' ? null : new Date(Number(v)).toISOString());

/**
 * Reads the health of each subject in one pipeline: its state hash and its last five
 * minutes of counts. Latency quantiles are the upper bounds of histogram buckets.
 */
export async function readHealth(redis: RedisClient, keys: RedisKeys, subjects: readonly string[], nowMs = Date.now()): Promise<Map<string, EndpointHealth>> {
  const out = new Map<string, EndpointHealth>();
  if (subjects.length === 0) return out;
  const minute = Math.floor(nowMs / MINUTE_MS);
  const pipe = redis.pipeline();
  for (const s of subjects) {
    pipe.hgetall(keys.health(s));
    for (let m = minute - WINDOW_MINUTES + 1; m <= minute; m++) pipe.hgetall(keys.healthMinute(s, m));
  }
  const replies = (await pipe.exec()) ?? [];
  const per = WINDOW_MINUTES + 1;
  subjects.forEach((s, i) => {
    const hash = hashAt(replies, i * per);
    let attempts = 0;
    let ok = 0;
    const latency = new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);
    for (let j = 1; j < per; j++) {
      const m = hashAt(replies, i * per + j);
      attempts += Number(m.a ?? 0);
      ok += Number(m.s ?? 0);
      for (let b = 0; b < latency.length; b++) latency[b]! += Number(m[`l${b}`] ?? 0);
    }
    out.set(s, {
      state: (hash.st ?? 'healthy') as HealthState,
      success_rate_5m: attempts === 0 ? null : Math.round((ok / attempts) * 10_000) / 10_000,
      attempts_5m: attempts,
      latency_p50_ms: histogramQuantile(latency, 0.5),
      latency_p99_ms: histogramQuantile(latency, 0.99),
      consecutive_failures: Number(hash.cf ?? 0),
      last_error: hash.le ?? null,
      last_error_at: iso(hash.lea),
      last_success_at: iso(hash.lsa),
      state_since: iso(hash.since),
      disabled_at: hash.st === 'disabled' ? iso(hash.dat) : null,
      disabled_reason: hash.st === 'disabled' ? (hash.dr ?? null) : null,
    });
  });
  return out;
}

function hashAt(replies: [Error | null, unknown][], i: number): Record<string, string> {
  const [err, value] = replies[i] ?? [null, {}];
  if (err) throw err;
  return (value ?? {}) as Record<string, string>;
}
