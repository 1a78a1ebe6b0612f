// Where a Chrome/Chromium binary is: the one lookup shared by tools/ensure-system-deps.mjs
// and test/api/explorer.browser.test.ts. Plain JS, no dependencies (it runs before npm ci's
// packages are built).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Well-known install locations, tried in order after CHROME_PATH. */
export const CHROMIUM_PATHS = Object.freeze([
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
]);

/** The same programs by name, looked up on PATH last. */
export const CHROMIUM_NAMES = Object.freeze(['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']);

/** Whether `file` is a regular file (symlinks followed) this process may execute. */
export function isExecutable(file) {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `which name`: the first executable `name` in the directories of `pathEnv`. */
export function findOnPath(name, pathEnv) {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * CHROME_PATH when set (and then only it: an explicit choice is never second-guessed), else
 * the first executable of `fixedPaths`, else the first of CHROMIUM_NAMES on PATH.
 */
export function findChromium(env = process.env, fixedPaths = CHROMIUM_PATHS) {
  if (env.CHROME_PATH) return isExecutable(env.CHROME_PATH) ? env.CHROME_PATH : undefined;
  for (const file of fixedPaths) if (isExecutable(file)) return file;
  for (const name of CHROMIUM_NAMES) {
    const found = findOnPath(name, env.PATH);
    if (found) return found;
  }
  return undefined;
}
