import type { ChainableCommander } from 'ioredis';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { UnavailableError } from '../errors/base-error.js';
import { outboxArgs, outboxKey, type HistoryContext } from './history-context.js';
import { F, encodeStatic, type RecordStatic } from './postback-record.js';
import { indexScore } from './query-postbacks.js';
import { CREATE_RECORDS, OUTBOX_FULL } from './scripts/create-records.js';

let sequence = 0;

export interface NewRecord {
  readonly id: string;
  readonly data: RecordStatic;
  /** The request with secrets as placeholders, kept only when masking changed it. */
  readonly replayRequest: RenderedRequest | undefined;
  readonly nextAttemptMs: number;
  /** The batch job that carries its first attempt, when batched. */
  readonly batchJobId?: string | undefined;
  /** Ordered endpoints: the chain (RedisKeys.chain) the postback joins, at its end. */
  readonly chainKey?: string | undefined;
}

/**
 * Writes new `queued` records and their index entries (one script call per SCRIPT_CHUNK
 * records, each atomic). With PostgreSQL history and its outbox full (PostgreSQL down for
 * long), throws UnavailableError having written nothing of that chunk. Returns the ids of
 * the postbacks that joined an ordering chain behind an earlier one (they must wait for
 * their turn); every other ordered postback has it from the start.
 */
export async function createRecords(ctx: HistoryContext, records: readonly NewRecord[]): Promise<Set<string>> {
  const behind = new Set<string>();
  for (let i = 0; i < records.length; i += SCRIPT_CHUNK) {
    for (const id of await createChunk(ctx, records.slice(i, i + SCRIPT_CHUNK))) behind.add(id);
  }
  return behind;
}

/**
 * Records per script call: a call's arguments are spread into one function call on the
 * way out (ioredis), and 10,000 records' worth overflows the stack.
 */
const SCRIPT_CHUNK = 500;

async function createChunk(ctx: HistoryContext, records: readonly NewRecord[]): Promise<readonly string[]> {
  const keys: string[] = [ctx.keys.index, outboxKey(ctx)];
  const args: (string | number)[] = [ctx.retentionMs, ...outboxArgs(ctx)];
  for (const r of records) {
    keys.push(ctx.keys.record(r.id));
    const fields: (string | number)[] = [F.static, encodeStatic(r.data), F.status, 'queued', F.next, r.nextAttemptMs];
    if (r.replayRequest !== undefined) fields.push(F.replayRequest, JSON.stringify(r.replayRequest));
    if (r.batchJobId !== undefined) fields.push(F.batch, r.batchJobId);
    if (r.chainKey !== undefined) fields.push(F.chain, r.chainKey);
    args.push(indexScore(r.data.created_ms, sequence++), r.id, r.chainKey ?? '', fields.length, ...fields);
    if (sequence >= 1000) sequence = 0;
  }
  const reply = (await CREATE_RECORDS.run(ctx.redis, keys, args)) as readonly string[] | typeof OUTBOX_FULL;
  if (reply === OUTBOX_FULL) {
    throw new UnavailableError(`history backlog full: ${ctx.outbox?.max ?? 0} writes wait for PostgreSQL (HISTORY_OUTBOX_MAX); new events are refused until it catches up`);
  }
  return reply;
}

/** Field of an outbox entry that says: this record was undone, delete it (a tombstone). */
export const TOMBSTONE_FIELD = '~';

/** Undoes createRecords (the enqueue after it failed); with the outbox on, PostgreSQL gets tombstones. */
export function deleteRecords(ctx: HistoryContext, tx: ChainableCommander, ids: readonly string[]): void {
  if (ids.length === 0) return;
  tx.del(...ids.map((id) => ctx.keys.record(id)));
  tx.zrem(ctx.keys.index, ...ids);
  if (ctx.outbox !== undefined) for (const id of ids) tx.xadd(ctx.outbox.key, '*', '_', id, TOMBSTONE_FIELD, '1');
}
