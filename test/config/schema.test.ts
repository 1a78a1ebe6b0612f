import { describe, expect, it } from 'vitest';
import { loadConfig, VARIABLES } from '../../src/config/schema.js';
import { ValidationError } from '../../src/errors/base-error.js';

describe('loadConfig', () => {
  it('applies SPEC defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      redisUrl: undefined, redisUrlDefaulted: true, port: 8080, host: '127.0.0.1', apiKeys: [],
      retryScheduleS: [0, 60, 90, 120, 150], requestTimeoutMs: 10000, workerConcurrency: 100,
      allowPrivateTargets: false, dedupeTtlDays: 7, historyRetentionDays: 30, queuePrefix: 'postback', logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('binds 0.0.0.0 only when API keys are set', () => {
    expect(loadConfig({ API_KEYS: 'a,b' })).toMatchObject({ host: '0.0.0.0', apiKeys: ['a', 'b'] });
  });

  it('reports every bad variable at once, each with its name and value', () => {
    try {
      loadConfig({ PORT: 'eighty', WORKER_CONCURRENCY: '0', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      const paths = (err as ValidationError).details.map((d) => d.path);
      expect(paths).toEqual(['PORT', 'WORKER_CONCURRENCY', 'LOG_LEVEL']);
      expect((err as Error).message).toContain('"eighty"');
    }
  });

  it('refuses a job lock that does not outlast the request timeout', () => {
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '10000', WORKER_LOCK_MS: '10500' })).toThrow(/WORKER_LOCK_MS/);
  });

  it('refuses a non-loopback HOST without API_KEYS, and a retention shorter than the schedule', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST="0.0.0.0" without API_KEYS/);
    expect(loadConfig({ HOST: '127.0.0.2' }).host).toBe('127.0.0.2');
    expect(loadConfig({ HOST: '0.0.0.0', API_KEYS: 'k' }).host).toBe('0.0.0.0');
    expect(() => loadConfig({ HISTORY_RETENTION_DAYS: '0.001' })).toThrow(/HISTORY_RETENTION_DAYS/);
    expect(loadConfig({ HISTORY_RETENTION_DAYS: '0.001', RETRY_SCHEDULE: '0,1' }).historyRetentionDays).toBe(0.001);
  });

  it('treats an empty variable as unset, for every variable', () => {
    const empty = Object.fromEntries(VARIABLES.map((v) => [v.env, '']));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    expect(loadConfig({ RETRY_SCHEDULE: '', WORKER_CONCURRENCY: ' ' })).toMatchObject({ retryScheduleS: [0, 60, 90, 120, 150], workerConcurrency: 100 });
  });

  it('has the isolation and auto-disable defaults of SPEC', () => {
    expect(loadConfig({})).toMatchObject({ autoDisableFailures: 10, autoDisableWindowHours: 72, alertWebhookUrl: undefined });
  });

  it('documents every variable', () => {
    for (const v of VARIABLES) expect(v.description.length).toBeGreaterThan(10);
  });
});
