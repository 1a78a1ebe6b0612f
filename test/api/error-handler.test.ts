import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorHandler } from '../../src/api/error-handler.js';
import { NotFoundError, UnavailableError } from '../../src/errors/base-error.js';
import { createLogger } from '../../src/logging/logger.js';

/** What reaches the handler decides the status: Redis being unreachable is 503, a bug stays 500 and is logged with its stack. */
describe('API error handler', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  let app: FastifyInstance;
  const thrown: Record<string, () => Error> = {
    bug: () => new TypeError("Cannot read properties of undefined (reading 'id')"),
    refused: () => new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    timeout: () => new Error('Command timed out'),
    // Typed loosely by ioredis (its base class comes from untyped redis-errors); an Error at run time.
    retries: () => new MaxRetriesPerRequestError(1) as unknown as Error,
    unavailable: () => new UnavailableError('Redis unavailable: Command timed out'),
    missing: () => new NotFoundError('postback "x" not found'),
  };

  beforeAll(async () => {
    app = Fastify({ logger: false });
    app.setErrorHandler(createErrorHandler(createLogger('info', sink)));
    app.get('/throw/:kind', (request) => Promise.reject(thrown[(request.params as { kind: string }).kind]!()));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['bug', 500, { error: 'internal error', details: [] }],
    ['refused', 503, { error: "Redis unavailable: Stream isn't writeable and enableOfflineQueue options is false", details: [] }],
    ['timeout', 503, { error: 'Redis unavailable: Command timed out', details: [] }],
    ['retries', 503, { error: expect.stringMatching(/^Redis unavailable: Reached the max retries per request limit/), details: [] }],
    ['unavailable', 503, { error: 'Redis unavailable: Command timed out', details: [] }],
    ['missing', 404, { error: 'postback "x" not found', details: [] }],
  ])('%s -> %d', async (kind, status, body) => {
    const res = await app.inject({ method: 'GET', url: `/throw/${kind}` });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.json()).toEqual(body);
  });

  it('logs a bug at error level with its type and stack; a Redis outage at warn, without one', async () => {
    lines.length = 0;
    await app.inject({ method: 'GET', url: '/throw/bug' });
    await app.inject({ method: 'GET', url: '/throw/timeout' });
    const [bug, outage] = lines;
    expect(bug).toMatchObject({ level: 50, msg: 'unhandled API error', route: '/throw/:kind', err: { type: 'TypeError', message: expect.stringContaining("reading 'id'") } });
    expect((bug!.err as { stack: string }).stack).toContain('TypeError');
    expect(outage).toMatchObject({ level: 40, msg: 'Redis unavailable: answered 503', route: '/throw/:kind', err: 'Command timed out' });
  });
});
