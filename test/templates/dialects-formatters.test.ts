import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/templates/compile.js';
import { encodeUriStrict } from '../../src/templates/encode.js';
import { TemplateSyntaxError } from '../../src/templates/errors.js';
import type { MacroRef } from '../../src/templates/parse.js';
import { MACRO_SYNTAXES, parseMacroSyntax, type MacroSyntax } from '../../src/templates/syntax.js';

const src = (v: Record<string, unknown>) => ({ resolve: (ref: MacroRef) => v[ref.name] });
const HOSTILE = 'a&b=c#d?e/f+g%h i"\'\r\n{x}}[y]]#z#[%w%]é';

const wrap: Record<MacroSyntax, (m: string) => string> = {
  '{}': (m) => `{${m}}`,
  '{{}}': (m) => `{{${m}}}`,
  '##': (m) => `#${m}#`,
  '[]': (m) => `[${m}]`,
  '[[]]': (m) => `[[${m}]]`,
  '[%%]': (m) => `[%${m}%]`,
};

describe('macro dialects', () => {
  it.each(MACRO_SYNTAXES.map((s) => [s]))('%s: a hostile value arrives unchanged and leaves structure alone', (syntax) => {
    const t = compileTemplate(`https://h.example/pb?v=${wrap[syntax]('v')}&n=${wrap[syntax]('n|fixed:1')}`, syntax);
    const url = new URL(t.render(src({ v: HOSTILE, n: 2 }), encodeUriStrict));
    expect([...url.searchParams.keys()]).toEqual(['v', 'n']);
    expect(url.searchParams.get('v')).toBe(HOSTILE);
    expect(url.searchParams.get('n')).toBe('2.0');
  });

  it.each([
    ['{{}}', '{{a}', 'never closed'],
    ['[]', 'x[a', 'never closed'],
    ['[[]]', 'x]]', 'without'],
    ['[%%]', '[%a%][%b', 'never closed'],
    ['##', '#a', 'never closed'],
    ['{}', '{a|nope}', 'unknown formatter'],
  ] as const)('%s rejects %j', (syntax, source, message) => {
    expect(() => compileTemplate(source, syntax)).toThrow(TemplateSyntaxError);
    expect(() => compileTemplate(source, syntax)).toThrow(message);
  });

  it('accepts the SPEC spellings {m}, {{m}}, #m#, [m], [[m]], [%m%]', () => {
    expect(['{m}', '{{m}}', '#m#', '[m]', '[[m]]', '[%m%]'].map(parseMacroSyntax)).toEqual([...MACRO_SYNTAXES]);
    expect(parseMacroSyntax('<m>')).toBeUndefined();
  });
});

describe('formatters', () => {
  const at = Date.parse('2026-11-21T10:05:09.007Z');
  it.each([
    ['{p|fixed:2}', { p: 0.5 }, '0.50'],
    ['{p|fixed:0}', { p: '2.6' }, '3'],
    ['{p|fixed:2}', { p: 'n/a' }, 'n/a'],
    ['{s|upper}', { s: 'us' }, 'US'],
    ['{s|lower}', { s: 'US' }, 'us'],
    ['{d|date:unix}', { d: '2026-11-21T10:05:09.007Z' }, String(Math.floor(at / 1000))],
    ['{d|date:unix_ms}', { d: at }, String(at)],
    ['{d|date:iso}', { d: Math.floor(at / 1000) }, '2026-11-21T10:05:09.000Z'],
    ['{d|date:%Y-%m-%d %H:%M:%S.%L}', { d: at }, '2026-11-21 10:05:09.007'],
    ['{d|date:%y%m%d%%}', { d: at }, '261121%'],
    ['{x|default:none}', {}, 'none'],
    ['{x|default:none}', { x: '' }, 'none'],
    ['{x|default:none}', { x: 'set' }, 'set'],
    ['{p|fixed:2|default:0}', {}, '0'],
    ['{p|fixed:2|default:0}', { p: 1 }, '1.00'],
    ['{s|md5}', { s: 'abc' }, createHash('md5').update('abc').digest('hex')],
    ['{s|sha1}', { s: 'abc' }, createHash('sha1').update('abc').digest('hex')],
    ['{s|sha256}', { s: 'abc' }, createHash('sha256').update('abc').digest('hex')],
    ['{s|upper|sha1}', { s: 'abc' }, createHash('sha1').update('ABC').digest('hex')],
  ])('%s with %j -> %j', (source, values, expected) => {
    expect(compileTemplate(source).render(src(values))).toBe(expected);
  });

  it.each([
    ['{p|fixed:x}', 'fixed'],
    ['{p|fixed:99}', 'fixed'],
    ['{p|upper:1}', 'no argument'],
    ['{d|date:%Q}', 'unknown token'],
    ['{p|base64}', 'unknown formatter'],
  ])('rejects %j when compiling, not when rendering', (source, message) => {
    expect(() => compileTemplate(source)).toThrow(message);
  });
});
