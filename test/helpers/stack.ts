import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { respond } from './receiver.js';
import { Receiver } from './receiver.js';
import { loadConfig, type Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/logging/logger.js';
import { buildApi } from '../../src/api/server.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { startWorker, type WorkerService } from '../../src/worker/worker-service.js';
import type { PostbackRecord } from '../../src/history/postback-record.js';
import { PostgresHistoryStore } from '../../src/history/postgres/postgres-history-store.js';
import { sweepQueued } from '../../src/history/sweep-queued.js';
import type { FastifyInstance } from 'fastify';

/** Log lines captured from the stack, for assertions (and secret searches). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }
}

/** An API answer: the status, the raw body, and the body parsed as JSON (undefined when it is not JSON). */
export interface StackResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON of any API answer; tests read its fields directly
  json: any;
  text: string;
}

export interface Stack {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly worker: WorkerService | undefined;
  readonly api: FastifyInstance;
  readonly base: string;
  readonly logs: LogCapture;
  /** Polls history until the record reaches a final state (delivered or failed). */
  waitFinal(postbackId: string, timeoutMs?: number): Promise<PostbackRecord>;
  waitStatus(postbackId: string, statuses: readonly string[], timeoutMs?: number): Promise<PostbackRecord>;
  /** Resolves once history reads (lists, exports) show every change so far: at once for Redis history; for PostgreSQL once the outbox is written. */
  historySynced(timeoutMs?: number): Promise<void>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<StackResponse>;
  get(path: string, headers?: Record<string, string>): Promise<StackResponse>;
  /** Any method; a body of undefined sends none. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<StackResponse>;
  close(): Promise<void>;
}

/** The env that puts a stack's history in PostgreSQL (the suite's throw-away cluster, or HISTORY_URL). */
export function postgresHistoryEnv(): Record<string, string> {
  return { HISTORY_URL: inject('postgresUrl') };
}

/** Each history store's env, for suites that run once per store (describe.each). */
export const HISTORY_STORES: readonly [string, () => Record<string, string>][] = [
  ['redis', () => ({})],
  ['postgres', postgresHistoryEnv],
];

export function testPrefix(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/** A config for the test Redis under a prefix of its own, loopback targets allowed, short timeouts; `env` on top. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: testPrefix(),
    ALLOW_PRIVATE_TARGETS: 'true',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    REQUEST_TIMEOUT_MS: '2000',
    WORKER_LOCK_MS: '5000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...env,
  });
}

/**
 * A real stack against the test Redis: runtime, optional worker, API on a free port.
 * Every stack gets its own key prefix, so test files never see each other's data.
 */
export async function startStack(env: Record<string, string> = {}, options: { worker?: boolean } = {}): Promise<Stack> {
  const config = testConfig(env);
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const runtime = await Runtime.create(config, logger);
  await runtime.loadEndpointsFile();
  const worker = options.worker === false ? undefined : startWorker(runtime);
  const api = buildApi(runtime);
  const base = await api.listen({ port: 0, host: '127.0.0.1' });

  const waitStatus = async (id: string, statuses: readonly string[], timeoutMs = 15_000): Promise<PostbackRecord> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Redis may be restarting under a fault test: a failed read is just another poll.
      const r = await runtime.historyStore.getRecord(id).catch(() => undefined);
      if (r && statuses.includes(r.status)) return r;
      if (Date.now() > deadline) throw new Error(`postback ${id} did not reach ${statuses.join('/')} (now ${r?.status})`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: StackResponse['json'];
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  return {
    config,
    runtime,
    worker,
    api,
    base,
    logs,
    waitFinal: (id, t) => waitStatus(id, ['delivered', 'failed'], t),
    waitStatus,
    async historySynced(timeoutMs = 15_000) {
      if (runtime.historyStore.kind === 'redis') return;
      // Records still queued reach PostgreSQL through the sweep a few seconds on: sweep now.
      const shards = runtime.allShards.map((s) => s.history);
      for (const shard of shards) await sweepQueued(shard, Date.now() + 1);
      const deadline = Date.now() + timeoutMs;
      const waiting = async (): Promise<number> => (await Promise.all(shards.map((h) => runtime.redis.xlen(h.keys.outbox)))).reduce((a, b) => a + b, 0);
      while ((await waiting()) > 0) {
        if (Date.now() > deadline) throw new Error('history outbox not written to PostgreSQL in time');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    request,
    async close() {
      await api.close();
      await worker?.close();
      const store = runtime.historyStore;
      if (store instanceof PostgresHistoryStore) await store.pool.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`).catch(() => undefined);
      await runtime.close();
    },
  };
}

export interface StackContext {
  readonly stack: Stack;
  readonly receiver: Receiver;
}

/**
 * Registers beforeAll/afterAll hooks for a describe block: a real receiver on loopback and
 * a stack (`env` as in startStack), then `setup` (e.g. upserting endpoints that point at
 * the receiver). Read `ctx.stack` and `ctx.receiver` inside tests.
 */
export function useStack(env: Record<string, string> = {}, setup?: (ctx: StackContext) => Promise<unknown>): StackContext {
  const ctx = {} as { stack: Stack; receiver: Receiver };
  beforeAll(async () => {
    ctx.receiver = new Receiver();
    await ctx.receiver.start();
    ctx.stack = await startStack(env);
    await setup?.(ctx);
  });
  afterAll(async () => {
    await ctx.stack?.close();
    await ctx.receiver?.stop();
  });
  return ctx;
}

export interface PerTestStacks {
  readonly receiver: Receiver;
  /** A stack for one test; closed after it, with the receiver reset to answer 200 "OK". */
  start(env?: Record<string, string>, options?: { worker?: boolean }): Promise<Stack>;
}

/** One receiver for a describe block and a fresh stack per test (tests that change config). */
export function usePerTestStacks(): PerTestStacks {
  const open: Stack[] = [];
  const ctx = {
    receiver: undefined as unknown as Receiver,
    async start(env: Record<string, string> = {}, options: { worker?: boolean } = {}): Promise<Stack> {
      const stack = await startStack(env, options);
      open.push(stack);
      return stack;
    },
  };
  beforeAll(async () => {
    ctx.receiver = new Receiver();
    await ctx.receiver.start();
  });
  afterAll(async () => {
    await ctx.receiver?.stop();
  });
  afterEach(async () => {
    for (const stack of open.splice(0)) await stack.close();
    ctx.receiver.requests.length = 0;
    ctx.receiver.responder = (_r, _i, res) => respond(200, 'OK')(res);
  });
  return ctx;
}
