import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics, MetricsSnapshot } from '../metrics/metrics.js';
import type { RedisTopology } from '../redis/topology.js';
import { packageRoot } from '../runtime/package-root.js';

/** What the thread is started with (structured-cloned): the config, with Redis resolved, and the fast lane's load figures. */
export interface SlowLaneThreadData {
  readonly config: Config;
  readonly load: SharedArrayBuffer;
}

/** Thread to main thread. */
export type FromSlowLane = { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'metrics'; readonly id: number; readonly snapshot: MetricsSnapshot };
/** Main thread to thread. */
export type ToSlowLane = { readonly type: 'metrics'; readonly id: number } | { readonly type: 'close' };

const METRICS_TIMEOUT_MS = 2_000;
/** A thread that stopped (or could not start) is started again after this, doubling up to RESTART_MAX_MS while it keeps failing. */
const RESTART_DELAY_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** After the thread's own shutdown timeout (and its forced close), how long closing waits before it terminates the thread. */
const CLOSE_MARGIN_MS = 2_000;

export interface SlowLaneThreadOptions {
  readonly config: Config;
  /** The main thread's Redis: the thread connects to the same (an embedded server's URL included). */
  readonly topology: RedisTopology;
  readonly load: SharedArrayBuffer;
  readonly logger: Logger;
  /** The main thread's metrics: /metrics adds the thread's counters to them. */
  readonly metrics: Metrics;
  /** Whether to start the thread now: the slow lane has jobs, or the fast lane has nothing to do (asked every 250 ms until it starts). */
  readonly shouldStart: () => Promise<boolean>;
}

/** How often, until the thread starts, whether to start it is asked. */
const WORK_CHECK_MS = 250;

/**
 * The slow lane in a worker thread of its own (workers/slow-lane-thread): its event loop,
 * heap and garbage collection are apart from the API's and the fast lane's, and it runs at a
 * lower OS priority. It builds its own runtime (Redis connections, registry, health view)
 * and runs a worker service with the slow lane only; the main thread keeps the upkeep
 * (orphan scan, index trim). The thread starts once the slow lane has a job or the fast
 * lane has nothing to do (asked every 250 ms): its start (modules, compiling, Redis,
 * registry) then costs nobody and is over before endpoints go bad, rather than landing on
 * top of their first failures; a worker started into a backlog of healthy work drains it
 * first. Slow-lane jobs wait in their queue meanwhile, as they would for a worker process
 * still starting. A thread
 * that stops (or cannot start) is started again after a second, then later while it keeps
 * failing; its jobs come back through BullMQ's stalled check, as a dead process's do.
 */
export class SlowLaneThread {
  private readonly options: SlowLaneThreadOptions;
  private worker: Worker | undefined;
  private closing: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private workTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_DELAY_MS;
  private readonly waiting = new Map<number, (snapshot: MetricsSnapshot) => void>();
  private seq = 0;
  /** The running thread's last answer: served again when it does not answer in time. */
  private last: MetricsSnapshot = [];
  /** What threads that stopped had counted (their last answers): counters must not fall back when a thread is started again. */
  private retired: MetricsSnapshot[] = [];

  private constructor(options: SlowLaneThreadOptions) {
    this.options = options;
  }

  /** Starts the thread once `options.shouldStart` says so; /metrics of `options.metrics` adds its counters from then on. */
  static start(options: SlowLaneThreadOptions): SlowLaneThread {
    const thread = new SlowLaneThread(options);
    thread.startWhenNeeded();
    options.metrics.addSource(() => thread.metricsSnapshot());
    return thread;
  }

  private startWhenNeeded(): void {
    const look = (): void => {
      this.workTimer = undefined;
      if (this.closing !== undefined) return;
      this.options.shouldStart().then(
        (now) => {
          if (this.closing !== undefined) return;
          if (now) this.spawn();
          else this.workTimer = setTimeout(look, WORK_CHECK_MS);
        },
        // Redis away: look again later (the main thread's workers wait for it the same way).
        () => {
          if (this.closing === undefined) this.workTimer = setTimeout(look, WORK_CHECK_MS);
        },
      );
    };
    look();
  }

