import { describe, expect, it } from 'vitest';
import { hashTagOf } from '../../src/config/schema.js';
import { RedisKeys } from '../../src/redis/keys.js';

/**
 * On a Redis Cluster every Lua script and MULTI needs its keys in one slot. With a
 * `{hash-tag}` QUEUE_PREFIX each key the dispatcher builds (and BullMQ's, which start with
 * the same prefix) hashes by that tag alone.
 */
describe('RedisKeys on a hash-tagged prefix', () => {
  const keys = new RedisKeys('{postback}');

  it('every key, fixed or built, hashes by the prefix tag', () => {
    const fixed = Object.entries(keys).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'prefix');
    const built = [
      keys.health('ep:1'),
      keys.healthMinute('https://{pub}.example', 29_000_000),
      keys.probe('ep'),
      keys.alertGate('ep', 'endpoint.disabled'),
      // Event and endpoint ids are user text: a brace in them comes after the prefix's tag and does not count.
      keys.dedupe('ev-{x}', 'pub7-main'),
      keys.record('pb_1'),
      `${keys.prefix}:${RedisKeys.QUEUE_NAME}:wait`,
      `${keys.prefix}:${RedisKeys.SLOW_QUEUE_NAME}:active`,
    ];
    expect(fixed.length).toBeGreaterThan(8);
    for (const key of [...fixed.map(([, v]) => v), ...built]) expect(hashTagOf(key), key).toBe('postback');
  });

  it('hashTagOf follows Redis: the first {...} that is not empty', () => {
    expect(hashTagOf('{a}:b')).toBe('a');
    expect(hashTagOf('x{a}{b}')).toBe('a');
    expect(hashTagOf('{}a{b}')).toBeUndefined();
    expect(hashTagOf('{a')).toBeUndefined();
    expect(hashTagOf('postback:x')).toBeUndefined();
  });
});
