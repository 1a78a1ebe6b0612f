import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors/base-error.js';
import { guardRedis } from '../../src/redis/guard-redis.js';
import { freePort } from '../helpers/global-redis.js';

describe('guardRedis', () => {
  it('turns Redis being unreachable into UnavailableError (503)', async () => {
    // A real client against a port where nothing listens, failing fast like a producer's.
    const redis = new Redis(await freePort(), '127.0.0.1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await expect(guardRedis(() => redis.get('k'))).rejects.toBeInstanceOf(UnavailableError);
      await expect(guardRedis(() => redis.get('k'))).rejects.toThrow(/^Redis unavailable: /);
    } finally {
      redis.disconnect();
    }
  });

  it('lets a bug through as it is: a TypeError is no 503', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- the bug is thrown inside an async step, as in a route
    const bug = guardRedis(async () => {
      const missing = undefined as unknown as { id: string };
      return missing.id;
    });
    await expect(bug).rejects.toBeInstanceOf(TypeError);
  });

  it('returns what the step returns', async () => {
    expect(await guardRedis(() => Promise.resolve(42))).toBe(42);
  });
});
