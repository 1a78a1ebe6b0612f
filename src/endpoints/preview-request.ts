import { ValidationError } from '../errors/base-error.js';
import { checkEvent } from '../events/validate-event.js';
import type { CompiledEndpoint, SkipReason } from './compile-endpoint.js';
import { newPostbackId } from './postback-id.js';
import type { RenderedRequest } from './rendered-request.js';
import { renderForDisplay } from './render-for-display.js';
import { sampleEventFor } from './sample-event.js';

export interface RequestPreview {
  /** The request as it would be sent for `event`, secrets masked. */
  readonly request: RenderedRequest;
  /** The event it was rendered from (the preset's sample unless one was given), secrets masked. */
  readonly event: Record<string, unknown>;
  /** Why this endpoint would not fire for that event, or null when it would. */
  readonly skipped: SkipReason | null;
}

/**
 * Renders the request an endpoint would send for an event (`given`, or its preset's sample),
 * with the same compiled templates as a delivery, and masks its secrets. Sends nothing.
 * A bad event is a ValidationError naming `event.<field>`.
 */
export function previewRequest(endpoint: CompiledEndpoint, given?: unknown): RequestPreview {
  const sample = sampleEventFor(endpoint, given);
  const checked = checkEvent({ ...sample, endpoint_id: endpoint.id }, 'event');
  if (checked.details !== undefined) {
    throw new ValidationError(`invalid event: ${checked.details.map((d) => `${d.path} ${d.message}`).join('; ')}`, checked.details);
  }
  const request = renderForDisplay(endpoint, checked.event, newPostbackId());
  return {
    request: endpoint.maskRequest(request),
    event: JSON.parse(endpoint.masker.mask(JSON.stringify(sample))) as Record<string, unknown>,
    skipped: endpoint.skipReason(checked.event) ?? null,
  };
}
