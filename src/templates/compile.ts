import { parseTemplate, type MacroRef, type Segment } from './parse.js';
import type { MacroSyntax } from './syntax.js';
import { valueToText } from './value-text.js';

/** Where rendering finds a macro's value. Implemented by the endpoint layer per postback. */
export interface MacroSource {
  resolve(ref: MacroRef): unknown;
}

/** Applied to each non-raw macro's text: URL encoding in URLs, CR/LF removal in headers. */
export type Encoder = (text: string) => string;

/**
 * A template compiled once (per endpoint), rendered many times. Rendering walks
 * prepared segments: no parsing, no regular expressions, no I/O.
 */
export class CompiledTemplate {
  readonly source: string;
  readonly segments: readonly Segment[];
  readonly macros: readonly MacroRef[];
  /** The whole template is one macro, e.g. "{payout}": JSON bodies keep the value's type. */
  readonly singleMacro: MacroRef | undefined;
  readonly isStatic: boolean;
  /** True when any macro skips encoding; the result must be re-validated as a URL. */
  readonly hasRaw: boolean;

  /**
   * `encodeLiterals` encodes the literal text once, at compile time: for templates whose
   * whole output is a value (a query parameter), not a URL with structure of its own.
   */
  constructor(source: string, syntax: MacroSyntax, encodeLiterals?: Encoder) {
    const parsed = parseTemplate(source, syntax);
    this.segments = encodeLiterals === undefined ? parsed : parsed.map((s) => (typeof s === 'string' ? encodeLiterals(s) : s));
    this.source = encodeLiterals === undefined ? source : this.segments.filter((s) => typeof s === 'string').join('');
    this.macros = this.segments.filter((s): s is MacroRef => typeof s !== 'string');
    const [only] = this.segments;
    this.singleMacro = this.segments.length === 1 && typeof only !== 'string' ? only : undefined;
    this.isStatic = this.macros.length === 0;
    this.hasRaw = this.macros.some((m) => m.raw);
  }

  render(values: MacroSource, encode?: Encoder): string {
    if (this.isStatic) return this.source;
    let out = '';
    for (const seg of this.segments) {
      if (typeof seg === 'string') {
        out += seg;
        continue;
      }
      const text = valueToText(applyFormatters(seg, values.resolve(seg)));
      out += seg.raw || encode === undefined ? text : encode(text);
    }
    return out;
  }

  /** The formatted value of a single-macro template, keeping its type. */
  value(values: MacroSource): unknown {
    const ref = this.singleMacro;
    if (ref === undefined) return this.render(values);
    return applyFormatters(ref, values.resolve(ref));
  }
}

function applyFormatters(ref: MacroRef, value: unknown): unknown {
  let v = value;
  for (const f of ref.formatters) v = f(v);
  return v;
}

export function compileTemplate(source: string, syntax: MacroSyntax = '{}'): CompiledTemplate {
  return new CompiledTemplate(source, syntax);
}
