import type { Agent } from 'undici';
import { createDeliveryAgent } from '../delivery/agent.js';
import { parseCidrs } from '../delivery/target-guard.js';
import { existsSync } from 'node:fs';
import { redactUrl } from '../config/redact-url.js';
import { DEFAULT_REDIS_URL, type Config } from '../config/schema.js';
import { readEndpointsFile } from '../endpoints/load-file.js';
import { EndpointRegistry } from '../endpoints/registry.js';
import { FINAL_GRACE_MS, type HistoryContext } from '../history/history-context.js';
import type { HistoryStore } from '../history/history-store.js';
import { PostgresHistoryStore } from '../history/postgres/postgres-history-store.js';
import { createPgPool } from '../history/postgres/pg-pool.js';
import { schemaNameFor } from '../history/postgres/schema.js';
import { RedisHistoryStore } from '../history/redis-history-store.js';
import type { Logger } from '../logging/logger.js';
import { HealthBoard } from '../health/health-board.js';
import { AuditLog } from '../audit/audit-log.js';
import { PublisherKeys } from '../keys/publisher-keys.js';
import { healthPolicy, type HealthPolicy } from '../health/health-policy.js';
import type { Lane } from '../health/health-state.js';
import { Metrics } from '../metrics/metrics.js';
import { createDeliveryQueue, type DeliveryQueue } from '../queue/delivery-queue.js';
import { Producer } from '../queue/producer.js';
import { ShardRouter, type Shard } from '../queue/shard.js';
import { DrainedDedupe } from '../queue/drained-dedupe.js';
import { shardPrefixes } from '../redis/shards.js';
import { closeClient, createRedis, waitReady, type RedisClient } from '../redis/connection.js';
import { RedisKeys } from '../redis/keys.js';
import { describeTopology, redisTopologyOf, type RedisTopology } from '../redis/topology.js';
import { NO_REDIS_MESSAGE, RedisNotFoundError, canConnect, findOnPath, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';

const DAY_MS = 86_400_000;
const DEFAULT_ENDPOINTS_FILE = 'config/endpoints.json';

/**
 * What every process (API, worker, CLI command) shares: config, logger, Redis, the
 * endpoint registry, history context, queue and producer. Built once, closed once.
 */
export class Runtime {
  readonly config: Config;
  readonly logger: Logger;
  /** Where Redis is (one node, Sentinel or Cluster): every connection of the process is made from it. */
  readonly redisTopology: RedisTopology;
  readonly keys: RedisKeys;
  readonly redis: RedisClient;
  readonly registry: EndpointRegistry;
  /**
   * The live records (Redis): pending postbacks' state, and the history itself without
   * HISTORY_URL. With QUEUE_SHARDS > 1, the first shard's (each shard has its own: `shards`).
   */
  readonly history: HistoryContext;
  /** The shards of QUEUE_SHARDS and which one an endpoint's postbacks go to. One: this.history and this.queues. */
  readonly shards: ShardRouter;
  /** Every shard that may hold postbacks: QUEUE_SHARDS's, then those of DRAIN_QUEUE_SHARDS not among them. */
  readonly allShards: readonly Shard[];
  /** Where history is read: RedisClient, or PostgreSQL with HISTORY_URL. */
  readonly historyStore: HistoryStore;
  /** The fast lane's queue (healthy endpoints); the first shard's with QUEUE_SHARDS > 1. */
  readonly queue: DeliveryQueue;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  readonly health: HealthBoard;
  readonly publisherKeys: PublisherKeys;
  readonly audit: AuditLog;
  readonly healthPolicy: HealthPolicy;
  readonly producer: Producer;
  readonly metrics: Metrics;
  private readonly embedded: EmbeddedRedis | undefined;
  private agent: Agent | undefined;
  private readonly closers: (() => Promise<void>)[] = [];

  private constructor(config: Config, logger: Logger, topology: RedisTopology, embedded: EmbeddedRedis | undefined, processMetrics: boolean) {
    this.config = config;
    this.logger = logger;
    this.redisTopology = topology;
    this.embedded = embedded;
    this.keys = new RedisKeys(config.queuePrefix);
    this.redis = createRedis(topology, 'producer', 'main');
    // Emitted on every reconnect attempt while Redis is away (commands then fail, and say so): debug only.
    this.redis.on('error', (err: Error) => logger.debug({ err }, 'redis connection error'));
    this.registry = new EndpointRegistry(
      this.redis,
      this.keys,
      { requestTimeoutMs: config.requestTimeoutMs, retryScheduleS: config.retryScheduleS },
      { onBroken: (endpointId, err) => logger.error({ endpointId, err }, 'stored endpoint does not compile: it routes nothing until fixed (PUT or DELETE it)') },
    );
    const retentionMs = Math.round(config.historyRetentionDays * DAY_MS);
    const shardOf = (keys: RedisKeys): Shard => {
      const queues = { fast: createDeliveryQueue(this.redis, keys, 'fast'), slow: createDeliveryQueue(this.redis, keys, 'slow') };
      for (const q of Object.values(queues)) q.on('error', (err: Error) => logger.debug({ err }, 'queue error'));
      const history: HistoryContext = {
        redis: this.redis,
        keys,
        retentionMs,
        outbox: config.historyUrl === undefined ? undefined : { key: keys.outbox, max: config.historyOutboxMax, finalGraceMs: FINAL_GRACE_MS },
      };
      return { prefix: keys.prefix, keys, history, queues };
    };
    // One shard keeps today's key names exactly: the plain prefix, the same RedisKeys.
    const current = shardPrefixes(config.queuePrefix, config.queueShards).map((p) => shardOf(p === this.keys.prefix ? this.keys : new RedisKeys(p)));
    const draining: Shard[] = [];
    const seen = new Set(current.map((s) => s.prefix));
    for (const count of config.drainQueueShards) {
      for (const p of shardPrefixes(config.queuePrefix, count)) {
        if (seen.has(p)) continue;
        seen.add(p);
        draining.push(shardOf(p === this.keys.prefix ? this.keys : new RedisKeys(p)));
      }
    }
    this.shards = new ShardRouter(current);
    this.allShards = [...current, ...draining];
    const first = current[0]!;
    this.history = first.history;
    const histories = this.allShards.map((s) => s.history);
    this.historyStore =
      config.historyUrl === undefined
        ? new RedisHistoryStore(histories)
        : new PostgresHistoryStore(
            histories,
            createPgPool(config.historyUrl, (err) => logger.debug({ err }, 'postgres connection error')),
            schemaNameFor(config.queuePrefix),
          );
    this.queue = first.queues.fast;
    this.queues = first.queues;
    this.health = new HealthBoard(this.redis, this.keys);
    this.publisherKeys = new PublisherKeys(this.redis, this.keys);
    this.audit = new AuditLog(this.redis, this.keys);
    this.healthPolicy = healthPolicy(config);
    this.metrics = new Metrics(processMetrics);
    this.producer = new Producer({
      redis: this.redis,
      keys: this.keys,
      shards: this.shards,
      health: this.health,
      registry: this.registry,
      drainedDedupe: config.drainQueueShards.length === 0 ? undefined : new DrainedDedupe(config.queuePrefix, config.drainQueueShards),
      defaultScheduleS: config.retryScheduleS,
      defaultTimeoutMs: config.requestTimeoutMs,
      dedupeTtlMs: Math.round(config.dedupeTtlDays * DAY_MS),
      batchSize: config.batchSize,
      metrics: this.metrics,
    });
  }

  /**
   * Resolves Redis (starting an embedded one when allowed: only for the single-node default,
   * REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES all unset), connects, and returns the runtime.
   * `processMetrics: false`: no process metrics (CPU, heap, event loop) in this runtime's
   * registry: the slow lane's thread, whose counters the main thread's /metrics adds to its own.
   */
  static async create(config: Config, logger: Logger, options: { allowEmbedded?: boolean; env?: NodeJS.ProcessEnv; processMetrics?: boolean } = {}): Promise<Runtime> {
    let url = config.redisUrl ?? DEFAULT_REDIS_URL;
    let embedded: EmbeddedRedis | undefined;
    if (config.redisUrlDefaulted && !(await canConnect('127.0.0.1', 6379))) {
      const binary = options.allowEmbedded ? findOnPath('redis-server', (options.env ?? process.env).PATH) : undefined;
      if (binary === undefined) throw new RedisNotFoundError(NO_REDIS_MESSAGE);
      embedded = await startEmbeddedRedis(binary, config.redisDataDir, 6379);
      url = embedded.url;
      logger.warn({ dataDir: config.redisDataDir }, 'no Redis at 127.0.0.1:6379: started an embedded redis-server (AOF on); set REDIS_URL to use your own');
    }
    const topology = redisTopologyOf(config, url);
    const runtime = new Runtime(config, logger, topology, embedded, options.processMetrics ?? true);
    try {
      await waitReady(runtime.redis, 10_000);
    } catch {
      await runtime.close();
      const fix = topology.kind === 'single' ? 'set REDIS_URL, start Redis, or run `docker compose up`' : `check ${topology.kind === 'sentinel' ? 'REDIS_SENTINELS and REDIS_SENTINEL_NAME' : 'REDIS_CLUSTER_NODES'}`;
      throw new RedisNotFoundError(`cannot reach Redis (${describeTopology(topology)}): ${fix}`);
    }
    const store = runtime.historyStore;
    if (store instanceof PostgresHistoryStore) {
      // PostgreSQL away at start does not stop deliveries: reads answer 503 and the outbox
      // waits until the schema can be made.
      await store.ensureSchema().catch((err: unknown) => logger.warn({ err, url: redactUrl(config.historyUrl ?? '') }, 'PostgreSQL history not reachable at start: history reads answer 503 until it is'));
    }
    return runtime;
  }

  /** Upserts POSTBACK_ENDPOINTS (or config/endpoints.json when present). Throws listing every error. */
  async loadEndpointsFile(): Promise<number> {
    const path = this.config.endpointsFile ?? (existsSync(DEFAULT_ENDPOINTS_FILE) ? DEFAULT_ENDPOINTS_FILE : undefined);
    if (path === undefined) {
      await this.registry.refresh(true);
      return 0;
    }
    const defs = await readEndpointsFile(path, { requestTimeoutMs: this.config.requestTimeoutMs, retryScheduleS: this.config.retryScheduleS });
    await this.registry.upsert(defs);
    this.logger.info({ path, count: defs.length }, 'endpoints loaded');
    return defs.length;
  }

  /** The process's one delivery Agent (worker attempts and endpoint tests), created on first use. */
  deliveryAgent(): Agent {
    this.agent ??= createDeliveryAgent({
      policy: { allowPrivate: this.config.allowPrivateTargets, allowed: parseCidrs(this.config.allowedTargetCidrs) },
      connectTimeoutMs: Math.min(this.config.requestTimeoutMs, 10_000),
      // The slow lane may hold this many requests to one origin (its adaptive limiter decides).
      connectionsPerOrigin: Math.max(this.config.perOriginConcurrency, this.config.slowLaneOriginMax),
    });
    return this.agent;
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    // Shutdown is best effort: a closer, queue or agent that fails to close (Redis already
    // gone, say) must not keep the others open or the process from exiting.
    for (const fn of this.closers.reverse()) await fn().catch(() => undefined);
    this.health.stop();
    // A queue closed before its init finished: BullMQ reports the init's failure (the
    // connection closed under it) as an 'error' after close() removed every listener, an
    // unhandled rejection. Let the inits settle first, briefly (Redis away: they fail fast).
    const queues = this.allShards.flatMap((s) => Object.values(s.queues));
    await Promise.race([Promise.allSettled(queues.map((q) => q.waitUntilReady())), new Promise((r) => setTimeout(r, QUEUE_INIT_WAIT_MS).unref())]);
    for (const q of queues) await q.close().catch(() => undefined);
    // close() waits for requests in flight, and one to a black hole lasts its whole timeout:
    // give them a moment, then drop them (their postbacks are retried from their records).
    const agent = this.agent;
    if (agent !== undefined) {
      const closed = agent.close().then(
        () => true,
        () => true,
      );
      const inTime = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), AGENT_CLOSE_MS).unref())]);
      if (!inTime) await agent.destroy().catch(() => undefined);
    }
    await this.historyStore.close().catch(() => undefined);
    await closeClient(this.redis);
    await this.embedded?.stop();
  }
}

/** How long closing waits for the queues' connection checks to settle. */
const QUEUE_INIT_WAIT_MS = 1000;
/** How long closing waits for delivery requests in flight before dropping them. */
const AGENT_CLOSE_MS = 2000;
