import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { jobKeys } from '../redis/job-keys.js';
import type { HistoryContext } from './history-context.js';
import { F, decodeStaticRequest, type PostbackStatus } from './postback-record.js';

/** What a batch's worker needs of a postback's record before its first attempt. */
export interface PendingRecord {
  readonly status: PostbackStatus;
  /** Attempts recorded. */
  readonly count: number;
  /** When the next attempt is due (retrying). */
  readonly nextMs: number | undefined;
  /** The request as recorded, read only when asked for. */
  readonly request: RenderedRequest | undefined;
  /** Whether a job of its own holds the postback (under one of the given key prefixes). */
  readonly ownJob: boolean;
  /** The batch job the record names (its first attempt's, or the one holding its next attempt). */
  readonly batch: string | undefined;
}

/**
 * One pipeline for a batch's records: `HMGET status count next batch [static]` each, preceded,
 * when `jobKeyPrefixes` is given (a batch run again), by `EXISTS` of a job of its own.
 * Undefined for a record that is gone (expired, or deleted by an undone enqueue).
 */
export async function readBatchRecords(
  ctx: HistoryContext,
  items: readonly { readonly postbackId: string; readonly needRequest: boolean }[],
  jobKeyPrefixes: readonly string[] | undefined,
): Promise<(PendingRecord | undefined)[]> {
  const pipe = ctx.redis.pipeline();
  for (const { postbackId, needRequest } of items) {
    const key = ctx.keys.record(postbackId);
    // Job first, status second (as in find-orphans): a job of its own that finished in
    // between has already written its final status, so it is never taken for undone work.
    if (jobKeyPrefixes !== undefined) pipe.exists(...jobKeys(jobKeyPrefixes, postbackId));
    if (needRequest) pipe.hmget(key, F.status, F.count, F.next, F.batch, F.static);
    else pipe.hmget(key, F.status, F.count, F.next, F.batch);
  }
  const replies = (await pipe.exec()) ?? [];
  const step = jobKeyPrefixes === undefined ? 1 : 2;
  return items.map((item, i) => {
    const [err, fields] = replies[i * step + step - 1] ?? [new Error('no reply'), null];
    if (err) throw err;
    const [status, count, next, batch, d] = fields as (string | null)[];
    if (status === null || status === undefined) return undefined;
    let ownJob = false;
    if (step === 2) {
      const [existsErr, n] = replies[i * step] ?? [new Error('no reply'), null];
      if (existsErr) throw existsErr;
      ownJob = Number(n) > 0;
    }
    return {
      status: status as PostbackStatus,
      count: Number(count ?? '0'),
      nextMs: next === null || next === undefined || next === '' ? undefined : Number(next),
      request: item.needRequest && typeof d === 'string' ? decodeStaticRequest(d) : undefined,
      ownJob,
      batch: batch === null || batch === undefined || batch === '' ? undefined : batch,
    };
  });
}
