import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresProcess } from './postgres-process.js';

const run = promisify(execFile);

/** One statement through psql (no library chosen yet); its unaligned, tuples-only output. */
async function psql(url: string, sql: string): Promise<string> {
  const { stdout } = await run('psql', [url, '-XAtc', sql], { timeout: 5000 });
  return stdout.trim();
}

describe('the PostgreSQL of the run (global-postgres.ts)', () => {
  it('answers select 1 on the provided URL', async () => {
    expect(inject('postgresUrl')).toMatch(/^postgres(ql)?:\/\//);
    expect(await psql(inject('postgresUrl'), 'select 1')).toBe('1');
  });
});

describe('PostgresProcess', () => {
  const pg = new PostgresProcess();

  beforeAll(async () => {
    await pg.start();
  });
  afterAll(async () => {
    await pg.stop();
  });

  it('answers on its URL, on loopback', async () => {
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    expect(await psql(pg.url, 'select 1')).toBe('1');
  });

  it('killed: connections fail; restarted on the same port: the data is still there', async () => {
    await psql(pg.url, 'create table kept (x int); insert into kept values (42)');
    const port = pg.port;
    await pg.kill();
    expect(await pg.accepts()).toBe(false);
    await expect(psql(pg.url, 'select 1')).rejects.toThrow();
    await pg.restart(100);
    expect(pg.port).toBe(port);
    expect(await psql(pg.url, 'select x from kept')).toBe('42');
    // A restart of a running server (fast shutdown) keeps it too.
    await psql(pg.url, 'insert into kept values (43)');
    await pg.restart();
    expect(await psql(pg.url, 'select count(*) from kept')).toBe('2');
  });

  it('stopped: the port no longer accepts and the data dir is gone', async () => {
    await pg.stop();
    expect(await pg.accepts()).toBe(false);
    expect(existsSync(pg.dir)).toBe(false);
  });
});
