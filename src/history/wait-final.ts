import type { HistoryContext } from './history-context.js';
import { F } from './postback-record.js';

/**
 * Polls the records of `ids` until each is delivered or failed, or `timeoutMs` passes.
 * Returns the final status of each id (or its current one at the timeout).
 */
export async function waitFinal(
  ctx: HistoryContext,
  ids: readonly string[],
  timeoutMs: number,
  onProgress?: (finished: number) => void,
): Promise<Map<string, string>> {
  const status = new Map<string, string>();
  const pending = new Set(ids);
  const deadline = Date.now() + timeoutMs;
  while (pending.size > 0) {
    const batch = [...pending].slice(0, 1000);
    const pipe = ctx.redis.pipeline();
    for (const id of batch) pipe.hget(ctx.keys.record(id), F.status);
    const res = (await pipe.exec()) ?? [];
    batch.forEach((id, i) => {
      const s = res[i]?.[1] as string | null | undefined;
      status.set(id, s ?? 'missing');
      if (s === 'delivered' || s === 'failed' || s === null) pending.delete(id);
    });
    onProgress?.(ids.length - pending.size);
    if (pending.size === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return status;
}
