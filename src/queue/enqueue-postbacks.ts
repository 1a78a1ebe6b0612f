import type { RedisClient } from '../redis/connection.js';
import type { CompiledEndpoint } from '../endpoints/compile-endpoint.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HealthBoard } from '../health/health-board.js';
import { subjectOf, type Lane } from '../health/health-state.js';
import { createRecords, deleteRecords, type NewRecord } from '../history/create-records.js';
import type { HistoryContext } from '../history/history-context.js';
import { guardRedis } from '../redis/guard-redis.js';
import { jobKeys } from '../redis/job-keys.js';
import { laneJobPrefixes, type DeliveryQueue } from './delivery-queue.js';
import { batchJob, deliveryJob, jobPolicy, type BatchMember, type DeliveryJobSpec, type JobDefaults } from './delivery-job.js';
import type { PolicyData } from './job-data.js';
import type { Shard } from './shard.js';

/** One postback about to be written: its record and job. */
export interface EnqueueItem {
  readonly id: string;
  /** Its endpoint's shard: the context it is enqueued with must be this shard's. */
  readonly shard: Shard;
  /** Undefined when replaying a postback whose endpoint is gone (defaults apply). */
  readonly endpoint: CompiledEndpoint | undefined;
  readonly endpointId?: string;
  readonly request: RenderedRequest;
  readonly dedupeKey: string | undefined;
  /** Ordered endpoints: the chain the postback joins at its end (RedisKeys.chain). */
  readonly chainKey?: string | undefined;
  readonly record: NewRecord['data'];
}

export interface EnqueueContext {
  readonly redis: RedisClient;
  readonly history: HistoryContext;
  readonly queues: Readonly<Record<Lane, DeliveryQueue>>;
  readonly health: HealthBoard;
  readonly defaults: JobDefaults;
  /** Most postbacks per batch job; 1 turns batching off. */
  readonly batchSize: number;
}

/**
 * Writes the postbacks' `queued` records (one script call), then their jobs (addBulk per
 * lane, both at once). The first attempts of a call's postbacks due at the same time go as
 * batch jobs of up to `batchSize` per lane (see planJobs); the rest (a lone postback, an
 * ordered endpoint's in the slow lane, a delay of their own) as one job each.
 * All or nothing: when a step fails, the records and dedupe claims of postbacks whose job
 * Redis did not create are undone, and the error goes on (UnavailableError while Redis is
 * away). A lane whose addBulk answered is never undone (its jobs may already have run and
 * be gone); for the other, a timeout does not say whether addBulk ran: postbacks whose job
 * exists keep their record and claim. What an undo cannot delete, the workers' orphan
 * reconciler settles.
 */
