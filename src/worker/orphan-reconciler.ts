import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { EndpointRegistry } from '../endpoints/registry.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { ValidationError } from '../errors/base-error.js';
import type { HealthBoard } from '../health/health-board.js';
import type { Lane } from '../health/health-state.js';
import { findOrphans, type IndexPosition } from '../history/find-orphans.js';
import { F } from '../history/postback-record.js';
import { getRecord, getReplayRequest } from '../history/get-record.js';
import type { HistoryContext } from '../history/history-context.js';
import { markFailedIfPending } from '../history/mark-failed.js';
import type { PostbackRecord } from '../history/postback-record.js';
import { indexScore } from '../history/query-postbacks.js';
import type { Logger } from '../logging/logger.js';
import { laneJobPrefixes, type DeliveryQueue } from '../queue/delivery-queue.js';
import { deliveryJob } from '../queue/delivery-job.js';
import { jobKeys } from '../redis/job-keys.js';
import { isRedisUnavailable } from '../redis/redis-unavailable.js';
import { OrphanScanState } from './orphan-scan-state.js';

/** How long a pending record may be without a job before it counts as orphaned. */
export const ORPHAN_GRACE_MS = 120_000;
/** How far behind the grace edge a scan may start (first run, or after every worker was down). */
export const ORPHAN_LOOKBACK_MS = 3_600_000;
/** How often each worker tries a run (one run at a time across workers). */
export const ORPHAN_INTERVAL_MS = 15_000;
/** Index entries per page: one ZRANGEBYSCORE and one pipeline of 2 commands per entry. */
export const ORPHAN_PAGE_SIZE = 500;
/** Pages per run at most; a run also stops after half the lock's TTL. */
export const ORPHAN_MAX_PAGES = 100;
/** The run lock's TTL: it lapses when the worker holding it dies. */
const LOCK_TTL_MS = 60_000;
/** The error class of a postback the reconciler could not send again. */
export const ORPHANED = 'orphaned';

export interface OrphanReconcilerDeps {
  readonly history: HistoryContext;
  readonly registry: EndpointRegistry;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  /** For the lane of a re-enqueued postback. */
  readonly health: HealthBoard;
  readonly logger: Logger;
}

export interface OrphanReconcilerOptions {
  /** @defaultValue {@link ORPHAN_GRACE_MS} */
  readonly graceMs?: number | undefined;
  /** @defaultValue {@link ORPHAN_LOOKBACK_MS} */
  readonly lookbackMs?: number | undefined;
  /** @defaultValue {@link ORPHAN_INTERVAL_MS} */
  readonly intervalMs?: number | undefined;
  /** @defaultValue {@link ORPHAN_PAGE_SIZE} */
  readonly pageSize?: number | undefined;
  /** @defaultValue {@link ORPHAN_MAX_PAGES} */
  readonly maxPages?: number | undefined;
}

export interface ReconcileResult {
  /** False when another worker's run held the lock (or this reconciler is stopped). */
  readonly ran: boolean;
  /** Index entries read. */
  readonly scanned: number;
  /** Orphans given a job again, under their own postback id. */
  readonly requeued: readonly string[];
  /** Orphans that could not be sent again: marked `failed` with error class `orphaned`. */
  readonly failed: readonly string[];
}

type Settled = 'requeued' | 'failed' | 'skipped';