  /** The running thread's id (undefined until it first starts; a new one once it is started again), for logs and tests. */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  private spawn(): void {
    const { config, topology, load, logger } = this.options;
    const data: SlowLaneThreadData = {
      config: topology.kind === 'single' ? { ...config, redisUrl: topology.url, redisUrlDefaulted: false } : config,
      load,
    };
    const worker = new Worker(join(packageRoot(), 'dist', 'workers', 'slow-lane-thread.js'), { workerData: data });
    this.worker = worker;
    worker.on('message', (m: FromSlowLane) => {
      if (m.type === 'ready') this.restartDelayMs = RESTART_DELAY_MS;
      else if (m.type === 'failed') logger.error({ reason: m.message }, "slow lane's thread could not start");
      else if (m.type === 'metrics') {
        this.waiting.get(m.id)?.(m.snapshot);
        this.waiting.delete(m.id);
      }
    });
    worker.on('error', (err: Error) => logger.error({ err }, "slow lane's thread failed"));
    worker.once('exit', (code) => {
      for (const answer of this.waiting.values()) answer(this.last);
      this.waiting.clear();
      if (this.last.length > 0) this.retired.push(this.last);
      this.last = [];
      if (this.worker === worker) this.worker = undefined;
      if (this.closing !== undefined) return;
      const delayMs = this.restartDelayMs;
      this.restartDelayMs = Math.min(RESTART_MAX_MS, delayMs * 2);
      logger.error({ code, restartInMs: delayMs }, "slow lane's thread stopped: starting it again (its jobs come back through the stalled check)");
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.closing === undefined) this.spawn();
      }, delayMs);
    });
  }

  /**
   * The counters of this process's slow-lane threads for /metrics: the running one's (its
   * last answer when it does not answer in time) plus what those before it counted, so a
   * restart or a busy thread never shows as a counter reset.
   */
  async metricsSnapshot(): Promise<MetricsSnapshot> {
    const current = await this.ask();
    if (this.retired.length === 0) return current;
    if (this.retired.length > 1) this.retired = [await sum(this.retired)];
    return sum([...this.retired, current]);
  }

  private ask(): Promise<MetricsSnapshot> {
    const worker = this.worker;
    if (worker === undefined) return Promise.resolve(this.last);
    const id = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(this.last);
      }, METRICS_TIMEOUT_MS);
      this.waiting.set(id, (snapshot) => {
        clearTimeout(timer);
        if (this.worker === worker) this.last = snapshot;
        resolve(snapshot);
      });
      worker.postMessage({ type: 'metrics', id } satisfies ToSlowLane);
    });
  }

  /** Ends the thread at once, as a crash would (fault drills): it is started again, and its jobs come back through the stalled check. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  /** Stops the lane as a worker process stops (in-flight attempts finish within SHUTDOWN_TIMEOUT_MS), then the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.restartTimer);
      clearTimeout(this.workTimer);
      const worker = this.worker;
      if (worker === undefined) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies ToSlowLane);
      const limit = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), this.options.config.shutdownTimeoutMs + CLOSE_MARGIN_MS).unref());
      if (!(await Promise.race([exited.then(() => true), limit]))) {
        this.options.logger.warn("slow lane's thread did not stop in time: terminated (its jobs come back through the stalled check)");
        await worker.terminate();
      }
    })();
    return this.closing;
  }
}

/** Snapshots summed per metric and label set (counters and histograms: the thread's registry has no gauges). */
function sum(snapshots: readonly MetricsSnapshot[]): Promise<MetricsSnapshot> {
  return AggregatorRegistry.aggregate(snapshots.filter((x) => x.length > 0)).getMetricsAsJSON();
}
