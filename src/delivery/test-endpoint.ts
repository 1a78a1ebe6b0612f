import type { Dispatcher } from 'undici';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { validateEvent } from '../events/validate-event.js';
import { newPostbackId } from '../endpoints/postback-id.js';
import { renderForDisplay } from '../endpoints/render-for-display.js';
import { sampleEventFor } from '../endpoints/sample-event.js';
import { attempt } from './attempt.js';

export interface EndpointTestResult {
  readonly ok: boolean;
  readonly request: RenderedRequest;
  readonly response: { readonly status_code: number; readonly duration_ms: number; readonly body_excerpt: string };
  readonly error: string | null;
}

/**
 * One synchronous attempt at an endpoint with its preset's sample event (or `event`):
 * no retries, no queue, no history. The request and excerpt come back secrets masked.
 */
export async function testEndpoint(endpoint: CompiledEndpoint, dispatcher: Dispatcher, event?: unknown): Promise<EndpointTestResult> {
  const validated = validateEvent({ ...sampleEventFor(endpoint, event), endpoint_id: endpoint.id });
  const postbackId = newPostbackId();
  const request = renderForDisplay(endpoint, validated, postbackId);
  const headers = endpoint.attemptHeaders(request, postbackId, Date.now());
  const { outcome, durationMs } = await attempt(dispatcher, request, headers, endpoint.timeoutMs, endpoint.success);
  return {
    ok: outcome.ok,
    request: endpoint.maskRequest(request),
    response: { status_code: outcome.statusCode, duration_ms: durationMs, body_excerpt: endpoint.masker.mask(outcome.excerpt) },
    error: outcome.errorClass,
  };
}
