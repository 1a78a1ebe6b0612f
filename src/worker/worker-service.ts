import type { Job, Worker } from 'bullmq';
import type { Agent } from 'undici';
import { HealthReporter, type Transition } from '../health/health-reporter.js';
import type { Lane } from '../health/health-state.js';
import { markFailedIfPending } from '../history/mark-failed.js';
import { AttemptWriter } from '../history/record-attempt.js';
import { wakeForTurn } from './ordering-turn.js';
import { startPostgresHistoryJobs } from '../history/postgres/history-jobs.js';
import { PostgresHistoryStore } from '../history/postgres/postgres-history-store.js';
import { trimIndex } from '../history/trim-index.js';
import { BATCH_JOB_NAME, batchPostbackIds, type QueueJobData } from '../queue/job-data.js';
import { closeClient, createRedis } from '../redis/connection.js';
import { AdaptiveLimiter } from './adaptive-limiter.js';
import { AlertSender } from './alert-sender.js';
import { createDeliveryWorker } from './delivery-worker.js';
import type { Shard } from '../queue/shard.js';
import { createLaneMover } from './lane-mover.js';
import type { WorkerContext } from './worker-context.js';
import { DEFAULT_GOVERNOR, LaneGovernor, type GovernorOptions } from './lane-governor.js';
import { LocalLoad, type FastLagObserver, type LoadSource } from './lane-load.js';
import { OrphanReconciler } from './orphan-reconciler.js';

export interface WorkerService {
  /** The first shard's lanes (the only ones with QUEUE_SHARDS=1) this service runs. */
  readonly workers: Readonly<Partial<Record<Lane, Worker<QueueJobData>>>>;
  /** Every shard this process consumes (WORKER_SHARDS, plus DRAIN_QUEUE_SHARDS's), with its lanes' workers. */
  readonly shards: readonly { readonly shard: Shard; readonly workers: Readonly<Partial<Record<Lane, Worker<QueueJobData>>>> }[];
  readonly reporter: HealthReporter;
  readonly agent: Agent;
  /** Stops taking jobs; waits up to SHUTDOWN_TIMEOUT_MS for in-flight attempts. */
  close(): Promise<void>;
}

const LANES: readonly Lane[] = ['fast', 'slow'];
const REGISTRY_REFRESH_MS = 5_000;
const TRIM_EVERY_MS = 60_000;
/** How often each worker folds what it saw into the shared health state. */
const HEALTH_FLUSH_MS = 200;
/** The fast lane starts an origin it does not know at this many attempts in flight. */
const FAST_INITIAL_PER_ORIGIN = 2;
const SLOW_INITIAL_PER_ORIGIN = 8;
/** How long closing waits for the workers' connections to finish starting. */
const WORKER_INIT_WAIT_MS = 2000;
/** After the shutdown timeout, how long a forced close may take before the process goes on. */
const FORCED_CLOSE_MS = 1000;

export interface WorkerOptions {
  /** The lanes this service takes jobs from (both by default). */
  readonly lanes?: readonly Lane[];
  /** The fast lane's figures for the slow lane's governor (a slow lane in a thread of its own: SharedLoadReader); by default this thread's own. */
  readonly load?: LoadSource;
  /** Where the fast lane reports its lateness (the fast lane beside a slow lane's thread: SharedLoadWriter); by default this thread's own figures. */
  readonly fastLag?: FastLagObserver;
  /**
   * Whether this service also does the process's upkeep: the orphan scan, trimming the
   * history index, the PostgreSQL history jobs (default true; a second service in the same
   * process, the slow lane's thread, leaves them to the first).
   */
  readonly upkeep?: boolean;
  /** The slow lane's governor, tuned (DEFAULT_GOVERNOR by default): for tests and experiments. */
  readonly governor?: Partial<GovernorOptions>;
}

/**
 * A worker process's delivery side: two lanes (BullMQ workers on two queues) sharing one
 * Agent, one health reporter and one view of the health states (or one lane, when the other
 * runs in a thread of its own: see process/slow-lane-thread).
 * - fast: WORKER_CONCURRENCY slots for healthy endpoints, PER_ORIGIN_CONCURRENCY at most
 *   per origin (adaptive below it); anything degraded, open or over its limit moves on.
 * - slow: SLOW_LANE_CONCURRENCY slots (in-flight requests are cheap), SLOW_LANE_ORIGIN_MAX
 *   per origin (adaptive below it); circuit breaking happens here.
 */
