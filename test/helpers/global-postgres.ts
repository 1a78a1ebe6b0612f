import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { findPostgresBin, PostgresProcess } from './postgres-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const OPTIONS = 'set HISTORY_URL (or DATABASE_URL), run a Docker engine (testcontainers), or install the Debian PostgreSQL server (apt-get install postgresql: /usr/lib/postgresql/<version>/bin)';

/**
 * PostgreSQL for the whole run: HISTORY_URL or DATABASE_URL when set; else a testcontainers
 * PostgreSQL 15 when a Docker engine answers; else a throw-away cluster made with Debian's
 * binaries (test/helpers/postgres-process.ts); else a clear failure.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.HISTORY_URL ?? process.env.DATABASE_URL;
  if (fromEnv) {
    project.provide('postgresUrl', fromEnv);
    return () => Promise.resolve();
  }
  const docker = await tryDocker();
  if (docker) {
    project.provide('postgresUrl', docker.url);
    return docker.stop;
  }
  if (findPostgresBin() === undefined) throw new Error(`Tests need PostgreSQL 15: ${OPTIONS}.`);
  const local = new PostgresProcess();
  try {
    await local.start();
  } catch (err) {
    await local.stop();
    throw new Error(`Tests need PostgreSQL 15 (${OPTIONS}); the throw-away cluster did not start.`, { cause: err });
  }
  project.provide('postgresUrl', local.url);
  return () => local.stop();
}

async function tryDocker(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  const socket = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  if (!process.env.DOCKER_HOST && !existsSync(socket)) return undefined;
  try {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:15-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'full_page_writes=off'])
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      .withExposedPorts(5432)
      // The image's entrypoint starts the server twice (init scripts, then for real).
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    return {
      url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined; // no engine behind the socket
  }
}
