import { TemplateSyntaxError } from './errors.js';
import { RAW, compileFormatter, type Formatter } from './formatters.js';
import { delimitersOf, type MacroSyntax } from './syntax.js';

/** A macro as compiled: where to find its value, what to do to it, whether to encode it. */
export interface MacroRef {
  /** The name as written, e.g. `payload.user_id`. */
  readonly name: string;
  /** The name split on dots, once, so rendering never splits. */
  readonly path: readonly string[];
  readonly formatters: readonly Formatter[];
  /** `|raw`: inserted without URL encoding. */
  readonly raw: boolean;
  readonly position: number;
}

export type Segment = string | MacroRef;

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;
const FORMATTER_NAME = /^[a-z][a-z0-9_]*$/;

/** Splits a template into literal text and compiled macros. Throws TemplateSyntaxError. */
export function parseTemplate(source: string, syntax: MacroSyntax): Segment[] {
  const { open, close } = delimitersOf(syntax);
  const segments: Segment[] = [];
  let i = 0;
  while (i < source.length) {
    const at = source.indexOf(open, i);
    const literalEnd = at === -1 ? source.length : at;
    if (literalEnd > i) {
      const literal = source.slice(i, literalEnd);
      if (open !== close) {
        const stray = literal.indexOf(close);
        if (stray !== -1) throw new TemplateSyntaxError(`unbalanced "${close}" without "${open}"`, i + stray);
      }
      segments.push(literal);
    }
    if (at === -1) break;
    const innerStart = at + open.length;
    const end = source.indexOf(close, innerStart);
    if (end === -1) throw new TemplateSyntaxError(`unbalanced "${open}" is never closed`, at);
    const inner = source.slice(innerStart, end);
    if (open !== close && inner.includes(open)) {
      throw new TemplateSyntaxError(`nested "${open}" inside a macro`, innerStart + inner.indexOf(open));
    }
    segments.push(parseMacro(inner, at));
    i = end + close.length;
  }
  return segments;
}

function parseMacro(inner: string, position: number): MacroRef {
  const [rawName = '', ...pipes] = inner.split('|');
  const name = rawName.trim();
  if (!NAME.test(name)) {
    throw new TemplateSyntaxError(`invalid macro name ${JSON.stringify(name)}`, position);
  }
  const formatters: Formatter[] = [];
  let raw = false;
  for (const pipe of pipes) {
    const colon = pipe.indexOf(':');
    const fname = (colon === -1 ? pipe : pipe.slice(0, colon)).trim();
    const arg = colon === -1 ? undefined : pipe.slice(colon + 1);
    if (!FORMATTER_NAME.test(fname)) {
      throw new TemplateSyntaxError(`invalid formatter ${JSON.stringify(fname)}`, position);
    }
    if (fname === RAW) {
      raw = true;
      continue;
    }
    formatters.push(compileFormatter({ name: fname, arg, position }));
  }
  return { name, path: name.split('.'), formatters, raw, position };
}
