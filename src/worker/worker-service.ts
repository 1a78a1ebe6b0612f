import type { Worker } from 'bullmq';
import type { Agent } from 'undici';
import { markFailedIfPending } from '../history/mark-failed.js';
import { trimIndex } from '../history/trim-index.js';
import type { DeliveryJobData } from '../queue/job-data.js';
import { createRedis } from '../redis/connection.js';
import type { Runtime } from '../runtime/runtime.js';
import { createDeliveryWorker } from './delivery-worker.js';
import { OriginLimiter } from './origin-limiter.js';

export interface WorkerService {
  readonly worker: Worker<DeliveryJobData>;
  readonly agent: Agent;
  /** Stops taking jobs; waits up to SHUTDOWN_TIMEOUT_MS for in-flight attempts. */
  close(): Promise<void>;
}

const REGISTRY_REFRESH_MS = 5_000;
const TRIM_EVERY_MS = 60_000;

export function startWorker(runtime: Runtime): WorkerService {
  const { config, logger } = runtime;
  const connection = createRedis(runtime.redisUrl, 'worker', 'worker');
  connection.on('error', (err: Error) => logger.debug({ err: err.message }, 'worker redis error'));
  const agent = runtime.deliveryAgent();
  const worker = createDeliveryWorker(
    {
      connection,
      keys: runtime.keys,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      stalledIntervalMs: config.workerStalledIntervalMs,
    },
    {
      registry: runtime.registry,
      history: runtime.history,
      dispatcher: agent,
      defaultScheduleS: config.retryScheduleS,
      maxAttemptMs: config.workerLockMs - 1000,
      logger,
      metrics: runtime.metrics,
      limiter: new OriginLimiter(config.perOriginConcurrency),
    },
  );
  worker.on('error', (err: Error) => logger.error({ err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    // The processor records its own outcomes. A job that BullMQ failed for good on its own
    // (stalled too often, an error before any attempt, a record that could not be written)
    // must not stay `queued` or `retrying` in history: mark it failed.
    if (!job?.id || job.finishedOn === undefined) return;
    if (err.name === 'UnrecoverableError') return;
    logger.error({ postbackId: job.id, err: err.message }, 'job failed outside an attempt');
    markFailedIfPending(runtime.history, job.id, 'other', Date.now()).catch(() => undefined);
  });

  const refresh = setInterval(() => {
    runtime.registry.refresh().catch(() => undefined);
  }, REGISTRY_REFRESH_MS);
  refresh.unref();
  const trim = setInterval(() => {
    trimIndex(runtime.history, Date.now()).catch(() => undefined);
  }, TRIM_EVERY_MS);
  trim.unref();

  logger.info({ concurrency: config.workerConcurrency, prefix: config.queuePrefix }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    worker,
    agent,
    close() {
      closing ??= (async () => {
        clearInterval(refresh);
        clearInterval(trim);
        const graceful = worker.close();
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), config.shutdownTimeoutMs).unref()),
        ]);
        if (timedOut) {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout: in-flight jobs return to the queue via the stalled check');
          await worker.close(true).catch(() => undefined);
        }
        connection.disconnect();
      })();
      return closing;
    },
  };
}
