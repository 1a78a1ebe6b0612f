import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';

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
 * Classes that always mean the connection failed: the retries allowed per command ran out
 * while (re)connecting (MaxRetriesPerRequestError), or the connection dropped mid-pipeline.
 */
const UNAVAILABLE_CLASSES: readonly ErrorClass[] = [MaxRetriesPerRequestError, RedisAbortError];

/** Socket-level failures reaching Redis (Node system errors; ioredis sets ETIMEDOUT on connect timeout). */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);

/**
 * Error replies by which a reachable Redis says "not now" (a reply's first word is its
 * code, by protocol): still loading the AOF/RDB after a restart, a script running too
 * long, a replica without its primary, a demoted primary, or maxmemory reached.
 */
const UNAVAILABLE_REPLY_CODES: ReadonlySet<string> = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'OOM']);

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
]);

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
  return Object.getPrototypeOf(e) === Error.prototype && IOREDIS_CONNECTION_MESSAGES.has(e.message);
}

/** `instanceof` without narrowing (these classes are typed as plain Error: narrowing would leave `never`). */
function isInstance(e: Error, C: ErrorClass): boolean {
  return e instanceof C;
}
