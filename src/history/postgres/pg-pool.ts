import pg from 'pg';
import { UnavailableError } from '../../errors/base-error.js';

export type PgPool = pg.Pool;

/**
 * A pool for history: short connect timeout and a statement timeout, so PostgreSQL being
 * down or stuck is an answer (503) in seconds, not a request that hangs. Idle-client
 * errors (the server went away) are reported through `onError` instead of crashing.
 */
export function createPgPool(url: string, onError: (err: Error) => void, max = 10): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 30_000,
    application_name: 'postback-dispatcher',
  });
  pool.on('error', onError);
  // A client whose server goes away between queries emits 'error' itself: reported, never
  // an unhandled event (the pool then drops it, and its query in flight, if any, rejects).
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/** SQLSTATE classes that mean "the server is not there or not taking work", not a bug. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Whether an error from pg says PostgreSQL is unreachable (as opposed to a bad query). */
export function isPgUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(err.message);
}

/** Runs a read; PostgreSQL being away becomes UnavailableError (503), anything else goes on as it is. */
export async function pgRead<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isPgUnavailable(err)) throw new UnavailableError(`history store unavailable: PostgreSQL did not answer (${(err as Error).message})`);
    throw err;
  }
}
