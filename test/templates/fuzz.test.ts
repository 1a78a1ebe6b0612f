import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/templates/compile.js';
import { encodeUriStrict } from '../../src/templates/encode.js';
import { TemplateSyntaxError } from '../../src/templates/errors.js';
import { MACRO_SYNTAXES } from '../../src/templates/syntax.js';
import { checkEvent } from '../../src/events/validate-event.js';
import { compileEndpoint } from '../../src/endpoints/compile-endpoint.js';
import { ValidationError } from '../../src/errors/base-error.js';

const defaults = { requestTimeoutMs: 10000, retryScheduleS: [0, 60] };

/** Fuzzing: hostile templates and events either compile/validate or fail with our own error, never crash. */
describe('fuzz', () => {
  const templateChars = fc.constantFrom('{', '}', '[', ']', '#', '%', '|', ':', 'a', 'b', '.', ' ', 'fixed', 'date', 'raw', 'x', '\n');
  it('the template compiler accepts or rejects every input with a TemplateSyntaxError, and renders what it accepts', () => {
    fc.assert(
      fc.property(fc.array(templateChars, { maxLength: 40 }).map((a) => a.join('')), fc.constantFrom(...MACRO_SYNTAXES), fc.string(), (source, syntax, value) => {
        let t;
        try {
          t = compileTemplate(source, syntax);
        } catch (err) {
          expect(err).toBeInstanceOf(TemplateSyntaxError);
          return;
        }
        const out = t.render({ resolve: () => value }, encodeUriStrict);
        expect(typeof out).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('event validation never throws and never pollutes a prototype, whatever JSON arrives', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.jsonValue({ maxDepth: 4 }), (anything, payload) => {
        const raw = anything !== null && typeof anything === 'object' && !Array.isArray(anything)
          ? { ...anything, type: 'conversion', endpoint_id: 'ep', payload }
          : anything;
        const r = checkEvent(raw);
        expect(r.event !== undefined || (r.details?.length ?? 0) > 0).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
    const evil = JSON.parse('{"type":"conversion","endpoint_id":"ep","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}');
    expect(checkEvent(evil).event).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects deep nesting, non-finite numbers and lone surrogates with named fields', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(checkEvent({ type: 'conversion', endpoint_id: 'ep', payload: deep }).details?.[0]?.message).toContain('nest at most');
    expect(checkEvent({ type: 'conversion', endpoint_id: 'ep', payout: Number.POSITIVE_INFINITY }).details?.[0]?.path).toBe('payout');
    expect(checkEvent({ type: 'conversion', endpoint_id: 'ep', n: Number.NaN }).details?.[0]?.path).toBe('n');
    expect(checkEvent({ type: 'conversion', endpoint_id: 'ep', payload: { s: 'a\udc00' } }).details?.[0]?.path).toBe('payload.s');
  });

  it('rendering an endpoint with arbitrary event values always yields a URL with the template\'s parameter names', () => {
    const ep = compileEndpoint({ id: 'f', url: 'https://h.example/p/{a}?x={a}&y={b|upper}', params: { z: '{a|default:none}' } }, defaults);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 50 }), (a, b) => {
        const r = checkEvent({ type: 'conversion', endpoint_id: 'f', a: a.toWellFormed(), b });
        if (!r.event) return;
        const url = new URL(ep.render(r.event, 'pb').url);
        expect([...url.searchParams.keys()]).toEqual(['x', 'y', 'z']);
        expect(url.searchParams.get('x')).toBe(a.toWellFormed());
      }),
      { numRuns: 1000 },
    );
  });

  it('endpoint definitions with hostile templates fail with a ValidationError naming the endpoint', () => {
    for (const url of ['https://h.example/{a', 'https://h.example/{a{b}}', 'https://h.example/}', 'https://h.example/{a|nope}', 'javascript:alert(1)', 'ftp://h.example/']) {
      expect(() => compileEndpoint({ id: 'bad', url }, defaults)).toThrow(ValidationError);
      expect(() => compileEndpoint({ id: 'bad', url }, defaults)).toThrow(/endpoint "bad"|endpoint\.url/);
    }
  });
});
