import type { Redis } from 'ioredis';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import type { Lane } from '../health/health-state.js';
import { createRecords, deleteRecords, type NewRecord } from '../history/create-records.js';
import type { HistoryContext } from '../history/history-context.js';
import { guardRedis } from '../redis/guard-redis.js';
import type { DeliveryQueue } from './delivery-queue.js';
import { deliveryJob, type DeliveryJobSpec, type JobDefaults } from './delivery-job.js';

/** One postback about to be written: its record and job. */
export interface EnqueueItem {
  readonly id: string;
  /** Undefined when replaying a postback whose endpoint is gone (defaults apply). */
  readonly endpoint: CompiledEndpoint | undefined;
  readonly endpointId?: string;
  readonly request: RenderedRequest;
  readonly dedupeKey: string | undefined;
  readonly record: NewRecord['data'];
}

export interface EnqueueContext {
  readonly redis: Redis;
  readonly history: HistoryContext;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  readonly health: HealthBoard;
  readonly defaults: JobDefaults;
}

/**
 * Writes the postbacks' `queued` records (one MULTI), then their jobs (addBulk per lane).
 * All or nothing: when a step fails, the records and dedupe claims of postbacks whose job
 * Redis did not create are undone, and the error goes on (UnavailableError while Redis is
 * away). A timeout does not say whether addBulk ran: postbacks whose job exists keep their
 * record and claim. What an undo cannot delete, the workers' orphan reconciler settles.
 */
export async function enqueuePostbacks(ctx: EnqueueContext, items: readonly EnqueueItem[], now: number): Promise<void> {
  if (items.length === 0) return;
  const records: NewRecord[] = [];
  const jobs: Record<Lane, DeliveryJobSpec[]> = { fast: [], slow: [] };
  for (const item of items) {
    const ep = item.endpoint;
    const schedule = ep?.scheduleS ?? ctx.defaults.scheduleS;
    const delayMs = Math.round(((ep?.delayS ?? 0) + (schedule[0] ?? 0)) * 1000);
    records.push({
      id: item.id,
      data: item.record,
      replayRequest: item.record.request === item.request || ep === undefined ? undefined : ep.tokenizeRequest(item.request),
      nextAttemptMs: now + delayMs,
    });
    const job = deliveryJob({ postbackId: item.id, endpoint: ep, endpointId: item.endpointId, request: item.request, delayMs }, ctx.defaults, ctx.health);
    jobs[job.lane].push(job);
  }
  const tx = ctx.redis.multi();
  createRecords(ctx.history, tx, records);
  try {
    await guardRedis(async () => {
      // A MULTI reports a failed command in its results, not by rejecting: check them.
      const replies = await tx.exec();
      const failed = replies?.find(([err]) => err !== null);
      if (replies === null || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
    await guardRedis(() => Promise.all([addAll(ctx.queues.fast, jobs.fast), addAll(ctx.queues.slow, jobs.slow)]));
  } catch (err) {
    // If even the check fails (Redis away), take it as no job: undo all.
    const created = await existingJobs(ctx, records.map((r) => r.id)).catch(() => new Set<string>());
    const undoItems = items.filter((i) => !created.has(i.id));
    const undo = ctx.redis.multi();
    deleteRecords(ctx.history, undo, undoItems.map((i) => i.id));
    const claimed = undoItems.map((i) => i.dedupeKey).filter((k): k is string => k !== undefined);
    if (claimed.length > 0) undo.del(...claimed);
    // Best effort, the caller gets the original error either way: records an undo could not
    // delete stay `queued` without a job, and the workers' orphan reconciler re-enqueues them.
    await undo.exec().catch(() => undefined);
    throw err;
  }
}

async function addAll(queue: DeliveryQueue, jobs: readonly DeliveryJobSpec[]): Promise<void> {
  if (jobs.length > 0) await queue.addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts })));
}

/** The postbacks, of `ids`, that have a job in either lane. */
async function existingJobs(ctx: EnqueueContext, ids: readonly string[]): Promise<Set<string>> {
  const pipe = ctx.redis.pipeline();
  const { fast, slow } = ctx.queues;
  for (const id of ids) pipe.exists(`${fast.qualifiedName}:${id}`, `${slow.qualifiedName}:${id}`);
  const res = (await pipe.exec()) ?? [];
  return new Set(ids.filter((_, i) => Number(res[i]?.[1] ?? 0) > 0));
}
