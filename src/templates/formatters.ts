import { createHash } from 'node:crypto';
import { TemplateSyntaxError } from './errors.js';
import { valueToText } from './value-text.js';

/** A compiled formatter: value in, value out. Pure; no parsing at render time. */
export type Formatter = (value: unknown) => unknown;

export interface FormatterSpec {
  readonly name: string;
  readonly arg: string | undefined;
  readonly position: number;
}

/** `raw` is not a value formatter: it switches off encoding, so the compiler handles it. */
export const RAW = 'raw';

export const FORMATTER_NAMES = ['fixed', 'upper', 'lower', 'date', 'default', 'md5', 'sha1', 'sha256', RAW] as const;

const isMissing = (v: unknown): boolean => v === undefined || v === null || v === '';

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const hash =
  (algorithm: string): Formatter =>
  (v) =>
    isMissing(v) ? v : createHash(algorithm).update(valueToText(v)).digest('hex');

export function compileFormatter(spec: FormatterSpec): Formatter {
  const { name, arg, position } = spec;
  const noArg = (f: Formatter): Formatter => {
    if (arg !== undefined) throw new TemplateSyntaxError(`formatter "${name}" takes no argument`, position);
    return f;
  };
  switch (name) {
    case 'fixed': {
      const digits = Number(arg ?? '2');
      if (!Number.isInteger(digits) || digits < 0 || digits > 20) {
        throw new TemplateSyntaxError(`formatter "fixed" needs 0-20 digits, got ${JSON.stringify(arg)}`, position);
      }
      return (v) => {
        const n = toNumber(v);
        return n === undefined ? v : n.toFixed(digits);
      };
    }
    case 'upper':
      return noArg((v) => (isMissing(v) ? v : valueToText(v).toUpperCase()));
    case 'lower':
      return noArg((v) => (isMissing(v) ? v : valueToText(v).toLowerCase()));
    case 'default': {
      const fallback = arg ?? '';
      return (v) => (isMissing(v) ? fallback : v);
    }
    case 'md5':
      return noArg(hash('md5'));
    case 'sha1':
      return noArg(hash('sha1'));
    case 'sha256':
      return noArg(hash('sha256'));
    case 'date':
      return compileDate(arg ?? 'iso', position);
    default:
      throw new TemplateSyntaxError(
        `unknown formatter "${name}" (known: ${FORMATTER_NAMES.join(', ')})`,
        position,
      );
  }
}

/** Numbers below 1e11 are epoch seconds, above are epoch milliseconds; strings are parsed as dates. */
function toDate(v: unknown): Date | undefined {
  const n = toNumber(v);
  if (n !== undefined && !(typeof v === 'string' && /[-:T]/.test(v))) {
    return new Date(Math.abs(n) < 1e11 ? n * 1000 : n);
  }
  if (typeof v === 'string' && v !== '') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  }
  return undefined;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

type DatePart = string | ((d: Date) => string);

const DATE_TOKENS: Readonly<Record<string, (d: Date) => string>> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => pad(d.getUTCFullYear() % 100),
  m: (d) => pad(d.getUTCMonth() + 1),
  d: (d) => pad(d.getUTCDate()),
  H: (d) => pad(d.getUTCHours()),
  M: (d) => pad(d.getUTCMinutes()),
  S: (d) => pad(d.getUTCSeconds()),
  L: (d) => pad(d.getUTCMilliseconds(), 3),
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  '%': () => '%',
};

/**
 * `date:iso` (ISO 8601), `date:unix` (seconds), `date:unix_ms`, or a strftime-like pattern
 * in UTC with %Y %y %m %d %H %M %S %L (milliseconds) %s (epoch seconds) %%.
 */
function compileDate(format: string, position: number): Formatter {
  let print: (d: Date) => string;
  if (format === 'iso') print = (d) => d.toISOString();
  else if (format === 'unix') print = (d) => String(Math.floor(d.getTime() / 1000));
  else if (format === 'unix_ms') print = (d) => String(d.getTime());
  else {
    const parts: DatePart[] = [];
    let literal = '';
    for (let i = 0; i < format.length; i++) {
      const c = format[i] as string;
      if (c !== '%') {
        literal += c;
        continue;
      }
      const token = format[i + 1];
      const fn = token === undefined ? undefined : DATE_TOKENS[token];
      if (fn === undefined) {
        throw new TemplateSyntaxError(`date format ${JSON.stringify(format)} has an unknown token at offset ${i}`, position);
      }
      if (literal) parts.push(literal);
      literal = '';
      parts.push(fn);
      i++;
    }
    if (literal) parts.push(literal);
    print = (d) => {
      let out = '';
      for (const p of parts) out += typeof p === 'string' ? p : p(d);
      return out;
    };
  }
  return (v) => {
    const d = toDate(v);
    return d === undefined || Number.isNaN(d.getTime()) ? v : print(d);
  };
}
