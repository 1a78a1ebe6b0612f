import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { createRequire } from 'node:module';

/** A class to test with `instanceof` (ioredis's error classes are typed loosely). */
type ErrorClass = abstract new (...args: never[]) => object;

/**
 * redis-errors' `AbortError` (a dependency of ioredis, not ours): the parent class of
 * MaxRetriesPerRequestError. ioredis rejects commands in flight with it ("Command aborted
 * due to connection close") when the connection drops under a partly answered pipeline.
 */
export const RedisAbortError = Object.getPrototypeOf(MaxRetriesPerRequestError) as new (message: string) => Error;

/** ioredis re-exports redis-errors' ReplyError typed `any`: the class of every error reply. */
const RedisReplyError = ReplyError as new (message: string) => Error;

/**
 * ioredis's ClusterAllFailedError: a Cluster client reached none of its nodes to learn the
 * slot map ("Failed to refresh slots cache."). A CommonJS default export, not re-exported
 * by ioredis: loaded with require so it is the very class ioredis throws.
 */
export const ClusterAllFailedError = (
  createRequire(import.meta.url)('ioredis/built/errors/ClusterAllFailedError.js') as { default: new (message: string, lastNodeError?: Error) => Error }
).default;

/**
 * Classes that always mean the connection failed: the retries allowed per command ran out
 * while (re)connecting (MaxRetriesPerRequestError), the connection dropped mid-pipeline, or
 * no node of a Cluster answered.
 */
const UNAVAILABLE_CLASSES: readonly ErrorClass[] = [MaxRetriesPerRequestError, RedisAbortError, ClusterAllFailedError];

/** Socket-level failures reaching Redis (Node system errors; ioredis sets ETIMEDOUT on connect timeout). */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);

/**
 * Error replies by which a reachable Redis says "not now" (a reply's first word is its
 * code, by protocol): still loading the AOF/RDB after a restart, a script running too
 * long, a replica without its primary, a demoted primary, maxmemory reached, a primary
 * short of the replicas `min-replicas-to-write` asks for (e.g. its replica was just
 * promoted), or a Cluster with slots uncovered (a master failed, no replica promoted yet)
 * or mid-resharding.
 */
const UNAVAILABLE_REPLY_CODES: ReadonlySet<string> = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'OOM', 'NOREPLICAS', 'CLUSTERDOWN', 'TRYAGAIN']);

/**
 * The one place that reads messages. In these cases ioredis 5 rejects a command with a
 * plain `Error` (no class of its own, no code), so the exact text is all there is. Matched
 * whole, and only on a plain Error; test/redis/redis-unavailable.test.ts checks each
 * against the ioredis that is installed.
 */
export const IOREDIS_CONNECTION_MESSAGES: ReadonlySet<string> = new Set([
  // Redis#sendCommand: not connected (connecting, reconnecting) and the offline queue is off (producers).
  "Stream isn't writeable and enableOfflineQueue options is false",
  // utils CONNECTION_CLOSED_ERROR_MSG: the connection has ended (no more retries, or disconnect()).
  'Connection is closed.',
  // Command#setTimeout: no reply within `commandTimeout` (Redis paused, hung or overloaded).
  'Command timed out',
  // Cluster#sendCommand: no slot map yet (connecting, all nodes lost) and the offline queue is off (producers).
  "Cluster isn't ready and enableOfflineQueue options is false",
  // Cluster: none of REDIS_CLUSTER_NODES answered.
  'None of startup nodes is available',
  // Cluster#sendCommand after the client gave up reconnecting.
  'Cluster is disconnected.',
]);

/**
 * Cluster#handleError: a command bounced (MOVED, failover, CLUSTERDOWN) more than
 * `maxRedirections` times; ioredis appends the last error. Matched by this start only.
 */
export const IOREDIS_CLUSTER_REDIRECTIONS = 'Too many Cluster redirections. Last error: ';

/**
 * Is `err` Redis being unreachable (or refusing work for now), as opposed to a bug? The
 * API answers the first with 503 and anything else unexpected with 500. Checked by class,
 * then system error `code`, then Redis's reply code, and last, only for the plain Errors
 * ioredis gives nothing else for, by exact message. Follows `cause` a few levels down.
 */
export function isRedisUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    if (isUnavailableError(e)) return true;
    e = e.cause;
  }
  return false;
}

function isUnavailableError(e: Error): boolean {
  if (UNAVAILABLE_CLASSES.some((C) => isInstance(e, C))) return true;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (isInstance(e, RedisReplyError)) return UNAVAILABLE_REPLY_CODES.has(e.message.split(' ', 1)[0] ?? '');
  if (Object.getPrototypeOf(e) !== Error.prototype) return false;
  return IOREDIS_CONNECTION_MESSAGES.has(e.message) || e.message.startsWith(IOREDIS_CLUSTER_REDIRECTIONS);
}

/** `instanceof` without narrowing (these classes are typed as plain Error: narrowing would leave `never`). */
function isInstance(e: Error, C: ErrorClass): boolean {
  return e instanceof C;
}
