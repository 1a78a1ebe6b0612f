/**
 * The slow lane's thread (started by process/slow-lane-thread with `postback start` and
 * `postback worker`): a runtime of its own and a worker service with the slow lane only,
 * paced by the fast lane's figures the main thread shares. Answers metrics requests; on
 * "close" stops as a worker process does, then lets the thread end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../src/logging/logger.js';
import type { FromSlowLane, SlowLaneThreadData, ToSlowLane } from '../src/process/slow-lane-thread.js';
import { lowerThreadPriority } from '../src/process/thread-priority.js';
import { Runtime } from '../src/runtime/runtime.js';
import { SharedLoadReader } from '../src/worker/lane-load.js';
import { startWorker } from '../src/worker/worker-service.js';

/** Below the main thread's: under load the API and the fast lane get the CPU first. */
const SLOW_LANE_NICE = 10;

const port = parentPort!;
const post = (m: FromSlowLane): void => port.postMessage(m);
const { config, load } = workerData as SlowLaneThreadData;
const logger = createLogger(config.logLevel).child({ thread: 'slow-lane' });
const prioritised = lowerThreadPriority(SLOW_LANE_NICE);

let runtime: Runtime | undefined;
try {
  runtime = await Runtime.create(config, logger, { processMetrics: false });
  await runtime.registry.refresh(true); // the main thread loaded the endpoints file into Redis
  const service = startWorker(runtime, { lanes: ['slow'], load: new SharedLoadReader(load), upkeep: false });
  const rt = runtime;
  port.on('message', (m: ToSlowLane) => {
    if (m.type === 'metrics') {
      rt.metrics.registry.getMetricsAsJSON().then(
        (snapshot) => post({ type: 'metrics', id: m.id, snapshot }),
        () => post({ type: 'metrics', id: m.id, snapshot: [] }),
      );
    } else if (m.type === 'close') {
      void service
        .close()
        .catch((err: unknown) => logger.error({ err }, 'slow lane shutdown failed'))
        .finally(() => rt.close().finally(() => port.close()));
    }
  });
  logger.info({ nice: prioritised ? SLOW_LANE_NICE : undefined }, "slow lane's thread started");
  post({ type: 'ready' });
} catch (err) {
  await runtime?.close().catch(() => undefined);
  post({ type: 'failed', message: (err as Error).message });
  port.close();
}
