import type { PostbackEvent } from '../events/event.js';
import type { CompiledEndpoint } from './compile-endpoint.js';
import { EndpointConfigError } from './errors.js';
import type { RenderedRequest } from './rendered-request.js';

/**
 * `endpoint.render` for a caller that shows what fails (preview, test): an error raised while
 * rendering quotes the rendered URL (a `{m|raw}` URL that is not http), which may hold the
 * endpoint's secrets, so its message and details come back with them masked.
 */
export function renderForDisplay(endpoint: CompiledEndpoint, event: PostbackEvent, postbackId: string): RenderedRequest {
  try {
    return endpoint.render(event, postbackId);
  } catch (err) {
    if (!(err instanceof EndpointConfigError)) throw err;
    const mask = (text: string): string => endpoint.masker.mask(text);
    throw new EndpointConfigError(mask(err.message), err.details.map((d) => ({ path: d.path, message: mask(d.message) })));
  }
}
