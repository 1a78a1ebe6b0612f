import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canConnect } from '../../src/runtime/embedded-redis.js';
import { freePort } from '../helpers/global-redis.js';

/**
 * tools/ensure-system-deps.mjs (pretest/prestart) as a real child process, on a PATH made of
 * fake programs in a temp dir. Its apt-get is a fake too: the tests never run the real one.
 */
const SCRIPT = join(import.meta.dirname, '../../tools/ensure-system-deps.mjs');
const SUDO = process.getuid?.() === 0 ? '' : 'sudo ';
const tmp = mkdtempSync(join(tmpdir(), 'pbd-sysdeps-'));
let dirs = 0;

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function executable(file: string, body = '#!/bin/sh\nexit 0\n'): string {
  writeFileSync(file, body, { mode: 0o755 });
  return file;
}

/** A fresh bin dir holding `programs` (fakes that exit 0) and an apt-get that logs its arguments. */
function binDir(programs: readonly string[]): { bin: string; aptLog: string } {
  const bin = join(tmp, `bin-${++dirs}`);
  mkdirSync(bin);
  for (const p of programs) executable(join(bin, p));
  const aptLog = join(bin, 'apt.log');
  // "Installs" by dropping fakes next to itself, so a re-check after install finds them.
  executable(
    join(bin, 'apt-get'),
    `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(aptLog)}, args.join(' ') + '\\n');
const provides = { 'redis-server': ['redis-server', 'redis-cli'], chromium: ['chromium'] };
if (args[0] === 'install') for (const pkg of args) for (const f of provides[pkg] ?? []) fs.writeFileSync(${JSON.stringify(bin)} + '/' + f, '#!/bin/sh\\nexit 0\\n', { mode: 0o755 });
`,
  );
  return { bin, aptLog };
}

function run(mode: 'test' | 'start', env: Record<string, string>): { status: number | null; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [SCRIPT, mode], {
    // No inherited REDIS_URL/CHROME_PATH; no well-known chromium locations either (this machine may have /usr/bin/chromium).
    env: { POSTBACK_CHROMIUM_PATHS: join(tmp, 'nowhere', 'chromium'), ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

describe('ensure-system-deps test (npm pretest)', () => {
  it('stops at once with the exact apt-get command when redis-server and chromium are missing and it may not install', () => {
    const { bin, aptLog } = binDir([]);
    const r = run('test', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1' });
    expect(r.status).toBe(1);
    expect(r.ms).toBeLessThan(5_000);
    expect(r.stderr.split('\n')).toContain(`  ${SUDO}apt-get install -y redis-server chromium`);
    expect(r.stderr).toMatch(/CHROME_PATH/);
    expect(r.stdout).toBe('');
    expect(existsSync(aptLog)).toBe(false);
  });

  it('asks for redis-server alone when only redis-cli is missing', () => {
    const { bin } = binDir(['redis-server', 'chromium']);
    const r = run('test', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('redis-cli not on PATH');
    expect(r.stderr.split('\n')).toContain(`  ${SUDO}apt-get install -y redis-server`);
  });

  it('passes silently when everything is there', () => {
    const { bin, aptLog } = binDir(['redis-server', 'redis-cli', 'chromium']);
    const r = run('test', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1' });
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(existsSync(aptLog)).toBe(false);
  });

  it('takes CHROME_PATH first, and stops when it names no executable', () => {
    const { bin } = binDir(['redis-server', 'redis-cli']);
    const chrome = executable(join(tmp, 'my-chrome'));
    expect(run('test', { PATH: bin, CHROME_PATH: chrome, POSTBACK_DEPS_NO_INSTALL: '1' })).toMatchObject({ status: 0, stderr: '' });
    const bad = run('test', { PATH: bin, CHROME_PATH: join(tmp, 'no-such-chrome') });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`CHROME_PATH=${join(tmp, 'no-such-chrome')} is not an executable file`);
  });

  it('finds chromium under its other names on PATH', () => {
    const { bin } = binDir(['redis-server', 'redis-cli', 'google-chrome-stable']);
    expect(run('test', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1' })).toMatchObject({ status: 0, stderr: '' });
  });

  it('POSTBACK_SKIP_SYSTEM_DEPS=1 skips the check', () => {
    const { bin } = binDir([]);
    expect(run('test', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1', POSTBACK_SKIP_SYSTEM_DEPS: '1' })).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('as root with apt-get: one line, apt-get update once, one install, then passes', () => {
    const { bin, aptLog } = binDir([]);
    const r = run('test', { PATH: bin, POSTBACK_DEPS_AS_ROOT: '1' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^ensure-system-deps: installing redis-server chromium /)]);
    expect(readFileSync(aptLog, 'utf8')).toBe('update -qq\ninstall -y -qq redis-server chromium\n');
  });
});

describe('ensure-system-deps start (npm prestart)', () => {
  it('does not block when REDIS_URL is set or redis-server is on PATH, and never asks for chromium', () => {
    const { bin: empty, aptLog } = binDir([]);
    expect(run('start', { PATH: empty, REDIS_URL: 'redis://127.0.0.1:1', POSTBACK_DEPS_NO_INSTALL: '1' })).toMatchObject({ status: 0, stdout: '', stderr: '' });
    const { bin } = binDir(['redis-server']);
    expect(run('start', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1' })).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(existsSync(aptLog)).toBe(false);
  });

  it('stops with the command when nothing answers at the Redis port and redis-server is missing', async () => {
    // A port where nothing listens stands for 6379, which this machine's own Redis may hold.
    const port = await freePort();
    expect(await canConnect('127.0.0.1', port)).toBe(false);
    const { bin } = binDir([]);
    const r = run('start', { PATH: bin, POSTBACK_DEPS_NO_INSTALL: '1', POSTBACK_DEPS_REDIS_PORT: String(port) });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')).toContain(`  ${SUDO}apt-get install -y redis-server`);
    expect(r.stderr).toContain('REDIS_URL');
  });
});