export function startWorker(runtime: WorkerContext, options: WorkerOptions = {}): WorkerService {
  const { config, logger } = runtime;
  const lanes = new Set(options.lanes ?? LANES);
  const upkeep = options.upkeep ?? true;
  const connection = createRedis(runtime.redisTopology, 'worker', 'worker');
  // Debug: ioredis reconnects by itself, and a Redis outage would otherwise log every retry.
  const onRedisError = (err: Error): void => logger.debug({ err }, 'worker redis error');
  connection.on('error', onRedisError);
  const agent = runtime.deliveryAgent();
  const board = runtime.health;
  const reporter = new HealthReporter(runtime.redis, runtime.keys, runtime.healthPolicy, board);
  const alerts =
    config.alertWebhookUrl === undefined
      ? undefined
      : new AlertSender({ url: config.alertWebhookUrl, secret: config.alertWebhookSecret, redis: runtime.redis, keys: runtime.keys, logger });
  reporter.onTransition((t: Transition) => {
    const fields = { endpointId: t.subject, from: t.from, to: t.to, consecutiveFailures: t.consecutiveFailures };
    if (t.to === 'healthy') logger.info(fields, 'endpoint recovered');
    else logger.warn(fields, 'endpoint health changed');
    alerts?.notify(t);
  });

  // The slow lane's governor paces by the fast lane's figures: this thread's own when both
  // lanes are here, else what the caller shares across threads.
  const local = (lanes.has('fast') && options.fastLag === undefined) || (lanes.has('slow') && options.load === undefined) ? new LocalLoad(DEFAULT_GOVERNOR.fastLagMs) : undefined;
  const fastLag = lanes.has('fast') ? (options.fastLag ?? local) : undefined;
  const governor = lanes.has('slow') ? new LaneGovernor({ ...DEFAULT_GOVERNOR, ...options.governor }, (options.load ?? local)!) : undefined;
  const fastMax = config.perOriginConcurrency;
  const slowMax = config.slowLaneOriginMax;
  // Per lane, one limiter for every shard: per-origin limits hold per process, whatever the shard.
  const fastLimiter = new AdaptiveLimiter({ initial: Math.min(FAST_INITIAL_PER_ORIGIN, fastMax), min: 1, max: fastMax });
  const slowLimiter = new AdaptiveLimiter({ initial: Math.min(SLOW_INITIAL_PER_ORIGIN, slowMax), min: 1, max: slowMax });
  const base = { connection, lockMs: config.workerLockMs, stalledIntervalMs: config.workerStalledIntervalMs };
  const consumed = consumedShards(runtime);
  const parts = consumed.map((shard) => {
    const common = {
      registry: runtime.registry,
      history: shard.history,
      dispatcher: agent,
      defaultScheduleS: config.retryScheduleS,
      maxAttemptMs: config.workerLockMs - 1000,
      logger,
      metrics: runtime.metrics,
      board,
      reporter,
      policy: runtime.healthPolicy,
      redis: runtime.redis,
      keys: runtime.keys,
      queues: shard.queues,
      writer: new AttemptWriter(shard.history, {
        // The attempt that made a postback final hands its ordering key's turn on: wake the next.
        onTurn: (postbackId: string) =>
          void wakeForTurn(shard.queues, postbackId).catch((err: unknown) => logger.debug({ postbackId, err }, 'could not wake the next postback of an ordering key: it looks again by itself')),
      }),
    };
    const workers: Partial<Record<Lane, Worker<QueueJobData>>> = {};
    if (lanes.has('fast')) {
      workers.fast = createDeliveryWorker(
        { ...base, keys: shard.keys, concurrency: config.workerConcurrency },
        { ...common, lane: 'fast', limiter: fastLimiter, fastLag, toSlowLane: createLaneMover(shard.queues.slow) },
      );
    }
    if (lanes.has('slow')) {
      workers.slow = createDeliveryWorker({ ...base, keys: shard.keys, concurrency: config.slowLaneConcurrency }, { ...common, lane: 'slow', limiter: slowLimiter, governor });
    }
    const orphans = new OrphanReconciler({ history: shard.history, registry: runtime.registry, queues: shard.queues, health: board, logger });
    const onFailed = (job: Job<QueueJobData> | undefined, err: Error): void => {
      // The processor records its own outcomes. A job that BullMQ failed for good on its own
      // (stalled too often, an error before any attempt, a record that could not be written)
      // must not stay `queued` or `retrying` in history: mark it failed.
      if (!job?.id || job.finishedOn === undefined) return;
      if (job.name === BATCH_JOB_NAME) {
        // Its pending postbacks get jobs of their own now (at-least-once): the orphan scan may
        // have passed their records while the batch still existed.
        const ids = batchPostbackIds(job.data);
        logger.error({ batchId: job.id, postbacks: ids.length, err }, 'batch job failed for good: its pending postbacks are sent as jobs of their own');
        orphans
          .settleBatch(ids, job.id)
          .catch((e: unknown) => logger.error({ batchId: job.id, err: e }, 'could not settle a failed batch: the orphan scan will, once Redis answers'));
        return;
      }
      if (err.name === 'UnrecoverableError') return;
      logger.error({ postbackId: job.id, err }, 'job failed outside an attempt');
      markFailedIfPending(shard.history, job.id, 'other', Date.now()).catch((e: unknown) =>
        logger.error({ postbackId: job.id, err: e }, 'could not mark a failed job failed in history'),
      );
    };
    for (const w of lanesOf(workers)) {
      w.on('error', (err: Error) => logger.error({ err }, 'worker error'));
      w.on('failed', onFailed);
    }
    return { shard, workers, orphans };
  });
  const allWorkers = parts.flatMap((p) => lanesOf(p.workers));
  // Take jobs only once the health states are known: a new worker must not send to an
  // endpoint whose circuit other workers opened.
  const onRunError = (err: unknown): void => logger.error({ err }, 'worker stopped on an error');
  void board
    .refresh()
    .catch((err: unknown) => logger.warn({ err }, 'health states not read at start'))
    .finally(() => {
      for (const w of allWorkers) if (!w.closing) w.run().catch(onRunError);
    });
  board.start((err) => logger.warn({ err }, 'health states refresh failed'));
  reporter.start(HEALTH_FLUSH_MS, (err) => logger.warn({ err }, 'health flush failed'));

  const refresh = setInterval(() => {
    runtime.registry.refresh().catch((err: unknown) => logger.warn({ err }, 'endpoint registry refresh failed'));
  }, REGISTRY_REFRESH_MS);
  refresh.unref();
  const trim = setInterval(() => {
    if (!upkeep) return;
    for (const { shard } of parts) trimIndex(shard.history, Date.now()).catch((err: unknown) => logger.warn({ err }, 'history index trim failed'));
  }, TRIM_EVERY_MS);
  trim.unref();
  if (upkeep) for (const p of parts) p.orphans.start();
  const historyJobs =
    upkeep && runtime.historyStore instanceof PostgresHistoryStore
      ? startPostgresHistoryJobs(runtime.historyStore, parts.map((p) => p.shard.history), logger)
      : undefined;

  logger.info(
    { lanes: [...lanes], concurrency: config.workerConcurrency, slowLaneConcurrency: config.slowLaneConcurrency, prefix: config.queuePrefix, shards: consumed.map((s) => s.prefix) },
    'worker started',
  );

  let closing: Promise<void> | undefined;
  return {
    workers: parts[0]!.workers,
    shards: parts.map(({ shard, workers }) => ({ shard, workers })),
    reporter,
    agent,
    close() {
      closing ??= (async () => {
        clearInterval(refresh);
        clearInterval(trim);
        await Promise.all(parts.map((p) => p.orphans.stop()));
        // Slow-lane jobs waiting for the governor go back to the queue rather than start now.
        governor?.close();
        if (governor === undefined) local?.close();
        const all = allWorkers;
        // A worker closed while its blocking connection still starts fails that start after
        // close() took its error listeners away: an unhandled rejection (BullMQ 5). Let the
        // starts settle first, briefly (Redis away: they would wait for it, so not long).
        await Promise.race([Promise.allSettled(all.map((w) => w.waitUntilReady())), new Promise((r) => setTimeout(r, WORKER_INIT_WAIT_MS).unref())]);
        const graceful = Promise.all(all.map((w) => w.close()));
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), config.shutdownTimeoutMs).unref()),
        ]);
        if (timedOut) {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: in-flight jobs return to the queue via the stalled check');
          // Forced close after the timeout: their jobs return through the stalled check whatever
          // happens here. BullMQ's close(true) after a close() hands back that first close, which
          // waits on Redis: with Redis gone it never settles, so do not wait past FORCED_CLOSE_MS.
          const forced = Promise.all(all.map((w) => w.close(true).catch(() => undefined)));
          await Promise.race([forced, new Promise((r) => setTimeout(r, FORCED_CLOSE_MS).unref())]);
        }
        await reporter.stop().catch((err: unknown) => logger.warn({ err }, 'last health flush failed'));
        // After the workers: their last outcomes are in the outbox, and go out in this last flush.
        await historyJobs?.stop();
        await alerts?.close();
        await closeClient(connection);
      })();
      return closing;
    },
  };
}

/** The lanes' workers a service runs, fast first. */
function lanesOf(workers: Partial<Record<Lane, Worker<QueueJobData>>>): Worker<QueueJobData>[] {
  return LANES.flatMap((lane) => workers[lane] ?? []);
}

/**
 * The shards a worker process consumes: WORKER_SHARDS of the current layout (all when
 * unset), then every shard of DRAIN_QUEUE_SHARDS's layouts that is not current.
 */
export function consumedShards(runtime: Pick<WorkerContext, 'config' | 'shards' | 'allShards'>): Shard[] {
  const current = runtime.shards.shards;
  const picked = runtime.config.workerShards === undefined ? [...current] : runtime.config.workerShards.map((i) => current[i]!);
  return [...picked, ...runtime.allShards.slice(current.length)];
}
