import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { PostbackError } from '../errors/base-error.js';

export class RedisNotFoundError extends PostbackError {
  readonly code = 'PBD_ERR_NO_REDIS';
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export function findOnPath(binary: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server (AOF on, data under `dataDir`) on 127.0.0.1:`port` and
 * waits until it accepts connections.
 */
export async function startEmbeddedRedis(binary: string, dataDir: string, port: number): Promise<EmbeddedRedis> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect('127.0.0.1', port, 200))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisNotFoundError(`embedded redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    process: child,
    stop: () =>
      new Promise<void>((done) => {
        if (exited) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export const NO_REDIS_MESSAGE =
  'No Redis: nothing answers at 127.0.0.1:6379 and redis-server is not on PATH. ' +
  'Set REDIS_URL to a Redis 7 server, install Redis (e.g. apt-get install redis-server), or run `docker compose up`.';
