import { TemplateSyntaxError } from './errors.js';
import { CompiledTemplate, type MacroSource } from './compile.js';
import type { MacroSyntax } from './syntax.js';

/**
 * A JSON body template: every string value is a template; a string that is exactly one
 * macro keeps the value's JSON type (so "{payout}" stays a number and "{payload}" an object).
 * Keys are static. Compiled once into a tree of closures.
 */
export type JsonRenderer = (values: MacroSource) => unknown;

export function compileJsonTemplate(body: unknown, syntax: MacroSyntax, path = 'body'): JsonRenderer {
  if (typeof body === 'string') {
    let t: CompiledTemplate;
    try {
      t = new CompiledTemplate(body, syntax);
    } catch (err) {
      if (err instanceof TemplateSyntaxError) throw new TemplateSyntaxError(`${path}: ${err.message}`, err.position);
      throw err;
    }
    if (t.isStatic) return () => body;
    if (t.singleMacro !== undefined) return (values) => jsonSafe(t.value(values));
    return (values) => t.render(values);
  }
  if (Array.isArray(body)) {
    const items = body.map((item, i) => compileJsonTemplate(item, syntax, `${path}[${i}]`));
    return (values) => items.map((render) => render(values));
  }
  if (body !== null && typeof body === 'object') {
    const entries = Object.entries(body).map(
      ([key, value]) => [key, compileJsonTemplate(value, syntax, `${path}.${key}`)] as const,
    );
    return (values) => {
      const out: Record<string, unknown> = {};
      for (const [key, render] of entries) {
        // defineProperty: a key named __proto__ stays a plain key.
        Object.defineProperty(out, key, { value: render(values), enumerable: true, writable: true, configurable: true });
      }
      return out;
    };
  }
  return () => body;
}

/** Missing values render as null in JSON rather than disappearing the key. */
function jsonSafe(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}
