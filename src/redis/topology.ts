import { redactUrl } from '../config/redact-url.js';
import type { Config, HostPort } from '../config/schema.js';

/**
 * Where Redis is: one node (REDIS_URL), a master found through Sentinel, or a Cluster. Built
 * once from the config; every connection of the process is made from it.
 */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly sentinels: readonly HostPort[]; readonly name: string; readonly auth: RedisAuth }
  | { readonly kind: 'cluster'; readonly nodes: readonly HostPort[]; readonly auth: RedisAuth };

/** User and password for the data nodes (taken from REDIS_URL when Sentinel or Cluster is used). */
export interface RedisAuth {
  readonly username?: string;
  readonly password?: string;
}

/** The topology the config names; `url` is the single node's URL (REDIS_URL, its default, or an embedded server's). */
export function redisTopologyOf(config: Config, url: string): RedisTopology {
  if (config.redisSentinels !== undefined) {
    return { kind: 'sentinel', sentinels: config.redisSentinels, name: config.redisSentinelName ?? '', auth: authOf(config.redisUrl) };
  }
  if (config.redisClusterNodes !== undefined) return { kind: 'cluster', nodes: config.redisClusterNodes, auth: authOf(config.redisUrl) };
  return { kind: 'single', url };
}

/** For logs and errors: where the process looks for Redis, without credentials. */
export function describeTopology(t: RedisTopology): string {
  const list = (nodes: readonly HostPort[]): string => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (t.kind === 'sentinel') return `master "${t.name}" through sentinels ${list(t.sentinels)}`;
  if (t.kind === 'cluster') return `cluster nodes ${list(t.nodes)}`;
  return redactUrl(t.url);
}

function authOf(url: string | undefined): RedisAuth {
  if (url === undefined) return {};
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return { ...(username !== '' ? { username } : {}), ...(password !== '' ? { password } : {}) };
}
