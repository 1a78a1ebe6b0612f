/**
 * Day partitions keyed by postback id. Ids start with their creation time in base36
 * milliseconds, padded to 9 characters (src/endpoints/postback-id.ts), so under the "C"
 * collation id order is creation order, and a day is the id range between two such
 * prefixes: partitioning, the primary key, time filters and keyset pagination all use the
 * one column.
 */

export const DAY_MS = 86_400_000;
const ID_TIME_CHARS = 9;

/** The smallest id created at `ms` or later (a range bound). */
export function idFloor(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(36).padStart(ID_TIME_CHARS, '0');
}

/** When the postback with this id was created. */
export function idTimeMs(id: string): number {
  return parseInt(id.slice(0, ID_TIME_CHARS), 36);
}

/** The UTC day (ms at 00:00) an id falls in. */
export function dayOf(id: string): number {
  const ms = idTimeMs(id);
  return ms - (ms % DAY_MS);
}

/** Partition table name of a day: `postbacks_20261121`. */
export function partitionName(dayMs: number): string {
  return `postbacks_${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition name stands for, or undefined for a table that is not one. */
export function partitionDay(name: string): number | undefined {
  const m = /^postbacks_(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/** The days whose partitions must exist now: yesterday (clock skew) to `ahead` days on. */
export function daysToKeepReady(nowMs: number, ahead: number): number[] {
  const today = nowMs - (nowMs % DAY_MS);
  const out: number[] = [];
  for (let d = -1; d <= ahead; d++) out.push(today + d * DAY_MS);
  return out;
}

/** Whether a day's partition is wholly older than the retention (every row in it has expired). */
export function isExpired(dayMs: number, nowMs: number, retentionMs: number): boolean {
  return dayMs + DAY_MS <= nowMs - retentionMs;
}
