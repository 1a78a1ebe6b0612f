import type { FieldValue, PostbackEvent } from '../../events/event.js';
import type { EndpointDefinition } from '../schema.js';

/**
 * A seed network's format as data: defaults an endpoint's own fields override, the
 * macros it documents, and one small function deriving the macro values the network
 * computes from an event (never a branch elsewhere in the pipeline).
 */
export interface Preset {
  readonly name: string;
  readonly network: string;
  readonly description: string;
  /** Defaults; `params` apply only when the endpoint's URL names no macro and it gives no params. */
  readonly defaults: Partial<Omit<EndpointDefinition, 'id'>>;
  /** The macros the network's documentation lists, in its order. */
  readonly macros: readonly string[];
  /** Extra macro values computed from the event (they win over the event's own fields). */
  readonly derive?: (event: PostbackEvent) => Readonly<Record<string, FieldValue>>;
  /** A realistic event for `POST /v1/endpoints/:id/test` and `postback simulate`. */
  readonly sampleEvent: Readonly<Record<string, unknown>>;
}
