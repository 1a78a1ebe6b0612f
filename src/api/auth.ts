import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyOwner } from '../keys/publisher-keys.js';
import type { Principal } from '../keys/principal.js';

/**
 * Bearer key check in constant time: operator keys (API_KEYS) are hashed once at start,
 * the presented key is hashed per request, and digests (equal length) are compared with
 * timingSafeEqual. A key that is no operator key may be a publisher key (looked up by its
 * digest in Redis).
 */
export class ApiKeyCheck {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** Whether operator keys are configured (without them the server is keyless, on loopback). */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  isOperatorKey(presented: string): boolean {
    const d = digest(presented);
    let ok = false;
    for (const k of this.digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  }
}

/** The key of an `Authorization: Bearer KEY` header, or undefined. */
export function bearerKey(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
  const key = authorization.slice(7).trim();
  return key === '' ? undefined : key;
}

/**
 * Who a request is: an operator key; a publisher key (`owner` finds it); anyone, as an
 * operator, on a keyless server without a key. Undefined: refused (401). The audit log
 * names an operator key by a fingerprint of its digest, never the key.
 */
export async function resolvePrincipal(
  authorization: string | undefined,
  keys: ApiKeyCheck,
  owner: (key: string) => Promise<KeyOwner | undefined>,
): Promise<Principal | undefined> {
  const key = bearerKey(authorization);
  if (key === undefined) return keys.enabled ? undefined : { kind: 'operator', actor: 'operator:open' };
  if (keys.isOperatorKey(key)) return { kind: 'operator', actor: `operator:${digest(key).toString('hex').slice(0, 8)}` };
  const found = await owner(key);
  if (found !== undefined) return { kind: 'publisher', publisherId: found.publisherId, keyId: found.keyId, actor: `publisher:${found.keyId}` };
  return keys.enabled ? undefined : { kind: 'operator', actor: 'operator:open' };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
