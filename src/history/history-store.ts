import type { RenderedRequest } from '../endpoints/rendered-request.js';
import type { PostbackRecord } from './postback-record.js';
import type { PostbackFilter, PostbackPage, PostbackSummary } from './query-postbacks.js';

export type HistoryKind = 'redis' | 'postgres';

/**
 * Where history is read: the API, CSV export, Explorer, CLI and replay go through this
 * and nothing else. Two implementations: RedisHistoryStore (the live records are the
 * history) and PostgresHistoryStore (HISTORY_URL; live records are mirrored there through
 * the outbox). Both pass test/history/store-contract.test.ts.
 */
export interface HistoryStore {
  readonly kind: HistoryKind;
  getRecord(postbackId: string): Promise<PostbackRecord | undefined>;
  /**
   * The request to send again on replay: the tokenized one when the original held secrets
   * (restore them with the endpoint's `restoreRequest`), else the recorded one.
   */
  getReplayRequest(postbackId: string): Promise<RenderedRequest | undefined>;
  /** One page, newest first; the cursor is opaque and stable under concurrent inserts. */
  queryPostbacks(filter: PostbackFilter, limit: number, cursor?: string): Promise<PostbackPage>;
  /** Each id's status, or 'missing' for one the store does not know. */
  statuses(postbackIds: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/** Every row matching `filter`, page by page (CSV export, bulk replay). */
export async function* iteratePostbacks(store: HistoryStore, filter: PostbackFilter, pageSize = 1000): AsyncGenerator<PostbackSummary> {
  let cursor: string | undefined;
  do {
    const page = await store.queryPostbacks(filter, pageSize, cursor);
    yield* page.items;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}

/**
 * Polls until each of `ids` is delivered or failed (or unknown), or `timeoutMs` passes.
 * Returns the final status of each id (or its current one at the timeout).
 */
export async function waitFinal(
  store: HistoryStore,
  ids: readonly string[],
  timeoutMs: number,
  onProgress?: (finished: number) => void,
): Promise<Map<string, string>> {
  const status = new Map<string, string>();
  const pending = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const batch = [...pending].slice(0, 1000);
    const now = await store.statuses(batch);
    for (const id of batch) {
      const s = now.get(id) ?? 'missing';
      status.set(id, s);
      if (s === 'delivered' || s === 'failed' || s === 'missing') pending.delete(id);
    }
    onProgress?.(ids.length - pending.size);
    if (pending.size === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}
