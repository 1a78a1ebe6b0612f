import type { HealthReporter } from '../health/health-reporter.js';
import type { AttemptWriter } from '../history/record-attempt.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { CIRCUIT_OPEN, countAttempt, settleAttempt, type AttemptFacts, type SettledAttempt } from './attempt-outcome.js';
import { recordWithRetry } from './record-with-retry.js';

export interface RecordOutcomeDeps {
  readonly writer: AttemptWriter;
  readonly metrics: Metrics;
  readonly reporter: HealthReporter;
  readonly logger: Logger;
  /** How long a write may keep being retried while Redis is away. */
  readonly maxAttemptMs: number;
}

/** An attempt as it ended, and whose it was. */
export interface FinishedAttempt extends Omit<AttemptFacts, 'nowMs'> {
  readonly postbackId: string;
  readonly endpointId: string;
  readonly subject: string;
}

/**
 * What every attempt ends with, a lone job's or a batch item's: its record (written first,
 * retried while Redis is briefly away, so a crash repeats the attempt rather than losing
 * it), then metrics and health, then its log line: a delivery at `deliveredLevel` (info for
 * a lone job, debug in a batch, whose summary line is at info), failures at warn, an
 * attempt the open circuit kept back at debug.
 */
export async function recordOutcome(
  deps: RecordOutcomeDeps,
  a: FinishedAttempt,
  deliveredLevel: 'info' | 'debug',
  /** For an attempt that leads to another: the batch job that will hold it (by the delay until it), or undefined for a job of its own. */
  nextBatch?: (delayMs: number) => string | undefined,
): Promise<SettledAttempt> {
  const { outcome, postbackId } = a;
  const nowMs = Date.now();
  const settled = settleAttempt({ ...a, nowMs });
  const batch = settled.nextMs !== undefined && nextBatch !== undefined ? nextBatch(settled.nextMs - nowMs) : undefined;
  await recordWithRetry(() => deps.writer.write(postbackId, settled.record, settled.status, nowMs, settled.nextMs, batch), deps.maxAttemptMs);
  countAttempt(deps.metrics, deps.reporter, a.subject, a.endpointId, outcome, settled.final, a.durationMs);
  const fields = { postbackId, endpointId: a.endpointId, attempt: a.n, statusCode: outcome.statusCode, error: outcome.errorClass, durationMs: a.durationMs };
  if (outcome.ok) deps.logger[deliveredLevel](fields, 'postback delivered');
  else if (settled.final) deps.logger.warn(fields, 'postback failed');
  else if (outcome === CIRCUIT_OPEN) deps.logger.debug({ ...fields, nextAttemptAt: settled.nextMs }, 'attempt not sent: circuit open');
  else deps.logger.warn({ ...fields, nextAttemptAt: settled.nextMs }, 'attempt failed');
  return settled;
}
