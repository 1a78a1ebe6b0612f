import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { readEndpointsFile } from '../../src/endpoints/load-file.js';
import { ValidationError } from '../../src/errors/base-error.js';

const defaults = { requestTimeoutMs: 10000, retryScheduleS: [0, 60, 90, 120, 150] };

describe('endpoints file', () => {
  it('accepts config/endpoints.example.json, which shows every field', async () => {
    const list = await readEndpointsFile('config/endpoints.example.json', defaults);
    expect(list.length).toBeGreaterThanOrEqual(3);
  });

  it('reports every error with its path and value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbd-eps-'));
    const file = join(dir, 'eps.json');
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'ok', url: 'https://a.example/x' },
        { id: 'bad method', url: 'https://a.example/x', method: 'PUT' },
        { id: 'tpl', url: 'https://a.example/x?a={oops' },
        { id: 'ok', url: 'ftp://a.example/x' },
        { id: 'to', url: 'https://a.example/x', timeout_ms: 60000 },
      ]),
    );
    try {
      await readEndpointsFile(file, defaults);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const paths = (err as ValidationError).details.map((d) => d.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          `${file}: endpoints[1].id`,
          `${file}: endpoints[1].method`,
          `${file}: endpoints[2].url`,
          `${file}: endpoints[3].url`,
          `${file}: endpoints[4].timeout_ms`,
        ]),
      );
      expect((err as Error).message).toContain('"PUT"');
      expect((err as Error).message).toContain('position');
    }
  });

  it('stops `postback start` with every error and the file path, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbd-eps-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ id: 'x', url: 'not a url' }, { id: 'y' }]));
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'start'], {
      env: { ...process.env, REDIS_URL: inject('redisUrl'), POSTBACK_ENDPOINTS: file, PORT: '0', QUEUE_PREFIX: 'badfile' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('endpoints[0].url');
    expect(r.stderr).toContain('endpoints[1].url');
  });
});
