import type { ChainableCommander } from 'ioredis';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { HistoryContext } from './history-context.js';
import { F, encodeStatic, type RecordStatic } from './postback-record.js';
import { indexScore } from './query-postbacks.js';
import { CREATE_RECORDS } from './scripts/create-records.js';

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

/** Writes new `queued` records and their index entries (one script call per SCRIPT_CHUNK records, each atomic). */
export async function createRecords(ctx: HistoryContext, records: readonly NewRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += SCRIPT_CHUNK) await createChunk(ctx, records.slice(i, i + SCRIPT_CHUNK));
}

/**
 * Records per script call: a call's arguments are spread into one function call on the
 * way out (ioredis), and 10,000 records' worth overflows the stack.
 */
const SCRIPT_CHUNK = 500;

async function createChunk(ctx: HistoryContext, records: readonly NewRecord[]): Promise<void> {
  const keys: string[] = [ctx.keys.index];
  const args: (string | number)[] = [ctx.retentionMs];
  for (const r of records) {
    keys.push(ctx.keys.record(r.id));
    const fields: (string | number)[] = [F.static, encodeStatic(r.data), F.status, 'queued', F.next, r.nextAttemptMs];
    if (r.replayRequest !== undefined) fields.push(F.replayRequest, JSON.stringify(r.replayRequest));
    if (r.batchJobId !== undefined) fields.push(F.batch, r.batchJobId);
    args.push(indexScore(r.data.created_ms, sequence++), r.id, fields.length, ...fields);
    if (sequence >= 1000) sequence = 0;
  }
  await CREATE_RECORDS.run(ctx.redis, keys, args);
}

/** Undoes createRecords (the enqueue after it failed). */
export function deleteRecords(ctx: HistoryContext, tx: ChainableCommander, ids: readonly string[]): void {
  if (ids.length === 0) return;
  tx.del(...ids.map((id) => ctx.keys.record(id)));
  tx.zrem(ctx.keys.index, ...ids);
}
