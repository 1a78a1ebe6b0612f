import type { HistoryContext } from './history-context.js';
import { F, decodeStaticRequest, recordFromHash, type PostbackRecord } from './postback-record.js';
import type { RenderedRequest } from '../endpoints/rendered-request.js';

export async function getRecord(ctx: HistoryContext, postbackId: string): Promise<PostbackRecord | undefined> {
  const hash = await ctx.redis.hgetall(ctx.keys.record(postbackId));
  return recordFromHash(postbackId, hash);
}

/**
 * The request to send again on replay: the tokenized one when the original held secrets
 * (restore them with the endpoint's `restoreRequest`), else the recorded one.
 */
export async function getReplayRequest(ctx: HistoryContext, postbackId: string): Promise<RenderedRequest | undefined> {
  const [real, data] = await ctx.redis.hmget(ctx.keys.record(postbackId), F.replayRequest, F.static);
  if (real) return JSON.parse(real) as RenderedRequest;
  if (!data) return undefined;
  return decodeStaticRequest(data);
}

/** Each id's live status; ids without a live record are left out. */
export async function getStatuses(ctx: HistoryContext, postbackIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (postbackIds.length === 0) return out;
  const pipe = ctx.redis.pipeline();
  for (const id of postbackIds) pipe.hget(ctx.keys.record(id), F.status);
  const replies = (await pipe.exec()) ?? [];
  postbackIds.forEach((id, i) => {
    const [err, s] = replies[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    if (typeof s === 'string') out.set(id, s);
  });
  return out;
}
