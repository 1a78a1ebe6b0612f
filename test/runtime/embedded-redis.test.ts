import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { canConnect, findOnPath, startEmbeddedRedis } from '../../src/runtime/embedded-redis.js';
import { freePort } from '../helpers/global-redis.js';

describe('embedded redis-server', () => {
  it('starts a private redis-server with AOF under the data dir, answers, and stops', async () => {
    const binary = findOnPath('redis-server', process.env.PATH);
    expect(binary).toBeDefined();
    const dir = join(mkdtempSync(join(tmpdir(), 'pbd-embedded-')), 'data', 'redis');
    const port = await freePort();
    const embedded = await startEmbeddedRedis(binary!, dir, port);
    try {
      const client = new Redis(embedded.url);
      await client.set('k', 'v');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      client.disconnect();
      expect(existsSync(dir)).toBe(true);
      expect(readdirSync(dir).some((f) => f.startsWith('appendonly'))).toBe(true);
    } finally {
      await embedded.stop();
    }
    expect(await canConnect('127.0.0.1', port, 200)).toBe(false);
  });

  it('finds nothing on an empty PATH, so start fails with the message naming the options', () => {
    expect(findOnPath('redis-server', '')).toBeUndefined();
  });
});