export async function enqueuePostbacks(ctx: EnqueueContext, items: readonly EnqueueItem[], now: number): Promise<void> {
  if (items.length === 0) return;
  const plan = planJobs(ctx, items, now);
  const added = new Set<Lane>();
  try {
    const behind = await guardRedis(() => createRecords(ctx.history, plan.records));
    await guardRedis(() =>
      Promise.all(
        LANES.map(async (lane) => {
          await addAll(ctx.queues[lane], plan.jobs[lane].map((job) => turnKnown(job, behind)));
          added.add(lane);
        }),
      ),
    );
  } catch (err) {
    const unsure = plan.records.filter((_, i) => !added.has(plan.lanes[i]!));
    // If even the check fails (Redis away), take it as no job: undo all of those.
    const created = await existingJobs(ctx, unsure).catch(() => new Set<string>());
    const undoIds = new Set(unsure.filter((r) => !created.has(r.id)).map((r) => r.id));
    const undoItems = items.filter((i) => undoIds.has(i.id));
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

const LANES: readonly Lane[] = ['fast', 'slow'];

interface JobPlan {
  /** The postbacks' records, in the call's order (an ordering chain is joined in it). */
  readonly records: readonly NewRecord[];
  /** Each record's first lane, by its index in `records`. */
  readonly lanes: readonly Lane[];
  readonly jobs: Readonly<Record<Lane, DeliveryJobSpec[]>>;
}

/**
 * Each postback's record, and the jobs carrying them: batches where they may share one.
 * First attempts due together share a batch job per lane: in the fast lane those of
 * healthy endpoints, in the slow lane those of degraded or open ones whose order does not
 * matter (an ordered endpoint's postbacks there stay jobs of their own, which take their
 * turn themselves).
 */
function planJobs(ctx: EnqueueContext, items: readonly EnqueueItem[], now: number): JobPlan {
  const jobs: Record<Lane, DeliveryJobSpec[]> = { fast: [], slow: [] };
  const batchIds = new Map<string, string>();
  /** Batchable postbacks by lane and the delay of their first attempt. */
  const groups = new Map<string, { lane: Lane; delayMs: number; members: { item: EnqueueItem; member: BatchMember }[] }>();
  const policies = new Map<object | string, PolicyData>();
  const delays: number[] = [];
  /** Each postback's first lane, by its index in `items`. */
  const lanes: Lane[] = [];
  const batching = ctx.batchSize > 1 && items.length > 1;
  for (const item of items) {
    const ep = item.endpoint;
    const schedule = ep?.scheduleS ?? ctx.defaults.scheduleS;
    const delayMs = Math.round(((ep?.delayS ?? 0) + (schedule[0] ?? 0)) * 1000);
    delays.push(delayMs);
    const key = ep ?? item.endpointId ?? 'inline';
    let policy = policies.get(key);
    if (policy === undefined) policies.set(key, (policy = jobPolicy(ep, item.endpointId, ctx.defaults)));
    const lane = ctx.health.laneOf(subjectOf(policy.ep, item.request.url));
    lanes.push(lane);
    if (batching && (lane === 'fast' || policy.oc === undefined)) {
      const member: BatchMember = { postbackId: item.id, policy, request: sameRequest(item.record.request, item.request) ? undefined : item.request };
      const groupKey = `${lane}:${delayMs}`;
      const group = groups.get(groupKey);
      if (group === undefined) groups.set(groupKey, { lane, delayMs, members: [{ item, member }] });
      else group.members.push({ item, member });
    } else {
      const job = deliveryJob({ postbackId: item.id, endpoint: ep, endpointId: item.endpointId, request: item.request, delayMs }, ctx.defaults, ctx.health);
      jobs[job.lane].push(job);
    }
  }
  for (const { lane, delayMs, members } of groups.values()) {
    for (let i = 0; i < members.length; i += ctx.batchSize) {
      const chunk = members.slice(i, i + ctx.batchSize);
      if (chunk.length === 1) {
        const { item } = chunk[0]!;
        const job = deliveryJob({ postbackId: item.id, endpoint: item.endpoint, endpointId: item.endpointId, request: item.request, delayMs }, ctx.defaults, ctx.health);
        jobs[job.lane].push(job);
        continue;
      }
      const job = batchJob(chunk.map((c) => c.member), delayMs, lane);
      jobs[lane].push(job);
      for (const { item } of chunk) batchIds.set(item.id, job.opts.jobId!);
    }
  }
  const records: NewRecord[] = items.map((item, i) => {
    const ep = item.endpoint;
    return {
      id: item.id,
      data: item.record,
      replayRequest: item.record.request === item.request || ep === undefined ? undefined : ep.tokenizeRequest(item.request),
      nextAttemptMs: now + delays[i]!,
      batchJobId: batchIds.get(item.id),
      chainKey: item.chainKey,
    };
  });
  return { records, lanes, jobs };
}

/**
 * An ordered postback that joined its chain at the head has its key's turn until it is
 * final: its job (or a batch none of whose postbacks joined behind another) need not ask
 * for it before the first attempt, which saves that worker a round trip.
 */
function turnKnown(job: DeliveryJobSpec, behind: ReadonlySet<string>): DeliveryJobSpec {
  const data = job.data;
  if (data.v === 2) {
    if (data.oc === undefined || behind.has(job.opts.jobId!)) return job;
    const { oc: _, ...rest } = data;
    return { ...job, data: rest };
  }
  if (!data.p.some((p) => p.oc !== undefined) || data.i.some(([id]) => behind.has(id))) return job;
  return { ...job, data: { ...data, p: data.p.map(({ oc: _, ...rest }) => rest) } };
}

/** Whether the record's copy of the request is the request sent (nothing was masked). */
function sameRequest(a: RenderedRequest, b: RenderedRequest): boolean {
  if (a === b) return true;
  if (a.url !== b.url || a.method !== b.method || a.body !== b.body) return false;
  const ka = Object.keys(a.headers);
  if (ka.length !== Object.keys(b.headers).length) return false;
  return ka.every((k) => a.headers[k] === b.headers[k]);
}

async function addAll(queue: DeliveryQueue, jobs: readonly DeliveryJobSpec[]): Promise<void> {
  if (jobs.length > 0) await queue.addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts })));
}

/** The postbacks, of `records`, whose job (their own, or their batch's) exists in either lane. */
async function existingJobs(ctx: EnqueueContext, records: readonly NewRecord[]): Promise<Set<string>> {
  const pipe = ctx.redis.pipeline();
  const prefixes = laneJobPrefixes(ctx.queues);
  for (const r of records) pipe.exists(...jobKeys(prefixes, r.batchJobId ?? r.id));
  const res = (await pipe.exec()) ?? [];
  return new Set(records.filter((_, i) => Number(res[i]?.[1] ?? 0) > 0).map((r) => r.id));
}
