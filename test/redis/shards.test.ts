import { describe, expect, it } from 'vitest';
import { hashTagOf, loadConfig } from '../../src/config/schema.js';
import { parseShardList } from '../../src/config/shard-list.js';
import { ValidationError } from '../../src/errors/base-error.js';
import { shardIndexOf, shardPrefix, shardPrefixes } from '../../src/redis/shards.js';

describe('shard prefixes', () => {
  it('one shard keeps QUEUE_PREFIX exactly; more get a hash tag each', () => {
    expect(shardPrefixes('{postback}', 1)).toEqual(['{postback}']);
    expect(shardPrefixes('postback', 1)).toEqual(['postback']);
    expect(shardPrefixes('{postback}', 3)).toEqual(['{postback-0}', '{postback-1}', '{postback-2}']);
    expect(shardPrefix('app:{pb}:x', 4)).toBe('app:{pb-4}:x');
    // No tag (a single node): the prefix becomes the tag, so the same names work on a cluster.
    expect(shardPrefix('postback', 2)).toBe('{postback-2}');
    const tags = shardPrefixes('{pb}', 6).map(hashTagOf);
    expect(new Set(tags).size).toBe(6);
  });
});

describe('shardIndexOf (FNV-1a of the dedupe scope, mod K)', () => {
  it.each([
    ['pub7-main', 1, 0],
    // FNV-1a 32 of "a" is 0xe40c292c = 3826002220; of "" the offset basis 0x811c9dc5 = 2166136261.
    ['a', 1000, 220],
    ['', 7, 2166136261 % 7],
  ])('%s over %i shards is %i', (scope, k, want) => {
    expect(shardIndexOf(scope, k)).toBe(want);
  });

  it('is stable, in range, and spreads endpoints about evenly', () => {
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) {
      const s = shardIndexOf(`endpoint-${i}`, 6);
      expect(s).toBe(shardIndexOf(`endpoint-${i}`, 6));
      counts[s]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});

describe('WORKER_SHARDS', () => {
  it.each([
    ['0-3', 8, [0, 1, 2, 3]],
    ['0,2,5', 6, [0, 2, 5]],
    [' 5, 0-1 ,1', 6, [0, 1, 5]],
    ['3', 4, [3]],
  ])('%j with %i shards is %j', (raw, k, want) => {
    expect(parseShardList(raw, 'WORKER_SHARDS', k)).toEqual(want);
  });

  it.each([
    ['a', /entry "a" must be a shard number or a range/],
    ['0,,1', /must be shard numbers or ranges/],
    ['3-1', /range "3-1" runs backwards/],
    ['0-4', /shard 4 does not exist: QUEUE_SHARDS=4 has shards 0 to 3/],
    ['-1', /entry "-1"/],
  ])('refuses %j, naming the variable and value', (raw, message) => {
    expect(() => parseShardList(raw, 'WORKER_SHARDS', 4)).toThrow(message);
    expect(() => parseShardList(raw, 'WORKER_SHARDS', 4)).toThrow(`WORKER_SHARDS="${raw}"`);
  });

  it('config: defaults, and WORKER_SHARDS checked against QUEUE_SHARDS', () => {
    expect(loadConfig({})).toMatchObject({ queueShards: 1, workerShards: undefined, drainQueueShards: [] });
    expect(loadConfig({ QUEUE_SHARDS: '6', WORKER_SHARDS: '0-2,5', DRAIN_QUEUE_SHARDS: '1,3' })).toMatchObject({
      queueShards: 6,
      workerShards: [0, 1, 2, 5],
      drainQueueShards: [1, 3],
    });
    try {
      loadConfig({ QUEUE_SHARDS: '3', WORKER_SHARDS: '0-3' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details).toEqual([
        { path: 'WORKER_SHARDS', message: 'WORKER_SHARDS="0-3" names shard 3, but QUEUE_SHARDS=3 has shards 0 to 2' },
      ]);
    }
    expect(() => loadConfig({ QUEUE_SHARDS: '0' })).toThrow(/QUEUE_SHARDS="0": must be an integer from 1 to 1024/);
    expect(() => loadConfig({ DRAIN_QUEUE_SHARDS: '1,x' })).toThrow(/DRAIN_QUEUE_SHARDS/);
  });
});
