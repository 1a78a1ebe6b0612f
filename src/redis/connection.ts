import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisAuth, RedisTopology } from './topology.js';

export type RedisRole = 'worker' | 'producer';

/**
 * A connection to Redis whatever the topology: a single node or a Sentinel-managed master
 * (`Redis`), or a Redis Cluster (`Cluster`, same command API; every multi-key call of the
 * dispatcher stays in one slot through the `{hash-tag}` QUEUE_PREFIX).
 */
export type RedisClient = Redis | Cluster;

/** How long a producer command may wait for Redis before the API answers 503. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 5000;

/** Reconnect delay: 200 ms more per attempt, at most 2 s. */
const reconnectDelay = (times: number): number => Math.min(200 * times, 2000);

/**
 * One factory for every connection, on every topology. Workers block and must retry forever
 * (`maxRetriesPerRequest: null`, as BullMQ requires); producers fail fast while Redis is
 * down (or failing over) so the API answers 503 instead of queueing work in process memory.
 */
export function createRedis(topology: RedisTopology, role: RedisRole, name: string): RedisClient {
  const options: RedisOptions = {
    connectionName: `postback:${name}`,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    // A producer must answer (503) rather than hang while Redis is unreachable; workers
    // issue blocking commands and must not time out.
    ...(role === 'producer' ? { commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS } : {}),
    retryStrategy: reconnectDelay,
    lazyConnect: false,
    // No auto-pipelining: measured, it raised delivery latency p99 at 2000/s from ~25 to
    // ~45 ms without raising throughput (bench/, docs/scaling.md).
  };
  switch (topology.kind) {
    case 'single':
      return new Redis(topology.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        ...topology.auth,
        sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
        name: topology.name,
        role: 'master',
        // Each reconnect asks the sentinels for the master afresh. (ioredis's failoverDetector
        // is left off: a +switch-master arriving while a connection is reconnecting ended
        // that connection for good, BullMQ's included, in the failover test.)
        sentinelRetryStrategy: reconnectDelay,
        // A master demoted under us answers writes with READONLY: reconnect (through the sentinels) and resend.
        reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
      });
    case 'cluster':
      return new Cluster(topology.nodes.map((n) => ({ host: n.host, port: n.port })), clusterOptions(options, topology.auth, role));
  }
}

/**
 * Cluster: node connections get the role's options. Workers ride out a failover: the client
 * queues their commands while it has no slot map, and a command to a failed master waits
 * `retryDelayOnFailover` and refreshes the slot map, up to `maxRedirections` times (~10 s:
 * cluster-node-timeout plus a replica's election). Producers fail at once, as on a single
 * node (503: the caller retries with the same event ids), rather than hold a request
 * through a failover; MOVED and ASK redirects are followed for both.
 */
function clusterOptions(redisOptions: RedisOptions, auth: RedisAuth, role: RedisRole): ClusterOptions {
  const rideOut = role === 'worker' ? CLUSTER_RETRY_MS : 0;
  // Per node, ioredis sets its own retryStrategy (none: a lost node is found again through
  // the slot map) and offline queue; lazyConnect is left to it (a set value would win).
  const { lazyConnect: _clusterDecides, ...nodeOptions } = redisOptions;
  return {
    redisOptions: { ...nodeOptions, ...auth },
    enableOfflineQueue: role === 'worker',
    clusterRetryStrategy: reconnectDelay,
    retryDelayOnFailover: rideOut,
    retryDelayOnClusterDown: rideOut,
    retryDelayOnTryAgain: CLUSTER_RETRY_MS,
    maxRedirections: 32,
    lazyConnect: false,
  };
}

/** A worker's wait between tries of a command while its slot's master fails over. */
const CLUSTER_RETRY_MS = 300;

/**
 * Resolves once the connection is ready, or rejects after `timeoutMs`. A Cluster is ready
 * once it has the slot map and a connection to every master: a producer's command to a
 * node still connecting is refused (no offline queue), so the first ones would fail.
 */
export async function waitReady(redis: RedisClient, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await readyEvent(redis, timeoutMs);
  if (redis instanceof Cluster) {
    // Each node connection queues its own commands until connected: a PING waits for it.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis Cluster masters not ready after ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([Promise.all(redis.nodes('master').map((node) => node.ping())), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readyEvent(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** How long closing a client waits for the replies it is owed before it drops them. */
const CLOSE_WAIT_MS = 1000;

/**
 * Closes a client after the replies it still waits for: QUIT goes behind them. A BullMQ
 * queue on a shared client that is still starting has its INFO in flight, and a hard
 * disconnect fails it after the queue's close() took its error listeners away: an
 * unhandled rejection (seen under load in the tests). With Redis away QUIT cannot be
 * answered: after CLOSE_WAIT_MS the connection is dropped.
 */
export async function closeClient(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    redis.quit().then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!answered) redis.disconnect();
}
