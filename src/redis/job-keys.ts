/**
 * The keys BullMQ would hold jobs `ids` under in each queue of `prefixes` (a queue's
 * `qualifiedName`): EXISTS on them tells whether any of those queues holds any of those jobs.
 */
export function jobKeys(prefixes: readonly string[], ...ids: readonly string[]): string[] {
  return ids.flatMap((id) => prefixes.map((p) => `${p}:${id}`));
}
