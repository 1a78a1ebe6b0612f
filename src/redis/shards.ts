/**
 * The key prefix of shard `index` of a sharded layout (QUEUE_SHARDS > 1): the prefix's hash
 * tag gets `-index` (`{postback}` -> `{postback-0}`, `app:{pb}` -> `app:{pb-0}`), so each
 * shard hashes to a slot of its own in a Redis Cluster. A prefix without a hash tag (a
 * single node) becomes the tag itself (`postback` -> `{postback-0}`). With QUEUE_SHARDS=1
 * the one shard is the plain prefix, unchanged (shardPrefixes).
 */
export function shardPrefix(prefix: string, index: number): string {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  if (close > open + 1) return `${prefix.slice(0, close)}-${index}${prefix.slice(close)}`;
  return `{${prefix}-${index}}`;
}

/** The prefixes of a layout of `count` shards, shard 0 first: `[prefix]` itself for one. */
export function shardPrefixes(prefix: string, count: number): string[] {
  if (count === 1) return [prefix];
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(shardPrefix(prefix, i));
  return out;
}

/**
 * The shard of a postback: FNV-1a (32 bit) of its endpoint's dedupe scope (the endpoint id;
 * for an inline target its id and version) modulo `count`. Stable across processes,
 * versions and restarts: it depends on nothing but the scope and the count.
 */
export function shardIndexOf(scope: string, count: number): number {
  if (count === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < scope.length; i++) {
    h ^= scope.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}