/**
 * Finds postbacks whose record is pending (`queued` or `retrying`) while no job in either
 * lane holds them, and gives them a job again. The producer writes records (and dedupe
 * claims) before it adds jobs; a crash in between leaves a `queued` record that nothing
 * will ever send, whose dedupe claim turns the network's own retry of the event into a
 * `duplicate`. So the network was told (or will be told) the event is being delivered:
 * the at-least-once promise is kept by **re-enqueueing under the same postback id** (the
 * record, its attempts and the dedupe claim stay the postback's; a retrying one goes on
 * with the attempts it made), not by marking it failed, which would lose a postback the
 * network cannot send again. The request is the recorded one, secrets restored from the
 * endpoint as replay does; the policy (timeout, schedule, success rule, signing) is the
 * endpoint's current one. Only what cannot be sent faithfully is marked `failed` with error
 * class `orphaned`: an endpoint that is gone (deleted, or an inline target, whose
 * definition is not stored) or no longer has the secrets the request needs, and a
 * schedule already used up.
 *
 * Cheap: the time index is read forwards from a position shared through Redis, over
 * [now - grace - lookback, now - grace], a page at a time (one ZRANGEBYSCORE, then one
 * pipeline of EXISTS over both lanes' job keys + HGET status per entry); each record is
 * looked at once, when it passes the grace. Safe with many workers: one run at a time
 * (a `SET NX PX` lock), an add under an existing job id is a no-op, and marking failed is a
 * script that changes only a record still pending (and should a live producer's own add
 * come after ours, it is the no-op). Index scores are the producers' clocks and the window
 * the worker's: skew between them moves a record's check earlier or later by as much.
 * Records past the grace whose job disappears later (operator deletes, Redis losing
 * writes) are not scanned again.
 */
export class OrphanReconciler {
  private readonly deps: OrphanReconcilerDeps;
  private readonly state: OrphanScanState;
  private readonly jobKeyPrefixes: readonly string[];
  private readonly graceMs: number;
  private readonly lookbackMs: number;
  private readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopped = false;

