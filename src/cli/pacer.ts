/**
 * Splits `items` into chunks released at `ratePerSecond` (no rate: one chunk at once).
 * Chunks are released every 100 ms with however many items are due by then, so the
 * average rate holds without a timer per item.
 */
export async function* paced<T>(items: readonly T[], ratePerSecond: number | undefined, maxChunk = 1000): AsyncGenerator<T[]> {
  if (ratePerSecond === undefined) {
    for (let i = 0; i < items.length; i += maxChunk) yield items.slice(i, i + maxChunk);
    return;
  }
  const start = Date.now();
  let sent = 0;
  while (sent < items.length) {
    const due = Math.min(items.length, Math.floor(((Date.now() - start) / 1000) * ratePerSecond) + 1);
    if (due > sent) {
      const end = Math.min(due, sent + maxChunk);
      yield items.slice(sent, end);
      sent = end;
      continue;
    }
    const nextDueAt = start + (sent / ratePerSecond) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(5, Math.min(100, nextDueAt - Date.now()))));
  }
}
