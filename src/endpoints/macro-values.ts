import { randomBytes } from 'node:crypto';
import type { FieldValue, PostbackEvent } from '../events/event.js';
import type { MacroSource } from '../templates/compile.js';
import type { MacroRef } from '../templates/parse.js';

/**
 * The values one postback's templates see: built-ins (postback_id, event_id, timestamp,
 * unix, unix_ms, security_token, rand; they win over event fields), then the preset's derived values,
 * then the event's top-level fields, then (for `publisher_id` only) the endpoint's
 * publisher, then payload (`payload.a.b`, or a bare payload key).
 */
export class PostbackValues implements MacroSource {
  private readonly event: PostbackEvent;
  private readonly postbackId: string;
  private readonly securityToken: string | undefined;
  private readonly derived: Readonly<Record<string, FieldValue>> | undefined;
  private readonly endpointPublisherId: string | undefined;
  private rand: string | undefined;

  constructor(
    event: PostbackEvent,
    postbackId: string,
    securityToken: string | undefined,
    derived: Readonly<Record<string, FieldValue>> | undefined,
    /** The endpoint's `publisher_id`: SPEC's `{publisher_id}` is the event's, else this. */
    endpointPublisherId: string | undefined,
  ) {
    this.event = event;
    this.postbackId = postbackId;
    this.securityToken = securityToken;
    this.derived = derived;
    this.endpointPublisherId = endpointPublisherId;
  }

  resolve(ref: MacroRef): unknown {
    const name = ref.name;
    switch (name) {
      case 'postback_id':
        return this.postbackId;
      case 'event_id':
        return this.event.id;
      case 'timestamp':
        return this.event.occurredAt;
      case 'unix':
        return Math.floor(this.event.occurredMs / 1000);
      case 'unix_ms':
        return this.event.occurredMs;
      case 'security_token':
        return this.securityToken;
      case 'rand':
        // One random id per postback, the same wherever it appears in the request.
        this.rand ??= randomBytes(8).toString('hex');
        return this.rand;
      case 'payload':
        return this.event.payload;
    }
    const derived = this.derived?.[name];
    if (derived !== undefined) return derived;
    const field = this.event.fields[name];
    if (field !== undefined) return field;
    // An event routed by endpoint_id (or one with no publisher of its own) still has the endpoint's.
    if (name === 'publisher_id' && this.endpointPublisherId !== undefined) return this.endpointPublisherId;
    const path = ref.path;
    return path[0] === 'payload' && path.length > 1 ? walk(this.event.payload, path, 1) : walk(this.event.payload, path, 0);
  }
}

function walk(root: unknown, path: readonly string[], from: number): unknown {
  let v = root;
  for (let i = from; i < path.length; i++) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.hasOwn(v, path[i] as string) ? (v as Record<string, unknown>)[path[i] as string] : undefined;
  }
  return v;
}
