import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * Redis for the whole run: REDIS_URL when set; else a testcontainers Redis when a Docker
 * engine answers; else a throw-away redis-server on a free port; else a clear failure.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return () => Promise.resolve();
  }
  const docker = await tryDocker();
  if (docker) {
    project.provide('redisUrl', docker.url);
    return docker.stop;
  }
  const local = await tryRedisServer();
  if (local) {
    project.provide('redisUrl', local.url);
    return local.stop;
  }
  throw new Error(
    'Tests need Redis 7: set REDIS_URL, run a Docker engine (testcontainers), or install redis-server on PATH.',
  );
}

async function tryDocker(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const socket = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  if (!process.env.DOCKER_HOST && !existsSync(socket)) return undefined;
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine')
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined; // no engine behind the socket
  }
}

export async function tryRedisServer(): Promise<{ url: string; port: number; child: ChildProcess; stop: () => Promise<void> } | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pbd-redis-'));
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
  } catch {
    return undefined;
  }
  const failed = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(true));
    void waitForPort(port).then(() => resolve(false), () => resolve(true));
  });
  if (failed) return undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
