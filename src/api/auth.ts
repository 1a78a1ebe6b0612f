import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer key check in constant time: keys are hashed once at start, the presented key is
 * hashed per request, and digests (equal length) are compared with timingSafeEqual.
 */
export class ApiKeyCheck {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  allows(authorization: string | undefined): boolean {
    if (!this.enabled) return true;
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return false;
    const presented = digest(authorization.slice(7).trim());
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(d, presented) || ok;
    return ok;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
