import { jobKeys } from '../redis/job-keys.js';
import { parentBatchId } from './batch-link.js';
import type { HistoryContext } from './history-context.js';
import { F } from './postback-record.js';

/** A position in the time index: a score and how many entries of that score were read. */
export interface IndexPosition {
  readonly score: number;
  readonly offset: number;
}

export interface OrphanPage {
  /** Pending (`queued` or `retrying`) postbacks with no job under any of the job key prefixes. */
  readonly orphans: readonly string[];
  /** Index entries read. */
  readonly scanned: number;
  /** Where the next page starts. */
  readonly next: IndexPosition;
  /** True when the page was short: nothing is left up to `maxScore`. */
  readonly done: boolean;
}

/**
 * Reads up to `limit` entries of the time index from `from` up to `maxScore` (oldest
 * first) and returns those whose record is still pending while no job holds it: one
 * ZRANGEBYSCORE, then one pipeline of `EXISTS <job key per queue>` + `HMGET status batch`
 * per entry, and for a batched postback whose own job is missing a second pipeline of
 * `EXISTS <own and batch job keys>` + `HMGET status batch`: with a retry batch, its
 * parent's key too (the parent names it in the records before it adds it, and ends
 * after), and a record that names another batch by then has moved on to it. Job first,
 * status second: a job that finished between the two has already written its final
 * status (workers record before BullMQ removes the job), or handed the postback to a job
 * of its own (seen by the same EXISTS), so it is never taken for an orphan; one EXISTS
 * over every queue's key sees a lane move (add to the slow lane, then remove from the fast
 * one) as a job in one of them. An entry whose record expired is skipped.
 */
export async function findOrphans(
  ctx: HistoryContext,
  jobKeyPrefixes: readonly string[],
  from: IndexPosition,
  maxScore: number,
  limit: number,
): Promise<OrphanPage> {
  const flat = await ctx.redis.zrangebyscore(ctx.keys.index, from.score, maxScore, 'WITHSCORES', 'LIMIT', from.offset, limit);
  if (flat.length === 0) return { orphans: [], scanned: 0, next: from, done: true };
  const ids: string[] = [];
  let next = from;
  for (let i = 0; i < flat.length; i += 2) {
    const id = flat[i] as string;
    const score = Number(flat[i + 1]);
    ids.push(id);
    next = score === next.score ? { score, offset: next.offset + 1 } : { score, offset: 1 };
  }
  const pipe = ctx.redis.pipeline();
  for (const id of ids) {
    pipe.exists(...jobKeys(jobKeyPrefixes, id));
    pipe.hmget(ctx.keys.record(id), F.status, F.batch);
  }
  const replies = (await pipe.exec()) ?? [];
  const orphans: string[] = [];
  const batched: { id: string; batch: string }[] = [];
  ids.forEach((id, i) => {
    const jobs = reply(replies[2 * i]);
    const [status, batch] = reply(replies[2 * i + 1]) as (string | null)[];
    if (Number(jobs) > 0 || !isPending(status)) return;
    if (typeof batch === 'string' && batch !== '') batched.push({ id, batch });
    else orphans.push(id);
  });
  if (batched.length > 0) {
    const again = ctx.redis.pipeline();
    for (const { id, batch } of batched) {
      // A retry batch is added after its items' records name it, by the batch job it came from.
      const parent = parentBatchId(batch);
      again.exists(...jobKeys(jobKeyPrefixes, id, batch, ...(parent === undefined ? [] : [parent])));
      again.hmget(ctx.keys.record(id), F.status, F.batch);
    }
    const more = (await again.exec()) ?? [];
    batched.forEach(({ id, batch }, i) => {
      const [status, nowBatch] = reply(more[2 * i + 1]) as (string | null)[];
      // A record that names another batch now went on to it between the two reads: it has a holder.
      if (Number(reply(more[2 * i])) === 0 && isPending(status) && nowBatch === batch) orphans.push(id);
    });
  }
  return { orphans, scanned: ids.length, next, done: ids.length < limit };
}

function isPending(status: unknown): boolean {
  return status === 'queued' || status === 'retrying';
}

/** A pipeline reply's value. A failed read is not an orphan: the run stops before its cursor passes this page. */
function reply(r: [Error | null, unknown] | undefined): unknown {
  const [err, value] = r ?? [new Error('no reply'), null];
  if (err) throw err;
  return value;
}
