import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { UnavailableError } from '../../src/errors/base-error.js';
import { ClusterAllFailedError, IOREDIS_CLUSTER_REDIRECTIONS, IOREDIS_CONNECTION_MESSAGES, RedisAbortError, isRedisUnavailable } from '../../src/redis/redis-unavailable.js';
import { freePort } from '../helpers/global-redis.js';

const Reply = ReplyError as new (message: string) => Error;
const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('isRedisUnavailable', () => {
  it.each<[string, unknown, boolean]>([
    // ioredis's plain Errors, matched by exact message.
    ['offline queue off, not connected', new Error("Stream isn't writeable and enableOfflineQueue options is false"), true],
    ['connection ended', new Error('Connection is closed.'), true],
    ['command timeout', new Error('Command timed out'), true],
    ['cluster: no slot map, offline queue off', new Error("Cluster isn't ready and enableOfflineQueue options is false"), true],
    ['cluster: no startup node answers', new Error('None of startup nodes is available'), true],
    ['cluster: redirections exhausted during a failover', new Error(`${IOREDIS_CLUSTER_REDIRECTIONS}Error: Connection is closed.`), true],
    ['cluster: no node answers the slot refresh', new ClusterAllFailedError('Failed to refresh slots cache.'), true],
    ['a primary without the replicas min-replicas-to-write asks for', new Reply('NOREPLICAS Not enough good replicas to write.'), true],
    ['cluster: slots uncovered', new Reply('CLUSTERDOWN The cluster is down'), true],
    ['cluster: resharding', new Reply('TRYAGAIN Multiple keys request during rehashing of slot'), true],
    // By class.
    ['retries per request exhausted', new MaxRetriesPerRequestError(1), true],
    ['aborted mid-pipeline', new RedisAbortError('Command aborted due to connection close'), true],
    // By system error code.
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'), true],
    ['reset', withCode('read ECONNRESET', 'ECONNRESET'), true],
    ['connect timeout (ioredis sets the code)', withCode('connect ETIMEDOUT', 'ETIMEDOUT'), true],
    ['DNS', withCode('getaddrinfo ENOTFOUND redis', 'ENOTFOUND'), true],
    ['wrapped: found through cause', new Error('query failed', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }), true],
    // By Redis's reply code (the reply's first word).
    ['loading after a restart', new Reply('LOADING Redis is loading the dataset in memory'), true],
    ['script busy', new Reply('BUSY Redis is busy running a script.'), true],
    ['maxmemory', new Reply("OOM command not allowed when used memory > 'maxmemory'."), true],
    ['demoted primary', new Reply("READONLY You can't write against a read only replica."), true],
    // Bugs and other errors stay bugs (500).
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')"), false],
    ['a JSON parse error', new SyntaxError('Unexpected token } in JSON at position 1'), false],
    ['a message that only contains a known one', new Error('Command timed out!'), false],
    ['a known message on another class', new TypeError('Connection is closed.'), false],
    ['a command error reply', new Reply("ERR unknown command 'NOSUCHCMD'"), false],
    ['keys in different slots (a bug: every key shares the hash tag)', new Reply("CROSSSLOT Keys in request don't hash to the same slot"), false],
    ['a wrong-type reply', new Reply('WRONGTYPE Operation against a key holding the wrong kind of value'), false],
    ['a reply whose text, not code, says LOADING', new Reply('ERR LOADING'), false],
    ['an undici connect timeout (delivery, not Redis)', withCode('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'), false],
    ['a DOM AbortError', new DOMException('This operation was aborted', 'AbortError'), false],
    ['our own UnavailableError (the handler answers it by its status)', new UnavailableError('Redis unavailable: x'), false],
    ['not an Error, though it has the code', { code: 'ECONNREFUSED', message: 'Connection is closed.' }, false],
    ['undefined', undefined, false],
    ['a string', 'Connection is closed.', false],
  ])('%s -> %s', (_name, err, expected) => {
    expect(isRedisUnavailable(err)).toBe(expected);
  });

  it('each message it matches is one the installed ioredis rejects commands with', () => {
    const built = dirname(createRequire(import.meta.url).resolve('ioredis'));
    const source = ['Redis.js', 'Command.js', 'utils/index.js', 'cluster/index.js'].map((f) => readFileSync(join(built, f), 'utf8')).join('\n');
    for (const message of IOREDIS_CONNECTION_MESSAGES) expect(source, message).toContain(JSON.stringify(message));
    expect(source).toContain(JSON.stringify(IOREDIS_CLUSTER_REDIRECTIONS).slice(0, -1));
  });

  describe('errors a real ioredis client gives', () => {
    const clients: Redis[] = [];
    const client = (url: string, options: RedisOptions): Redis => {
      const c = new Redis(url, { retryStrategy: () => 50, ...options });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    };
    afterAll(() => {
      for (const c of clients) c.disconnect();
    });

    it('nothing listening, offline queue on: MaxRetriesPerRequestError, unavailable', async () => {
      const c = client(`redis://127.0.0.1:${await freePort()}`, { maxRetriesPerRequest: 0 });
      const err = await c.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MaxRetriesPerRequestError);
      expect(isRedisUnavailable(err)).toBe(true);
    });

    it('nothing listening, offline queue off (as the producer connection): unavailable', async () => {
      const c = client(`redis://127.0.0.1:${await freePort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      const err = await c.get('k').catch((e: unknown) => e);
      expect((err as Error).message).toBe("Stream isn't writeable and enableOfflineQueue options is false");
      expect(isRedisUnavailable(err)).toBe(true);
    });

    it('after the connection ended ("Connection is closed."): unavailable', async () => {
      const c = client(inject('redisUrl'), {});
      await c.quit();
      const err = await c.get('k').catch((e: unknown) => e);
      expect((err as Error).message).toBe('Connection is closed.');
      expect(isRedisUnavailable(err)).toBe(true);
    });

    it('a command Redis rejects (a bug on our side): not unavailable', async () => {
      const c = client(inject('redisUrl'), {});
      const err = await c.call('NOSUCHCMD').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Reply);
      expect(isRedisUnavailable(err)).toBe(false);
    });
  });
});
