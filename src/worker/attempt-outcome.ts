import type { Outcome } from '../delivery/classify.js';
import type { SecretMasker } from '../endpoints/secrets.js';
import type { AttemptRecord } from '../history/postback-record.js';
import type { HealthReporter } from '../health/health-reporter.js';
import type { Metrics } from '../metrics/metrics.js';
import { nextDelayMs } from '../queue/retry-policy.js';

/** An attempt that sent nothing: what history records for it. */
function notSent(errorClass: 'config' | 'circuit_open' | 'disabled', permanent: boolean): Outcome {
  return { ok: false, statusCode: 0, errorClass, phase: null, permanent, retryAfterMs: undefined, location: undefined, excerpt: '' };
}
/** The job asks for its endpoint's signer after the endpoint lost it: sending unsigned would be worse. */
export const SIGNER_MISSING = notSent('config', true);
export const CIRCUIT_OPEN = notSent('circuit_open', false);
export const DISABLED = notSent('disabled', true);

/** What an attempt leads to: its record, the postback's status, and when the next attempt is due. */
export interface SettledAttempt {
  readonly record: AttemptRecord;
  readonly status: 'delivered' | 'failed' | 'retrying';
  readonly final: boolean;
  readonly nextMs: number | undefined;
}

export interface AttemptFacts {
  readonly outcome: Outcome;
  /** This attempt's number (1-based) and how many the postback has in all. */
  readonly n: number;
  readonly maxAttempts: number;
  readonly scheduleS: readonly number[];
  readonly startedMs: number;
  readonly durationMs: number;
  /** Masks the endpoint's secrets in what the receiver said (it may echo what it was sent). */
  readonly masker: SecretMasker;
  readonly nowMs: number;
}

/** Attempt n's record and what follows it: delivered, final failure, or the next attempt's time. */
export function settleAttempt(f: AttemptFacts): SettledAttempt {
  const { outcome, masker } = f;
  const final = outcome.ok || outcome.permanent || f.n >= f.maxAttempts;
  const status = outcome.ok ? 'delivered' : final ? 'failed' : 'retrying';
  const record: AttemptRecord = {
    n: f.n,
    started_at: new Date(f.startedMs).toISOString(),
    duration_ms: f.durationMs,
    status_code: outcome.statusCode,
    error: outcome.errorClass,
    phase: outcome.phase,
    response_excerpt: masker.empty ? outcome.excerpt : masker.mask(outcome.excerpt),
    ...(outcome.location !== undefined ? { location: masker.mask(outcome.location) } : {}),
    ...(outcome.retryAfterMs !== undefined ? { retry_after_ms: outcome.retryAfterMs } : {}),
  };
  const nextMs = final ? undefined : f.nowMs + nextDelayMs(f.scheduleS, f.n, outcome.retryAfterMs);
  return { record, status, final, nextMs };
}

function statusClass(o: Outcome): string {
  return o.statusCode > 0 ? `${Math.floor(o.statusCode / 100)}xx` : (o.errorClass ?? 'other');
}

/** Counts a recorded attempt in the metrics and, when final, in the endpoint's health. */
export function countAttempt(
  metrics: Metrics,
  reporter: HealthReporter,
  subject: string,
  endpointId: string,
  outcome: Outcome,
  final: boolean,
  durationMs: number,
): void {
  const sent = outcome !== CIRCUIT_OPEN && outcome !== DISABLED;
  const label = outcome.ok ? 'delivered' : !sent ? outcome.errorClass! : final ? 'failed' : 'retry';
  metrics.endpointAttempts.inc({ endpoint_id: endpointId, outcome: label });
  if (sent) {
    metrics.attemptDuration.observe(durationMs / 1000);
    metrics.attempts.inc({ outcome: outcome.ok ? 'success' : final ? 'failed' : 'retry', status_class: statusClass(outcome) });
  }
  if (outcome.ok) {
    metrics.finals.inc({ outcome: 'delivered' });
    reporter.final(subject, true);
  } else if (final) {
    metrics.finals.inc({ outcome: 'failed' });
    if (outcome !== DISABLED) reporter.final(subject, false);
  }
}
