import type { Dispatcher } from 'undici';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { SuccessRule } from '../endpoints/success-rule.js';
import { classifyError, classifyResponse, type Outcome } from './classify.js';
import { send } from './send.js';

export interface AttemptResult {
  readonly outcome: Outcome;
  readonly startedMs: number;
  readonly durationMs: number;
}

/** One attempt: send, then classify the response or the error. Never throws. */
export async function attempt(
  dispatcher: Dispatcher,
  request: RenderedRequest,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  timeoutMs: number,
  rule: SuccessRule,
): Promise<AttemptResult> {
  const startedMs = Date.now();
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    const res = await send(dispatcher, request, extraHeaders, timeoutMs);
    outcome = classifyResponse(res, rule, Date.now());
  } catch (err) {
    outcome = classifyError(err);
  }
  return { outcome, startedMs, durationMs: Math.round(performance.now() - t0) };
}
