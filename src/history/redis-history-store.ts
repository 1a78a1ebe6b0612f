import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HistoryContext } from './history-context.js';
import type { HistoryStore } from './history-store.js';
import type { PostbackRecord } from './postback-record.js';
import type { PostbackFilter, PostbackPage } from './query-postbacks.js';
import { getRecordIn, getReplayRequestIn, getStatusesIn, queryPostbacksIn } from './shard-reads.js';

/** History kept in Redis: the live records are the history (a laptop, a QA run). */
export class RedisHistoryStore implements HistoryStore {
  readonly kind = 'redis';
  /** Every shard history is read from (one without QUEUE_SHARDS). */
  private readonly shards: readonly HistoryContext[];

  constructor(shards: HistoryContext | readonly HistoryContext[]) {
    this.shards = Array.isArray(shards) ? shards : [shards as HistoryContext];
  }

  getRecord(postbackId: string): Promise<PostbackRecord | undefined> {
    return getRecordIn(this.shards, postbackId);
  }

  getReplayRequest(postbackId: string): Promise<RenderedRequest | undefined> {
    return getReplayRequestIn(this.shards, postbackId);
  }

  queryPostbacks(filter: PostbackFilter, limit: number, cursor?: string): Promise<PostbackPage> {
    return queryPostbacksIn(this.shards, filter, limit, cursor);
  }

  statuses(postbackIds: readonly string[]): Promise<Map<string, string>> {
    return getStatusesIn(this.shards, postbackIds);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the runtime owns the connection
  }
}
