import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import type { Dispatcher } from 'undici';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { HealthBoard } from '../health/health-board.js';
import type { HealthPolicy } from '../health/health-policy.js';
import type { HealthReporter } from '../health/health-reporter.js';
import type { Lane } from '../health/health-state.js';
import type { HistoryContext } from '../history/history-context.js';
import type { AttemptWriter } from '../history/record-attempt.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { DeliveryJobData } from '../queue/job-data.js';
import type { RedisKeys } from '../redis/keys.js';
import type { AdaptiveLimiter } from './adaptive-limiter.js';
import type { LaneGovernor } from './lane-governor.js';
import type { FastLagObserver } from './lane-load.js';

/** What a lane's processors (lone jobs and batches) work with. */
export interface ProcessorDeps {
  readonly lane: Lane;
  readonly registry: EndpointRegistry;
  readonly history: HistoryContext;
  readonly dispatcher: Dispatcher;
  readonly defaultScheduleS: readonly number[];
  /** Attempts are cut off this long before the job lock would lapse. */
  readonly maxAttemptMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** This lane's per-origin limiter. */
  readonly limiter: AdaptiveLimiter;
  readonly board: HealthBoard;
  readonly reporter: HealthReporter;
  readonly policy: HealthPolicy;
  /** For the probe lock. */
  readonly redis: RedisClient;
  /** Both lanes' queues: a batch's items that retry or move become jobs of their own. */
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  /** Records attempts, coalescing those of one event-loop turn into a pipeline (one per process). */
  readonly writer: AttemptWriter;
  readonly keys: RedisKeys;
  /** Slow lane: paces it so the fast lane keeps this process's CPU (one per process). */
  readonly governor?: LaneGovernor;
  /** Fast lane: where it reports how late its first attempts start (the governor's figures). */
  readonly fastLag?: FastLagObserver;
  /**
   * Fast lane: hands a job (with the attempts it made) to the slow lane. Moves go one way
   * only: a job moved back and forth by two workers whose views differ could find its id
   * still held by the other lane, and be dropped.
   */
  readonly toSlowLane?: (job: Job<DeliveryJobData>, attemptsMade: number, totalAttempts: number) => Promise<void>;
}

