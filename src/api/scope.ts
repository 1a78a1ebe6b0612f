import type { FastifyRequest } from 'fastify';
import type { PostbackFilter } from '../history/query-postbacks.js';
import { OperatorOnlyError } from '../keys/errors.js';
import { scopeOf, type Principal } from '../keys/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling (set by the auth hook for every route that needs a key). */
    principal: Principal;
  }
}

/** The publisher a request is confined to (publisher keys), or undefined (operators). */
export function requestScope(request: FastifyRequest): string | undefined {
  return scopeOf(request.principal);
}

/** Operator keys only: keys, audit, producing events. */
export function requireOperator(request: FastifyRequest, what: string): void {
  if (request.principal.kind !== 'operator') throw new OperatorOnlyError(`${what} needs an operator key (API_KEYS); a publisher key may not`);
}

/** Whether a publisher (of a postback or endpoint) is visible within a scope: others are 404. */
export function visibleIn(scope: string | undefined, publisherId: string | null | undefined): boolean {
  return scope === undefined || publisherId === scope;
}

/**
 * A list filter confined to a scope: its publisher is the scope's. Undefined when the
 * filter asks for another publisher: nothing of theirs is visible, so nothing matches.
 */
export function scopedFilter(filter: PostbackFilter, scope: string | undefined): PostbackFilter | undefined {
  if (scope === undefined) return filter;
  if (filter.publisherId !== undefined && filter.publisherId !== scope) return undefined;
  return { ...filter, publisherId: scope };
}

/** No rows: what a list filtered to another publisher yields for a publisher key. */
export async function* nothingVisible(): AsyncGenerator<never> {}
