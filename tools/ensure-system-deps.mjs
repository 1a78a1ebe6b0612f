#!/usr/bin/env node
// Run by `npm test` (pretest) and `npm start` (prestart): checks the system programs they need;
// installs the missing ones with apt-get when it runs as root, else stops at once (exit 1) with
// the command to run. Plain JS, no dependencies. Usage: node tools/ensure-system-deps.mjs test|start
//
//   test   redis-server and redis-cli (the harness, test/runtime/embedded-redis and test/faults/
//          redis-faults start their own, whatever REDIS_URL says) and a Chrome/Chromium for the
//          Explorer's browser test (CHROME_PATH, else the places tools/find-chromium.mjs knows).
//   start  redis-server, only when REDIS_URL is unset, nothing answers at 127.0.0.1:6379 and
//          redis-server is not on PATH: the one case where `postback start` cannot run.
//
// Environment (an empty variable counts as unset):
//   POSTBACK_SKIP_SYSTEM_DEPS=1  skip the check
//   POSTBACK_DEPS_NO_INSTALL=1   never install, print the command instead (the tests use it)
//   POSTBACK_CHROMIUM_PATHS      replaces the well-known chromium locations (PATH-style list; for tests)
//   POSTBACK_DEPS_REDIS_PORT     the port `start` probes instead of 6379 (for tests: a machine may run Redis there)
//   POSTBACK_DEPS_AS_ROOT=1|0    take the process as root or not (for tests, with a fake apt-get on PATH)
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { delimiter } from 'node:path';
import { CHROMIUM_PATHS, findChromium, findOnPath, isExecutable } from './find-chromium.mjs';

const env = process.env;
const mode = process.argv[2];
if (mode !== 'test' && mode !== 'start') {
  console.error('usage: node tools/ensure-system-deps.mjs test|start');
  process.exit(2);
}
if (env.POSTBACK_SKIP_SYSTEM_DEPS === '1' || env.POSTBACK_SKIP_SYSTEM_DEPS === 'true') process.exit(0);

const chromiumPaths = env.POSTBACK_CHROMIUM_PATHS ? env.POSTBACK_CHROMIUM_PATHS.split(delimiter).filter(Boolean) : CHROMIUM_PATHS;
const root = env.POSTBACK_DEPS_AS_ROOT ? env.POSTBACK_DEPS_AS_ROOT === '1' : process.getuid?.() === 0;
const redisPort = Number(env.POSTBACK_DEPS_REDIS_PORT || 6379);
const SKIP_HINT = 'POSTBACK_SKIP_SYSTEM_DEPS=1 skips this check.';

/** The apt packages missing for `mode`, each with why. */
async function missing() {
  const out = [];
  if (mode === 'test') {
    const redis = ['redis-server', 'redis-cli'].filter((name) => !findOnPath(name, env.PATH));
    if (redis.length > 0) out.push({ pkg: 'redis-server', why: `${redis.join(' and ')} not on PATH` });
    if (env.CHROME_PATH && !isExecutable(env.CHROME_PATH)) {
      fail([`npm test: CHROME_PATH=${env.CHROME_PATH} is not an executable file.`, 'Point CHROME_PATH at a Chrome/Chromium binary, or unset it to use the one in /usr/bin or on PATH.']);
    }
    if (!findChromium(env, chromiumPaths)) {
      out.push({ pkg: 'chromium', why: `no Chrome/Chromium: CHROME_PATH is unset, and none of ${chromiumPaths.join(', ')} or chromium/google-chrome on PATH` });
    }
  } else if (!env.REDIS_URL && !findOnPath('redis-server', env.PATH) && !(await answers('127.0.0.1', redisPort))) {
    out.push({ pkg: 'redis-server', why: 'REDIS_URL is unset, nothing answers at 127.0.0.1:6379 and redis-server is not on PATH' });
  }
  return out;
}

function answers(host, port) {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const pkgsOf = (list) => list.map((m) => m.pkg).join(' ');

function fail(lines) {
  console.error(lines.join('\n'));
  process.exit(1);
}

/** Stops with what is missing and the exact command to run. */
function explain(lacking, reason) {
  const alternatives =
    mode === 'start'
      ? 'Or set REDIS_URL to a Redis 7 server (or run `docker compose up`). '
      : lacking.some((m) => m.pkg === 'chromium')
        ? 'Or point CHROME_PATH at a Chrome/Chromium binary you already have. '
        : '';
  fail([
    `npm ${mode} needs programs this machine lacks (${reason}):`,
    ...lacking.map((m) => `  - ${m.pkg}: ${m.why}`),
    'Install them with:',
    `  ${root ? '' : 'sudo '}apt-get install -y ${pkgsOf(lacking)}`,
    `${alternatives}${SKIP_HINT}`,
  ]);
}

function apt(args, lacking) {
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    fail([`apt-get ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}). Fix it and run: apt-get install -y ${pkgsOf(lacking)}. ${SKIP_HINT}`]);
  }
}

const lacking = await missing();
if (lacking.length === 0) process.exit(0);

const noInstall = env.POSTBACK_DEPS_NO_INSTALL === '1' || env.POSTBACK_DEPS_NO_INSTALL === 'true';
const reason = noInstall ? 'POSTBACK_DEPS_NO_INSTALL is set, so not installing' : !root ? 'not root, so not installing' : !findOnPath('apt-get', env.PATH) ? 'no apt-get on PATH' : undefined;
if (reason) explain(lacking, reason);

console.log(`ensure-system-deps: installing ${pkgsOf(lacking)} for npm ${mode} (apt-get update -qq && apt-get install -y -qq ${pkgsOf(lacking)})`);
apt(['update', '-qq'], lacking);
apt(['install', '-y', '-qq', ...lacking.map((m) => m.pkg)], lacking);
const still = await missing();
if (still.length > 0) explain(still, 'still missing after apt-get install');
