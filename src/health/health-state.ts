import { originOf } from './origin.js';

/** SPEC, Isolation and endpoint health. */
export type HealthState = 'healthy' | 'degraded' | 'open' | 'disabled';
export const HEALTH_STATES: readonly HealthState[] = ['healthy', 'degraded', 'open', 'disabled'];

/** Which queue a postback waits in: healthy endpoints never queue behind degraded ones. */
export type Lane = 'fast' | 'slow';

export function laneOf(state: HealthState): Lane {
  return state === 'degraded' || state === 'open' ? 'slow' : 'fast';
}

/** The endpoint id every inline target shares (mirrors endpoints/registry's INLINE_ID). */
const INLINE = 'inline';

/**
 * Whose health an attempt counts toward: the endpoint, or for inline targets (all called
 * `inline`) the target's origin, so two QA targets never share a circuit.
 */
export function subjectOf(endpointId: string, url: string): string {
  return endpointId === INLINE ? `${INLINE}@${originOf(url)}` : endpointId;
}

export function isInlineSubject(subject: string): boolean {
  return subject.startsWith(`${INLINE}@`);
}

/** Upper bounds (ms) of the latency histogram kept per subject and minute; the last is open. */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, Infinity];

export function latencyBucket(ms: number): number {
  let i = 0;
  while (ms > LATENCY_BUCKETS_MS[i]!) i++;
  return i;
}

/** The quantile q (0-1) of a histogram, as the upper bound of its bucket (the open bucket reports 30 s+). */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return Number.isFinite(LATENCY_BUCKETS_MS[i]!) ? LATENCY_BUCKETS_MS[i]! : LATENCY_BUCKETS_MS[i - 1]!;
  }
  return null;
}
