import { ValidationError, type ErrorDetail } from '../errors/base-error.js';
import type { EndpointDefinition } from './schema.js';
import { MASK, SECRET_HEADER } from './secrets.js';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Secrets are write-only: the API shows each as "***" (MASK). A definition written with MASK
 * where a secret goes keeps the stored endpoint's secret there: `security_token`,
 * `signing.secret` (same scheme), a secret-named header's value. So an edit (or a definition
 * read back from GET) keeps secrets it never saw. MASK is never a secret of its own: secrets
 * are at least 4 characters. Returns a copy; a MASK with nothing stored to keep is a
 * ValidationError naming the field.
 */
export function keepStoredSecrets(input: Readonly<Record<string, unknown>>, stored: EndpointDefinition | undefined, prefix = 'endpoint'): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  const details: ErrorDetail[] = [];
  const nothingStored = (path: string, what: string): void => {
    details.push({ path: `${prefix}.${path}`, message: `"${MASK}" keeps the stored ${what}, but there is none to keep: give the secret itself` });
  };

  if (input.security_token === MASK) {
    if (stored?.security_token) out.security_token = stored.security_token;
    else nothingStored('security_token', 'security token');
  }

  const signing = input.signing;
  if (isRecord(signing) && signing.secret === MASK) {
    const storedSigning = stored?.signing;
    const kept = storedSigning && storedSigning.scheme === signing.scheme ? storedSigning.secret : '';
    if (kept !== '') out.signing = { ...signing, secret: kept };
    else nothingStored('signing.secret', `${String(signing.scheme)} signing secret`);
  }

  const headers = input.headers;
  if (isRecord(headers)) {
    const storedHeaders = new Map(Object.entries(stored?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const copy: Record<string, unknown> = { ...headers };
    for (const [name, value] of Object.entries(headers)) {
      if (value !== MASK || !SECRET_HEADER.test(name)) continue;
      const kept = storedHeaders.get(name.toLowerCase());
      if (kept !== undefined) copy[name] = kept;
      else nothingStored(`headers.${name}`, `value of header ${name}`);
    }
    out.headers = copy;
  }

  if (details.length > 0) throw new ValidationError(`invalid endpoint: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  return out;
}
