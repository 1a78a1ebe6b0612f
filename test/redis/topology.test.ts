import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/schema.js';
import { describeTopology, redisTopologyOf } from '../../src/redis/topology.js';

describe('redisTopologyOf', () => {
  it('is the single node of REDIS_URL (or the URL given) without sentinels or cluster nodes', () => {
    const t = redisTopologyOf(loadConfig({ REDIS_URL: 'redis://:pw@r:6380' }), 'redis://:pw@r:6380');
    expect(t).toEqual({ kind: 'single', url: 'redis://:pw@r:6380' });
    expect(describeTopology(t)).toBe('redis://***@r:6380');
  });

  it('finds the master through the sentinels, with the user and password of REDIS_URL', () => {
    const config = loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'pbd', REDIS_URL: 'redis://app:p%40ss@ignored:6379' });
    const t = redisTopologyOf(config, 'unused');
    expect(t).toEqual({ kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'pbd', auth: { username: 'app', password: 'p@ss' } });
    expect(describeTopology(t)).toBe('master "pbd" through sentinels s1:26379,s2:26379');
  });

  it('is the cluster of REDIS_CLUSTER_NODES, no credentials when REDIS_URL is unset', () => {
    const t = redisTopologyOf(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', QUEUE_PREFIX: '{postback}' }), 'unused');
    expect(t).toEqual({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }], auth: {} });
    expect(describeTopology(t)).toBe('cluster nodes n1:7000');
  });
});
