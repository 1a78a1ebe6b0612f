import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATHS, findChromium, findOnPath } from '../../tools/find-chromium.mjs';

describe('findChromium', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pbd-chromium-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const file = (path: string, mode: number): string => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '#!/bin/sh\nexit 0\n', { mode });
    return path;
  };
  const chrome = file(join(tmp, 'opt', 'chrome'), 0o755);
  const fixed = file(join(tmp, 'usr-bin', 'chromium'), 0o755);
  const notExecutable = file(join(tmp, 'usr-bin', 'chromium-browser'), 0o644);
  const onPath = file(join(tmp, 'path-a', 'google-chrome'), 0o755);
  const laterOnPath = file(join(tmp, 'path-b', 'chromium'), 0o755);
  const PATH = [join(tmp, 'path-a'), join(tmp, 'path-b')].join(delimiter);
  const none = join(tmp, 'nowhere');

  it.each([
    ['CHROME_PATH first', { CHROME_PATH: chrome, PATH }, [fixed], chrome],
    ['CHROME_PATH naming nothing: no fallback', { CHROME_PATH: join(tmp, 'missing'), PATH }, [fixed], undefined],
    ['empty CHROME_PATH counts as unset', { CHROME_PATH: '', PATH }, [fixed], fixed],
    ['then the well-known locations, executable ones only', { PATH }, [none, notExecutable, fixed], fixed],
    ['then PATH, in CHROMIUM_NAMES order (chromium before google-chrome)', { PATH }, [none], laterOnPath],
    ['google-chrome when it is the only one on PATH', { PATH: join(tmp, 'path-a') }, [none], onPath],
    ['nothing', { PATH: join(tmp, 'opt') }, [none], undefined],
  ] as const)('%s', (_name, env, fixedPaths, expected) => {
    expect(findChromium(env, fixedPaths)).toBe(expected);
  });

  it('knows the Debian and Google locations, in that order', () => {
    expect(CHROMIUM_PATHS).toEqual(['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']);
  });

  it('findOnPath skips empty entries and directories', () => {
    expect(findOnPath('usr-bin', `${delimiter}${tmp}`)).toBeUndefined();
    expect(findOnPath('chrome', `${delimiter}${join(tmp, 'opt')}`)).toBe(chrome);
  });
});
