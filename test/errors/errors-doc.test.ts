import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes', () => {
  it('documents every PBD_ERR_ code raised in src/ in docs/errors.md', () => {
    const codes = new Set<string>();
    for (const file of sources('src')) for (const m of readFileSync(file, 'utf8').matchAll(/code(?:: string)? = '(PBD_ERR_[A-Z_]+)'/g)) codes.add(m[1]!);
    expect(codes.size).toBeGreaterThanOrEqual(10);
    const doc = readFileSync('docs/errors.md', 'utf8');
    for (const code of codes) expect(doc, code).toContain(`\`${code}\``);
  });
});
