import { describe, expect, it } from 'vitest';
import type { IndexPage, IndexPosition, PostbackSummary } from '../../src/history/query-postbacks.js';
import { mergePages } from '../../src/history/shard-reads.js';

/** Newer first: (score, id) descending, as the time index is read. */
const newer = (a: IndexPosition, b: IndexPosition): boolean => a.score > b.score || (a.score === b.score && a.id > b.id);

/**
 * What scanIndex does on one shard: rows strictly below `after`, newest first, up to `limit`
 * matches, giving up after `budget` rows scanned (MAX_SCAN) with the position it reached.
 */
function scan(rows: readonly IndexPosition[], after: IndexPosition | undefined, limit: number, budget: number, match: (p: IndexPosition) => boolean): IndexPage {
  const items: PostbackSummary[] = [];
  const positions: IndexPosition[] = [];
  let scanned = 0;
  for (const p of rows) {
    if (after !== undefined && !newer(after, p)) continue;
    scanned++;
    if (match(p)) {
      items.push({ id: p.id } as PostbackSummary);
      positions.push(p);
      if (items.length >= limit) return { items, positions, next: p };
    }
    if (scanned >= budget) return { items, positions, next: p };
  }
  return { items, positions, next: undefined };
}

describe('mergePages (history over shards)', () => {
  it('takes the newest rows of all shards and continues below the last one', () => {
    const a: IndexPage = { items: [{ id: 'a10' }, { id: 'a8' }, { id: 'a6' }] as PostbackSummary[], positions: [{ score: 10, id: 'a10' }, { score: 8, id: 'a8' }, { score: 6, id: 'a6' }], next: { score: 6, id: 'a6' } };
    const b: IndexPage = { items: [{ id: 'b9' }, { id: 'b7' }] as PostbackSummary[], positions: [{ score: 9, id: 'b9' }, { score: 7, id: 'b7' }], next: undefined };
    const merged = mergePages([a, b], 3);
    expect(merged.items.map((i) => i.id)).toEqual(['a10', 'b9', 'a8']);
    expect(merged.next).toEqual({ score: 8, id: 'a8' });
  });

  it('a shard that gave up early (scan budget) bounds the page: nothing below where it stopped', () => {
    const a: IndexPage = { items: [], positions: [], next: { score: 50, id: 'x' } };
    const b: IndexPage = { items: [{ id: 'b60' }, { id: 'b40' }] as PostbackSummary[], positions: [{ score: 60, id: 'b60' }, { score: 40, id: 'b40' }], next: undefined };
    const merged = mergePages([a, b], 10);
    expect(merged.items.map((i) => i.id)).toEqual(['b60']);
    expect(merged.next).toEqual({ score: 50, id: 'x' });
    expect(mergePages([{ ...a, next: undefined }, b], 10)).toEqual({ items: b.items, next: undefined });
  });

  it('paging to the end gives every matching row once, in (score, id) order, whatever the page size, ties and scan budget', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 40; round++) {
      const shards = Array.from({ length: 1 + rand(5) }, (_, s) =>
        Array.from({ length: rand(60) }, (_, i) => ({ score: rand(30), id: `s${s}-${String(i).padStart(3, '0')}` })).sort((x, y) => (newer(x, y) ? -1 : 1)),
      );
      const match = (p: IndexPosition): boolean => p.score % 3 !== 0;
      const limit = 1 + rand(7);
      const budget = 1 + rand(12);
      const want = shards.flat().filter(match).sort((x, y) => (newer(x, y) ? -1 : 1)).map((p) => p.id);
      const got: string[] = [];
      let after: IndexPosition | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(1000);
        const page = mergePages(shards.map((rows) => scan(rows, after, limit, budget, match)), limit);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        got.push(...page.items.map((i) => i.id));
        if (page.next === undefined) break;
        after = page.next;
      }
      expect(got, `round ${round}`).toEqual(want);
    }
  });
});
