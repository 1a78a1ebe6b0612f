import { ValidationError } from '../errors/base-error.js';
import { encodeUriStrict } from '../templates/encode.js';
import type { RenderedRequest } from './rendered-request.js';

/** Header names whose values are secrets (SPEC: named like token/key/secret/authorization). */
export const SECRET_HEADER = /token|key|secret|authorization|password|cookie/i;
export const MASK = '***';

/** How a secret can appear in a rendered request: as is, URL-encoded, JSON-escaped. */
const FORMS: readonly ((s: string) => string)[] = [(s) => s, encodeUriStrict, (s) => JSON.stringify(s).slice(1, -1)];

/** A placeholder for secret `s` in form `f`; NUL never occurs in a rendered request. */
const token = (s: number, f: number): string => `\u0000${s}.${f}\u0000`;
// eslint-disable-next-line no-control-regex -- NUL delimits the placeholders: it never occurs in a rendered request
const TOKEN = /\u0000(\d+)\.(\d+)\u0000/g;
/** A secret header value that was not a known secret verbatim (e.g. templated): not restorable. */
const OPAQUE = '\u0000x\u0000';

interface Needle {
  readonly text: string;
  readonly secret: number;
  readonly form: number;
}

/**
 * Finds an endpoint's secrets (security token, signing secret, secret header values) in
 * rendered requests. `mask` hides them for display; `tokenize` swaps them for placeholders
 * so history can keep a replayable request without any secret, and `restore` puts the
 * endpoint's current secrets back at replay time. Built once per compiled endpoint.
 */
export class SecretMasker {
  private readonly secrets: readonly (string | undefined)[];
  private readonly needles: readonly Needle[];

  constructor(secrets: readonly (string | null | undefined)[]) {
    // Very short values would match unrelated text; secrets that short are not secrets.
    this.secrets = secrets.map((s) => (typeof s === 'string' && s.length >= 4 ? s : undefined));
    const needles: Needle[] = [];
    const seen = new Set<string>();
    this.secrets.forEach((s, secret) => {
      if (s === undefined) return;
      FORMS.forEach((form, f) => {
        const text = form(s);
        if (!seen.has(text)) needles.push({ text, secret, form: f });
        seen.add(text);
      });
    });
    // Longest first so an encoded form is not half-replaced by a shorter one.
    this.needles = needles.sort((a, b) => b.text.length - a.text.length);
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  mask(text: string): string {
    return this.replace(text, () => MASK);
  }

  tokenize(text: string): string {
    return this.replace(text, (n) => token(n.secret, n.form));
  }

  maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) out[k] = SECRET_HEADER.test(k) ? MASK : this.mask(v);
    return out;
  }

  tokenizeHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      const t = this.tokenize(v);
      out[k] = SECRET_HEADER.test(k) && t === v ? OPAQUE : t;
    }
    return out;
  }

  /** Puts this endpoint's secrets back into a tokenized text. Throws when one is missing. */
  restore(text: string): string {
    if (!text.includes('\u0000')) return text;
    if (text.includes(OPAQUE)) throw unrestorable();
    return text.replace(TOKEN, (_m, s: string, f: string) => {
      const secret = this.secrets[Number(s)];
      const form = FORMS[Number(f)];
      if (secret === undefined || form === undefined) throw unrestorable();
      return form(secret);
    });
  }

  /** The request with secrets masked; the same object when there is nothing to mask. */
  maskRequest(request: RenderedRequest): RenderedRequest {
    if (this.empty && !Object.keys(request.headers).some((k) => SECRET_HEADER.test(k))) return request;
    return mapRequest(request, (t) => this.mask(t), (h) => this.maskHeaders(h));
  }

  tokenizeRequest(request: RenderedRequest): RenderedRequest {
    return mapRequest(request, (t) => this.tokenize(t), (h) => this.tokenizeHeaders(h));
  }

  restoreRequest(request: RenderedRequest): RenderedRequest {
    const restore = (t: string): string => this.restore(t);
    return mapRequest(request, restore, (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, restore(v)])));
  }

  private replace(text: string, by: (n: Needle) => string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n.text)) out = out.split(n.text).join(by(n));
    return out;
  }
}

function mapRequest(
  request: RenderedRequest,
  text: (t: string) => string,
  headers: (h: Readonly<Record<string, string>>) => Record<string, string>,
): RenderedRequest {
  return {
    method: request.method,
    url: text(request.url),
    headers: headers(request.headers),
    body: request.body === null ? null : text(request.body),
  };
}

function unrestorable(): ValidationError {
  return new ValidationError('the recorded request needs secrets its endpoint no longer has (deleted or changed); it cannot be replayed', [
    { path: 'endpoint', message: 'secrets unavailable for replay' },
  ]);
}
