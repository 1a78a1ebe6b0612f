import { encodeUriStrict } from '../templates/encode.js';

/** Header names whose values are secrets (SPEC: named like token/key/secret/authorization). */
export const SECRET_HEADER = /token|key|secret|authorization|password|cookie/i;
export const MASK = '***';

/**
 * Masks a fixed set of secret strings (and their URL-encoded forms) wherever they appear.
 * Built once per endpoint; `mask` is a no-op when the endpoint has no secrets.
 */
export class SecretMasker {
  private readonly needles: readonly string[];

  constructor(secrets: readonly (string | null | undefined)[]) {
    const set = new Set<string>();
    for (const s of secrets) {
      // Very short values would mask unrelated text; secrets that short are not secrets.
      if (typeof s !== 'string' || s.length < 4) continue;
      set.add(s);
      set.add(encodeUriStrict(s));
      set.add(JSON.stringify(s).slice(1, -1));
    }
    // Longest first so an encoded form is not half-masked by a shorter one.
    this.needles = [...set].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  mask(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(MASK);
    return out;
  }

  maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) out[k] = SECRET_HEADER.test(k) ? MASK : this.mask(v);
    return out;
  }
}
