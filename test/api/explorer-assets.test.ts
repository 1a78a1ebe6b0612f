import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXPLORER_MODULES } from '../../src/api/routes/explorer.js';
import { useStack } from '../helpers/stack.js';

/** The relative imports of an ES module's source ('./dom.js', './explorer/format.js'). */
function importsOf(source: string): string[] {
  return [...source.matchAll(/^import\s[^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => m[1]!);
}

/** The Explorer's static files: an explicit allow-list, served with their types, nothing else. */
describe('Explorer assets', () => {
  const ctx = useStack({ API_KEYS: 'k1' });

  it('serves every module of public/explorer/ (and nothing it does not list) as JavaScript, without a key', async () => {
    const onDisk = readdirSync('public/explorer').filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
    expect([...EXPLORER_MODULES].sort()).toEqual(onDisk);
    for (const name of EXPLORER_MODULES) {
      const res = await ctx.stack.api.inject({ method: 'GET', url: `/explorer/${name}.js` });
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['content-type'], name).toBe('text/javascript; charset=utf-8');
      expect(res.headers['x-content-type-options'], name).toBe('nosniff');
      expect(res.body, name).toBe(readFileSync(`public/explorer/${name}.js`, 'utf8'));
    }
  });

  it('serves every module the page imports, from the entry point down', async () => {
    const seen = new Set<string>();
    const visit = async (path: string): Promise<void> => {
      if (seen.has(path)) return;
      seen.add(path);
      const res = await ctx.stack.api.inject({ method: 'GET', url: path });
      expect(res.statusCode, path).toBe(200);
      for (const spec of importsOf(res.body)) await visit(posix.join(posix.dirname(path), spec));
    };
    await visit('/explorer.js');
    expect(seen.size).toBe(EXPLORER_MODULES.length + 1);
    const html = await ctx.stack.api.inject({ method: 'GET', url: '/' });
    expect(html.body).toContain('<script type="module" src="explorer.js"></script>');
  });

  it.each([
    '/explorer/nope.js',
    '/explorer/../package.json',
    '/explorer/%2e%2e/package.json',
    '/explorer/..%2fpackage.json',
    '/explorer/dom.js/',
    '/explorer/',
    '/explorer.html',
    '/public/explorer.js',
  ])('answers 401 or 404 for %s, never a file', async (url) => {
    const res = await ctx.stack.api.inject({ method: 'GET', url });
    expect([401, 404]).toContain(res.statusCode);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });
});
