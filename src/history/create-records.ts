import type { ChainableCommander } from 'ioredis';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HistoryContext } from './history-context.js';
import { F, encodeStatic, type RecordStatic } from './postback-record.js';
import { indexScore } from './query-postbacks.js';

let sequence = 0;

export interface NewRecord {
  readonly id: string;
  readonly data: RecordStatic;
  /** The request with secrets as placeholders, kept only when masking changed it. */
  readonly replayRequest: RenderedRequest | undefined;
  readonly nextAttemptMs: number;
  /** The batch job that carries its first attempt, when batched. */
  readonly batchJobId?: string | undefined;
}

/** Queues the writes of new `queued` records and their index entries on `tx`. */
export function createRecords(ctx: HistoryContext, tx: ChainableCommander, records: readonly NewRecord[]): void {
  const ttl = ctx.retentionMs;
  const index: (string | number)[] = [];
  for (const r of records) {
    const key = ctx.keys.record(r.id);
    const fields: (string | number)[] = [F.static, encodeStatic(r.data), F.status, 'queued', F.next, r.nextAttemptMs];
    if (r.replayRequest !== undefined) fields.push(F.replayRequest, JSON.stringify(r.replayRequest));
    if (r.batchJobId !== undefined) fields.push(F.batch, r.batchJobId);
    tx.hset(key, ...fields);
    tx.pexpire(key, ttl);
    index.push(indexScore(r.data.created_ms, sequence++), r.id);
    if (sequence >= 1000) sequence = 0;
  }
  if (index.length > 0) tx.zadd(ctx.keys.index, ...index);
}

/** Undoes createRecords (the enqueue after it failed). */
export function deleteRecords(ctx: HistoryContext, tx: ChainableCommander, ids: readonly string[]): void {
  if (ids.length === 0) return;
  tx.del(...ids.map((id) => ctx.keys.record(id)));
  tx.zrem(ctx.keys.index, ...ids);
}
