import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { getRecord, getReplayRequest, getStatuses } from './get-record.js';
import type { HistoryContext } from './history-context.js';
import type { HistoryStore } from './history-store.js';
import type { PostbackRecord } from './postback-record.js';
import { queryPostbacks, type PostbackFilter, type PostbackPage } from './query-postbacks.js';

/** History kept in Redis: the live records are the history (a laptop, a QA run). */
export class RedisHistoryStore implements HistoryStore {
  readonly kind = 'redis';
  private readonly ctx: HistoryContext;

  constructor(ctx: HistoryContext) {
    this.ctx = ctx;
  }

  getRecord(postbackId: string): Promise<PostbackRecord | undefined> {
    return getRecord(this.ctx, postbackId);
  }

  getReplayRequest(postbackId: string): Promise<RenderedRequest | undefined> {
    return getReplayRequest(this.ctx, postbackId);
  }

  queryPostbacks(filter: PostbackFilter, limit: number, cursor?: string): Promise<PostbackPage> {
    return queryPostbacks(this.ctx, filter, limit, cursor);
  }

  statuses(postbackIds: readonly string[]): Promise<Map<string, string>> {
    return getStatuses(this.ctx, postbackIds);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the runtime owns the connection
  }
}
