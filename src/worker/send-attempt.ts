import type { Dispatcher } from 'undici';
import { attempt } from '../delivery/attempt.js';
import type { Outcome } from '../delivery/classify.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthReporter } from '../health/health-reporter.js';
import type { Lane } from '../health/health-state.js';
import type { JobPolicy } from './job-policy.js';

export interface SendInput {
  readonly postbackId: string;
  readonly subject: string;
  readonly lane: Lane;
  readonly request: RenderedRequest;
  readonly policy: JobPolicy;
  readonly timeoutMs: number;
  /** The origin slot taken for this attempt; told how it went. */
  readonly release: (durationMs: number, congested: boolean) => void;
}

export interface SendDeps {
  readonly dispatcher: Dispatcher;
  readonly reporter: HealthReporter;
  /** Slower than this, on the fast lane, counts as congestion. */
  readonly slowMs: number;
}

export interface Sent {
  readonly outcome: Outcome;
  readonly startedMs: number;
  readonly durationMs: number;
}

/** No answer from the origin (or, where speed is expected, a slow one): the limiter backs off. */
function congested(o: Outcome, durationMs: number, lane: Lane, slowMs: number): boolean {
  if (o.statusCode === 0 && o.errorClass !== 'blocked' && o.errorClass !== 'config') return true;
  return lane === 'fast' && durationMs > slowMs;
}

/** Signs and sends one attempt, then gives back its origin slot and tells the health reporter. */
export async function sendAttempt(deps: SendDeps, input: SendInput): Promise<Sent> {
  const { reporter } = deps;
  const { subject, request, policy } = input;
  const inFlight = reporter.started(subject, Date.now());
  let sent: Outcome | undefined;
  let durationMs = 0;
  try {
    const headers = policy.signer?.headers(input.postbackId, request.body ?? '', Math.floor(Date.now() / 1000));
    const result = await attempt(deps.dispatcher, request, headers, input.timeoutMs, policy.rule);
    durationMs = result.durationMs;
    sent = result.outcome;
    return { outcome: sent, startedMs: result.startedMs, durationMs };
  } finally {
    input.release(durationMs, sent === undefined || congested(sent, durationMs, input.lane, deps.slowMs));
    // A target our own guard refused says nothing about the publisher's health.
    if (sent === undefined || sent.errorClass === 'blocked') reporter.abandoned(subject, inFlight);
    else reporter.finished(subject, inFlight, sent.ok, durationMs, sent.errorClass);
  }
}
