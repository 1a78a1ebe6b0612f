/** The macro dialects an endpoint may choose with `macro_syntax`. */
export const MACRO_SYNTAXES = ['{}', '{{}}', '##', '[]', '[[]]', '[%%]'] as const;
export type MacroSyntax = (typeof MACRO_SYNTAXES)[number];

export interface Delimiters {
  readonly open: string;
  readonly close: string;
}

const DELIMITERS: Readonly<Record<MacroSyntax, Delimiters>> = {
  '{}': { open: '{', close: '}' },
  '{{}}': { open: '{{', close: '}}' },
  '##': { open: '#', close: '#' },
  '[]': { open: '[', close: ']' },
  '[[]]': { open: '[[', close: ']]' },
  '[%%]': { open: '[%', close: '%]' },
};

/** Accepts the SPEC's spellings: "{}" or an example such as "{m}", "{{m}}", "#m#". */
export function parseMacroSyntax(input: string): MacroSyntax | undefined {
  const compact = input.replace(/[A-Za-z_]+/g, '');
  return (MACRO_SYNTAXES as readonly string[]).includes(compact) ? (compact as MacroSyntax) : undefined;
}

export function delimitersOf(syntax: MacroSyntax): Delimiters {
  return DELIMITERS[syntax];
}
