import type { JobType } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../api/server.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { MetricsServer } from '../metrics/metrics-server.js';
import { startWorkerMetrics } from '../process/worker-metrics.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { DEFAULT_GOVERNOR } from '../worker/lane-governor.js';
import { SharedLoadWriter, createLoadBuffer } from '../worker/lane-load.js';
import { consumedShards, startWorker, type WorkerService } from '../worker/worker-service.js';
import { SlowLaneThread } from './slow-lane-thread.js';
import { Runtime } from '../runtime/runtime.js';

export interface Served {
  readonly runtime: Runtime;
  readonly api: FastifyInstance | undefined;
  readonly worker: WorkerService | undefined;
  /** The slow lane's thread (SLOW_LANE_THREAD, the default, with a worker in the process). */
  readonly slowLane: SlowLaneThread | undefined;
  /** The API's bound address, e.g. http://127.0.0.1:8080. */
  readonly address: string | undefined;
  /** A worker-only process's metrics server address (METRICS_PORT set), e.g. http://127.0.0.1:9464. */
  readonly metricsAddress: string | undefined;
  stop(): Promise<void>;
}

/**
 * Runs the API, a worker, or both in this process: resolve Redis, load the endpoints file,
 * then listen / take jobs. A worker runs the fast lane here and, with SLOW_LANE_THREAD (the
 * default), the slow lane in a thread of its own, paced by this thread's figures (see
 * slow-lane-thread); /metrics adds that thread's counters to this one's. A worker-only process with METRICS_PORT serves /metrics there
 * (started before the worker, so a taken port fails the start); with the API in the process
 * its /metrics covers the worker and METRICS_PORT is not used. `stop` closes in order: API
 * (no new events), worker (in-flight attempts finish within SHUTDOWN_TIMEOUT_MS), the
 * metrics server, then Redis. The slow lane's thread stops with the worker, in parallel.
 */
export async function serve(config: Config, logger: Logger, roles: { api: boolean; worker: boolean }): Promise<Served> {
  const runtime = await Runtime.create(config, logger, { allowEmbedded: true });
  try {
    await runtime.loadEndpointsFile();
  } catch (err) {
    await runtime.close();
    throw err;
  }
  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    if (roles.api) {
      logger.info({ metricsPort: config.metricsPort }, 'METRICS_PORT is not used with the API in this process: its /metrics covers the worker');
    } else if (roles.worker) {
      try {
        metricsServer = await startWorkerMetrics(runtime, config.metricsPort);
      } catch (err) {
        await runtime.close();
        throw err;
      }
    }
  }
  let worker: WorkerService | undefined;
  let slowLane: SlowLaneThread | undefined;
  let loadWriter: SharedLoadWriter | undefined;
  if (roles.worker && config.slowLaneThread) {
    // The fast lane here, the slow lane in a thread of its own, paced by this thread's figures.
    const load = createLoadBuffer();
    loadWriter = new SharedLoadWriter(load, DEFAULT_GOVERNOR.fastLagMs, DEFAULT_GOVERNOR.tickMs);
    worker = startWorker(runtime, { lanes: ['fast'], fastLag: loadWriter });
    const shards = consumedShards(runtime);
    const anyJobs = async (queues: readonly DeliveryQueue[], ...states: JobType[]): Promise<boolean> =>
      (await Promise.all(queues.map((q) => q.getJobCountByTypes(...states)))).some((n) => n > 0);
    // The slow lane has jobs (active ones count: those of a worker that died come back only
    // through the stalled check of a worker on that queue), or the fast lane has nothing to
    // do now (delayed jobs are not work yet).
    const shouldStart = async (): Promise<boolean> =>
      (await anyJobs(shards.map((s) => s.queues.slow), 'active', 'waiting', 'delayed', 'prioritized', 'paused')) ||
      !(await anyJobs(shards.map((s) => s.queues.fast), 'active', 'waiting', 'prioritized'));
    slowLane = SlowLaneThread.start({ config, topology: runtime.redisTopology, load, logger, metrics: runtime.metrics, shouldStart });
  } else if (roles.worker) {
    worker = startWorker(runtime);
  }
  let api: FastifyInstance | undefined;
  let address: string | undefined;
  if (roles.api) {
    api = buildApi(runtime);
    address = await api.listen({ port: config.port, host: config.host });
    if (config.apiKeys.length === 0) {
      logger.warn({ host: config.host }, 'API_KEYS is unset: the API needs no key and listens on loopback only');
    }
    logger.info({ address }, 'API listening');
  }
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    api,
    worker,
    slowLane,
    address,
    metricsAddress: metricsServer?.address,
    stop() {
      stopping ??= (async () => {
        await api?.close();
        await Promise.all([worker?.close(), slowLane?.close()]);
        loadWriter?.close();
        await metricsServer?.close();
        await runtime.close();
      })();
      return stopping;
    },
  };
}

/** SIGTERM / SIGINT: stop gracefully once; a second signal exits at once. */
export function stopOnSignals(served: Served, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info({ signal }, 'shutting down');
    served.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
