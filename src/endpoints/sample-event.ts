import type { CompiledEndpoint } from './compile-endpoint.js';
import { GENERIC_SAMPLE_EVENT } from './presets/index.js';

/**
 * The event an endpoint is tried with (test, preview): `given` when it is an object with
 * fields, else the preset's sample event, else a generic conversion.
 */
export function sampleEventFor(endpoint: CompiledEndpoint, given?: unknown): Readonly<Record<string, unknown>> {
  if (given !== null && typeof given === 'object' && !Array.isArray(given) && Object.keys(given).length > 0) return given as Record<string, unknown>;
  return endpoint.preset?.sampleEvent ?? GENERIC_SAMPLE_EVENT;
}
