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

  describe('Redis topology: REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_CLUSTER_NODES', () => {
    const errorOf = (env: Record<string, string>): ValidationError => {
      try {
        loadConfig(env);
      } catch (err) {
        if (err instanceof ValidationError) return err;
        throw err;
      }
      return expect.unreachable('no ValidationError');
    };

    it('parses sentinels and cluster nodes as host:port lists (IPv6 in brackets); neither allows an embedded Redis', () => {
      const sentinel = loadConfig({ REDIS_SENTINELS: 's1:26379, 10.0.0.2:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster' });
      expect(sentinel).toMatchObject({
        redisSentinels: [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }, { host: '::1', port: 26381 }],
        redisSentinelName: 'mymaster',
        redisClusterNodes: undefined,
        redisUrlDefaulted: false,
      });
      const cluster = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001', QUEUE_PREFIX: '{postback}' });
      expect(cluster).toMatchObject({ redisClusterNodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], redisSentinels: undefined, redisUrlDefaulted: false });
      expect(loadConfig({})).toMatchObject({ redisSentinels: undefined, redisSentinelName: undefined, redisClusterNodes: undefined, redisUrlDefaulted: true });
    });

    it.each<[string, Record<string, string>, string, RegExp]>([
      ['an entry without a port', { REDIS_SENTINELS: 's1:26379,s2', REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINELS', /REDIS_SENTINELS="s1:26379,s2": entry "s2" must be host:port/],
      ['a port out of range', { REDIS_CLUSTER_NODES: 'n1:70000', QUEUE_PREFIX: '{p}' }, 'REDIS_CLUSTER_NODES', /REDIS_CLUSTER_NODES="n1:70000": entry "n1:70000" must be host:port \(port 1-65535\)/],
      ['only commas', { REDIS_CLUSTER_NODES: ' , ', QUEUE_PREFIX: '{p}' }, 'REDIS_CLUSTER_NODES', /REDIS_CLUSTER_NODES=" , ": must be host:port/],
      ['sentinels without a master name', { REDIS_SENTINELS: 's1:26379' }, 'REDIS_SENTINEL_NAME', /REDIS_SENTINELS="s1:26379" needs REDIS_SENTINEL_NAME/],
      ['a master name without sentinels', { REDIS_SENTINEL_NAME: 'mymaster' }, 'REDIS_SENTINEL_NAME', /REDIS_SENTINEL_NAME="mymaster" is used only with REDIS_SENTINELS/],
      ['sentinels and cluster nodes both', { REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'n1:7000', QUEUE_PREFIX: '{p}' }, 'REDIS_CLUSTER_NODES', /REDIS_SENTINELS="s1:26379" and REDIS_CLUSTER_NODES="n1:7000" are exclusive/],
      ['a cluster with the default prefix', { REDIS_CLUSTER_NODES: 'n1:7000' }, 'QUEUE_PREFIX', /QUEUE_PREFIX="postback" with REDIS_CLUSTER_NODES="n1:7000": must hold a \{hash-tag\}/],
      ['a cluster with an empty hash tag', { REDIS_CLUSTER_NODES: 'n1:7000', QUEUE_PREFIX: '{}postback' }, 'QUEUE_PREFIX', /QUEUE_PREFIX="\{\}postback"/],
      ['a cluster with an unclosed brace', { REDIS_CLUSTER_NODES: 'n1:7000', QUEUE_PREFIX: '{postback' }, 'QUEUE_PREFIX', /QUEUE_PREFIX="\{postback"/],
    ])('refuses %s, naming the variable and its value', (_name, env, path, message) => {
      const err = errorOf(env);
      expect(err.details.map((d) => d.path)).toEqual([path]);
      expect(err.message).toMatch(message);
    });

    it('takes any prefix holding a hash tag on a cluster', () => {
      for (const prefix of ['{postback}', 'pbd{postback}', '{postback}:v2']) {
        expect(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', QUEUE_PREFIX: prefix }).queuePrefix).toBe(prefix);
      }
    });
  });

  it('documents every variable', () => {
    for (const v of VARIABLES) expect(v.description.length).toBeGreaterThan(10);
  });
});
