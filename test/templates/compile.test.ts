import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/templates/compile.js';
import { encodeUriStrict } from '../../src/templates/encode.js';
import { TemplateSyntaxError } from '../../src/templates/errors.js';
import type { MacroRef } from '../../src/templates/parse.js';

const values = (v: Record<string, unknown>) => ({ resolve: (ref: MacroRef) => v[ref.name] });

describe('compileTemplate / render', () => {
  it.each([
    ['plain {a}', { a: 'x' }, 'plain x'],
    ['{a}{b}', { a: 1, b: true }, '1true'],
    ['missing [{nope}]', {}, 'missing []'],
    ['no macros at all', {}, 'no macros at all'],
    ['{payout}', { payout: 0.5 }, '0.5'],
  ])('renders %j', (source, v, expected) => {
    expect(compileTemplate(source).render(values(v))).toBe(expected);
  });

  it('encodes every value by RFC 3986 so it cannot change URL structure, unless |raw', () => {
    const t = compileTemplate('https://h.example/p/{a}?x={a}&y={a|raw}#{a}');
    const url = t.render(values({ a: "a&b=c#d?e/f+g%h i'\"\r\né" }), encodeUriStrict);
    expect(url).toBe(
      "https://h.example/p/a%26b%3Dc%23d%3Fe%2Ff%2Bg%25h%20i%27%22%0D%0A%C3%A9?x=a%26b%3Dc%23d%3Fe%2Ff%2Bg%25h%20i%27%22%0D%0A%C3%A9&y=a&b=c#d?e/f+g%h i'\"\r\né#a%26b%3Dc%23d%3Fe%2Ff%2Bg%25h%20i%27%22%0D%0A%C3%A9",
    );
  });

  it.each([
    ['{a', 0, 'never closed'],
    ['a}', 1, 'without'],
    ['{a{b}}', 2, 'nested'],
    ['{}', 0, 'invalid macro name'],
    ['x {a|bogus}', 2, 'unknown formatter'],
    ['{a b}', 0, 'invalid macro name'],
  ])('rejects %j with its position', (source, position, message) => {
    try {
      compileTemplate(source);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateSyntaxError);
      expect((err as TemplateSyntaxError).position).toBe(position);
      expect((err as Error).message).toContain(message);
    }
  });

  it('keeps the type of a single-macro template', () => {
    expect(compileTemplate('{n}').value(values({ n: 2.5 }))).toBe(2.5);
    expect(compileTemplate('{o}').value(values({ o: { a: 1 } }))).toEqual({ a: 1 });
    expect(compileTemplate('n={n}').value(values({ n: 2.5 }))).toBe('n=2.5');
  });

  it('round-trips arbitrary strings through a query value and a path segment (property)', () => {
    const t = compileTemplate('https://h.example/p/{v}/end?{name}={v}&fixed=1');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), (v, name) => {
        const wellFormed = v.toWellFormed();
        const url = new URL(t.render(values({ v, name: name || 'n' }), encodeUriStrict));
        expect([...url.searchParams.keys()]).toEqual([name || 'n', 'fixed']);
        expect(url.searchParams.get(name || 'n')).toBe(wellFormed);
        expect(url.searchParams.get('fixed')).toBe('1');
        expect(url.pathname.split('/').length).toBe(4);
        expect(decodeURIComponent(url.pathname.split('/')[2]!)).toBe(wellFormed);
      }),
      { numRuns: 500 },
    );
  });
});
