import type { RenderedRequest } from '../../endpoints/rendered-request.js';
import { getRecordIn, getReplayRequestIn, getStatusesIn } from '../shard-reads.js';
import type { HistoryContext } from '../history-context.js';
import type { HistoryStore } from '../history-store.js';
import type { PostbackRecord } from '../postback-record.js';
import type { PostbackFilter, PostbackPage } from '../query-postbacks.js';
import { decodeCursor, encodeCursor, listQuery } from './list-query.js';
import { migrate } from './migrate.js';
import { PartitionKeeper } from './partition-keeper.js';
import { pgRead, type PgPool } from './pg-pool.js';
import { recordFromRow, summaryFromRow, type PostbackRow } from './row-codec.js';
import { STATUS_NAME, quoteIdent } from './schema.js';
import { upsertSql } from './upsert-rows.js';

/**
 * History in PostgreSQL (HISTORY_URL). Writes reach it through the outbox (OutboxFlusher);
 * reads of one postback look at its live record in Redis first (fresher while it is
 * pending, and for a few seconds after it is final, while the flush catches up), then at
 * PostgreSQL. Lists and exports read PostgreSQL only. PostgreSQL down: reads are 503.
 */
export class PostgresHistoryStore implements HistoryStore {
  readonly kind = 'postgres';
  readonly pool: PgPool;
  readonly schema: string;
  readonly partitions: PartitionKeeper;
  /** The flusher's statement, built once. */
  readonly upsertSql: string;
  /** The live records of every shard (one without QUEUE_SHARDS). */
  private readonly live: readonly HistoryContext[];
  private readonly table: string;
  private schemaReady: Promise<void> | undefined;

  constructor(live: HistoryContext | readonly HistoryContext[], pool: PgPool, schema: string) {
    this.live = Array.isArray(live) ? live : [live as HistoryContext];
    this.pool = pool;
    this.schema = schema;
    this.partitions = new PartitionKeeper(pool, schema);
    this.upsertSql = upsertSql(schema);
    this.table = `${quoteIdent(schema)}.postbacks`;
  }

  /**
   * Migrates once per process (idempotent, under an advisory lock). PostgreSQL down at
   * start does not stop the process: the next read or flush tries again.
   */
  ensureSchema(): Promise<void> {
    this.schemaReady ??= migrate(this.pool, this.schema).catch((err: unknown) => {
      this.schemaReady = undefined;
      throw err;
    });
    return this.schemaReady;
  }

  async getRecord(postbackId: string): Promise<PostbackRecord | undefined> {
    const live = await getRecordIn(this.live, postbackId);
    if (live !== undefined) return live;
    const rows = await this.read<PostbackRow>(`SELECT * FROM ${this.table} WHERE id = $1`, [postbackId]);
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  async getReplayRequest(postbackId: string): Promise<RenderedRequest | undefined> {
    const live = await getReplayRequestIn(this.live, postbackId);
    if (live !== undefined) return live;
    const rows = await this.read<PostbackRow>(`SELECT * FROM ${this.table} WHERE id = $1`, [postbackId]);
    const row = rows[0];
    if (row === undefined) return undefined;
    return row.rr !== null ? (JSON.parse(row.rr) as RenderedRequest) : recordFromRow(row).request;
  }

  async queryPostbacks(filter: PostbackFilter, limit: number, cursor?: string): Promise<PostbackPage> {
    const q = listQuery(this.schema, filter, limit, cursor === undefined ? undefined : decodeCursor(cursor));
    const rows = await this.read<PostbackRow>(q.text, q.values);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { items: page.map(summaryFromRow), next_cursor: more ? encodeCursor(page[page.length - 1]!.id) : null };
  }

  async statuses(postbackIds: readonly string[]): Promise<Map<string, string>> {
    const out = await getStatusesIn(this.live, postbackIds);
    const rest = postbackIds.filter((id) => !out.has(id));
    if (rest.length === 0) return out;
    const rows = await this.read<{ id: string; status: string }>(`SELECT id, status FROM ${this.table} WHERE id = ANY($1::text[])`, [rest]);
    for (const r of rows) out.set(r.id, STATUS_NAME[r.status] ?? 'queued');
    return out;
  }

  /** A query once the schema exists; PostgreSQL away is UnavailableError (503). */
  private read<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return pgRead(async () => {
      await this.ensureSchema();
      return (await this.pool.query<R>(text, values)).rows;
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