  constructor(deps: OrphanReconcilerDeps, options: OrphanReconcilerOptions = {}) {
    this.deps = deps;
    this.state = new OrphanScanState(deps.history.redis, deps.history.keys);
    this.jobKeyPrefixes = laneJobPrefixes(deps.queues);
    this.graceMs = options.graceMs ?? ORPHAN_GRACE_MS;
    this.lookbackMs = options.lookbackMs ?? ORPHAN_LOOKBACK_MS;
    this.intervalMs = options.intervalMs ?? ORPHAN_INTERVAL_MS;
    this.pageSize = options.pageSize ?? ORPHAN_PAGE_SIZE;
    this.maxPages = options.maxPages ?? ORPHAN_MAX_PAGES;
    for (const [name, v] of Object.entries({ graceMs: this.graceMs, lookbackMs: this.lookbackMs, intervalMs: this.intervalMs, pageSize: this.pageSize, maxPages: this.maxPages })) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`OrphanReconciler ${name} must be a positive integer, got ${v}`);
    }
  }

  /** Runs every interval (unref'd) until `stop`; a run still going when the next is due is not doubled. */
  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => {
      this.current ??= this.reconcileOnce(Date.now())
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'orphan reconcile failed'))
        .finally(() => {
          this.current = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the interval; a run in progress ends after its current page. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** One run at `nowMs`: the window's upper end is `nowMs - grace`. Does nothing while another run holds the lock. */
  async reconcileOnce(nowMs: number): Promise<ReconcileResult> {
    const requeued: string[] = [];
    const failed: string[] = [];
    let scanned = 0;
    if (this.stopped || !(await this.state.tryLock(LOCK_TTL_MS))) return { ran: false, scanned, requeued, failed };
    const started = Date.now();
    try {
      const bottom = indexScore(nowMs - this.graceMs - this.lookbackMs, 0);
      const top = indexScore(nowMs - this.graceMs, 999);
      const saved = await this.state.readPosition();
      if (saved !== undefined && saved.score < bottom) {
        this.deps.logger.warn({ fromMs: Math.floor(saved.score / 1000), toMs: Math.floor(bottom / 1000) }, 'orphan scan fell behind its lookback: older records not checked');
      }
      let position: IndexPosition = saved === undefined || saved.score < bottom ? { score: bottom, offset: 0 } : saved;
      let registryFresh = false;
      for (let page = 0; page < this.maxPages && !this.stopped; page++) {
        const found = await findOrphans(this.deps.history, this.jobKeyPrefixes, position, top, this.pageSize);
        scanned += found.scanned;
        if (found.orphans.length > 0 && !registryFresh) {
          await this.deps.registry.refresh();
          registryFresh = true;
        }
        for (const id of found.orphans) {
          const outcome = await this.settle(id);
          if (outcome === 'requeued') requeued.push(id);
          else if (outcome === 'failed') failed.push(id);
        }
        position = found.next;
        await this.state.savePosition(position, this.lookbackMs + this.graceMs);
        if (found.done || Date.now() - started > LOCK_TTL_MS / 2) break;
      }
    } finally {
      await this.state.unlock();
    }
    return { ran: true, scanned, requeued, failed };
  }

  /**
   * The pending postbacks of a batch that BullMQ failed for good (stalled or failed too
   * often, or unreadable): each that no job holds is settled now as an orphan would be (a
   * job of its own, or failed), rather than waiting for a scan that may have passed them.
   * A postback whose record names another batch job (a retry batch it went on to) that
   * exists is held by that one. Returns how many were re-enqueued.
   */
  async settleBatch(postbackIds: readonly string[], batchId: string): Promise<number> {
    const { redis } = this.deps.history;
    let requeued = 0;
    for (const id of postbackIds) {
      const next = await redis.hget(this.deps.history.keys.record(id), F.batch);
      const jobIds = next !== null && next !== '' && next !== batchId ? [id, next] : [id];
      const held = await redis.exists(...jobKeys(this.jobKeyPrefixes, ...jobIds));
      if (held === 0 && (await this.settle(id)) === 'requeued') requeued++;
    }
    return requeued;
  }

  /**
   * Re-enqueues one orphan, or marks it failed when it cannot be sent as recorded. Redis
   * being away stops the run (the position stays before this page: the next run retries
   * it); anything else (a damaged record) is logged and the scan goes on.
   */
  private async settle(postbackId: string): Promise<Settled> {
    const { history, logger } = this.deps;
    try {
      const record = await getRecord(history, postbackId);
      if (record === undefined || (record.status !== 'queued' && record.status !== 'retrying')) return 'skipped';
      const endpoint = this.deps.registry.find(record.endpoint_id);
      const request = endpoint === undefined ? undefined : await this.restoredRequest(endpoint, postbackId);
      const made = record.attempts.reduce((n, a) => Math.max(n, a.n), 0);
      const fields = { postbackId, endpointId: record.endpoint_id, status: record.status, attempts: made };
      if (endpoint !== undefined && request !== undefined && made < endpoint.scheduleS.length) {
        await this.enqueue(endpoint, record, request, made);
        logger.warn(fields, 'orphaned postback re-enqueued');
        return 'requeued';
      }
      const reason = endpoint === undefined ? 'endpoint_unknown' : request === undefined ? 'secrets_unavailable' : 'schedule_used';
      if (!(await markFailedIfPending(history, postbackId, ORPHANED, Date.now()))) return 'skipped';
      logger.warn({ ...fields, reason }, 'orphaned postback marked failed');
      return 'failed';
    } catch (err) {
      if (isRedisUnavailable(err)) throw err;
      logger.error({ err, postbackId }, 'orphaned postback not settled');
      return 'skipped';
    }
  }

  /** The recorded request with the endpoint's current secrets, or undefined when they are gone. */
  private async restoredRequest(endpoint: CompiledEndpoint, postbackId: string): Promise<RenderedRequest | undefined> {
    const recorded = await getReplayRequest(this.deps.history, postbackId);
    if (recorded === undefined) return undefined;
    try {
      return endpoint.masker.restoreRequest(recorded);
    } catch (err) {
      if (err instanceof ValidationError) return undefined;
      throw err;
    }
  }

  /**
   * The job the producer would have added (the same `deliveryJob`), carrying the attempts
   * already made so numbering and schedule go on; due at the record's next attempt time
   * (which honours `delay_s`), or now.
   */
  private async enqueue(endpoint: CompiledEndpoint, record: PostbackRecord, request: RenderedRequest, made: number): Promise<void> {
    const delayMs = Math.max(0, (record.next_attempt_ms ?? 0) - Date.now());
    const job = deliveryJob(
      { postbackId: record.id, endpoint, request, delayMs, attemptsMade: made },
      { scheduleS: endpoint.scheduleS, timeoutMs: endpoint.timeoutMs },
      this.deps.health,
    );
    await this.deps.queues[job.lane].add(job.name, job.data, job.opts);
  }
}
