import { randomUUID } from 'node:crypto';
import { ValidationError, describeValue, type ErrorDetail } from '../errors/base-error.js';
import type { FieldValue, PostbackEvent } from './event.js';
import { EVENT_LIMITS as L } from './limits.js';

/** Input aliases (MaxPPI passes the publisher's click id as cid or clickid). */
const ALIASES: readonly (readonly [alias: string, canonical: string])[] = [
  ['cid', 'external_id'],
  ['clickid', 'external_id'],
];

export interface ValidateOptions {
  /** Clock for a missing occurred_at; injectable for tests. */
  readonly now?: () => number;
}

/**
 * Validates one raw event into a PostbackEvent, or returns every problem found, each
 * naming the field (prefixed with `prefix`) and the offending value.
 */
export function checkEvent(
  raw: unknown,
  prefix = '',
  options: ValidateOptions = {},
): { event: PostbackEvent; details?: undefined } | { event?: undefined; details: ErrorDetail[] } {
  const details: ErrorDetail[] = [];
  const at = (field: string): string => (prefix ? `${prefix}.${field}` : field);
  const bad = (field: string, value: unknown, message: string): void => {
    details.push({ path: at(field), message: `${message}, got ${describeValue(value)}` });
  };

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    details.push({ path: prefix || '(event)', message: `must be a JSON object, got ${describeValue(raw)}` });
    return { details };
  }
  const input = raw as Record<string, unknown>;
  const fields: Record<string, FieldValue> = Object.create(null) as Record<string, FieldValue>;
  let payload: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let target: Record<string, unknown> | undefined;
  let count = 0;

  for (const key of Object.keys(input)) {
    const value = input[key];
    if (++count > L.maxFields) {
      details.push({ path: at(key), message: `an event may have at most ${L.maxFields} fields` });
      break;
    }
    if (key === 'payload') {
      if (value === undefined || value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) {
        bad(key, value, 'must be an object');
        continue;
      }
      const copied = copyPayload(value as Record<string, unknown>, at(key), details);
      if (copied !== undefined) payload = copied;
      continue;
    }
    if (key === 'target') {
      if (value === undefined || value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) bad(key, value, 'must be an endpoint object');
      else target = value as Record<string, unknown>;
      continue;
    }
    if (!validFieldName(key)) {
      bad(key, key, 'field names must match [A-Za-z_][A-Za-z0-9_.-]{0,63}');
      continue;
    }
    if (value === undefined || value === null) continue;
    const scalar = checkScalar(value);
    if (scalar !== undefined) {
      bad(key, value, scalar);
      continue;
    }
    fields[key] = value as FieldValue;
  }

  for (const [alias, canonical] of ALIASES) {
    const v = fields[alias];
    if (v !== undefined && fields[canonical] === undefined) fields[canonical] = v;
  }

  // Typed fields.
  const id = fields.id;
  let idGenerated = false;
  let eventId: string;
  if (id === undefined) {
    eventId = randomUUID();
    idGenerated = true;
  } else if (typeof id !== 'string' || !L.idPattern.test(id)) {
    bad('id', id, 'must be 1-128 chars of A-Za-z0-9._~-');
    eventId = '';
  } else eventId = id;

  const type = fields.type;
  if (type === undefined) details.push({ path: at('type'), message: 'is required' });
  else if (typeof type !== 'string' || !L.typePattern.test(type)) bad('type', type, 'must match [a-z0-9_.-]{1,64}');

  const state = fields.state;
  if (state !== undefined && (typeof state !== 'string' || !L.statePattern.test(state))) {
    bad('state', state, 'must match [A-Za-z0-9_.-]{1,64}');
  }

  const publisherId = refField('publisher_id');
  const endpointId = refField('endpoint_id');
  function refField(name: string): string | undefined {
    const v = fields[name];
    if (v === undefined) return undefined;
    const s = typeof v === 'number' && Number.isInteger(v) ? String(v) : v;
    if (typeof s !== 'string' || !L.refPattern.test(s)) {
      bad(name, v, 'must be 1-128 chars of A-Za-z0-9._~:@-');
      return undefined;
    }
    fields[name] = s;
    return s;
  }

  let payout: number | undefined;
  if (fields.payout !== undefined) {
    const p = fields.payout;
    const n = typeof p === 'number' ? p : typeof p === 'string' && p.trim() !== '' ? Number(p) : Number.NaN;
    if (!Number.isFinite(n)) bad('payout', p, 'must be a finite number');
    else {
      payout = n;
      fields.payout = n;
    }
  }

  const now = options.now ?? Date.now;
  let occurredMs = now();
  const occurred = fields.occurred_at;
  if (occurred !== undefined) {
    const ms = typeof occurred === 'number' ? occurred : typeof occurred === 'string' ? Date.parse(occurred) : Number.NaN;
    if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) bad('occurred_at', occurred, 'must be an ISO 8601 date or epoch milliseconds');
    else occurredMs = ms;
  }
  const occurredAt = isoTime(occurredMs);
  fields.occurred_at = occurredAt;

  if (endpointId === undefined && publisherId === undefined && target === undefined && details.length === 0) {
    details.push({
      path: at('endpoint_id'),
      message: 'the event routes nowhere: give endpoint_id, publisher_id or target',
    });
  }

  if (details.length > 0) return { details };
  fields.id = eventId;
  return {
    event: {
      id: eventId,
      idGenerated,
      type: type as string,
      state: state as string | undefined,
      publisherId,
      endpointId,
      target,
      occurredAt,
      occurredMs,
      payout,
      fields,
      payload,
    },
  };
}

/** Field names already seen to match the pattern, so a batch tests each name once; bounded. */
const GOOD_NAMES = new Set<string>();
const GOOD_NAMES_MAX = 1024;
function validFieldName(key: string): boolean {
  if (GOOD_NAMES.has(key)) return true;
  if (!L.fieldNamePattern.test(key)) return false;
  if (GOOD_NAMES.size < GOOD_NAMES_MAX) GOOD_NAMES.add(key);
  return true;
}

/**
 * `new Date(ms).toISOString()`, remembering the last answer: a batch's events without
 * occurred_at mostly share one millisecond.
 */
let lastIsoMs = Number.NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

function checkScalar(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      if (value.length > L.maxStringLength) return `must be at most ${L.maxStringLength} characters`;
      if (!value.isWellFormed()) return 'must be valid Unicode (no lone surrogates)';
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : 'must be a finite number';
    case 'boolean':
      return undefined;
    default:
      return 'must be a string, number or boolean (custom objects go in payload)';
  }
}

/** Deep-copies payload into null-prototype objects, enforcing depth, size and scalar rules. */
function copyPayload(
  value: Record<string, unknown>,
  path: string,
  details: ErrorDetail[],
): Record<string, unknown> | undefined {
  let keys = 0;
  const walk = (v: unknown, p: string, depth: number): unknown => {
    if (v === null || typeof v !== 'object') {
      const problem = checkScalar(v);
      if (problem !== undefined) details.push({ path: p, message: `${problem}, got ${describeValue(v)}` });
      return v;
    }
    if (depth >= L.maxPayloadDepth) {
      details.push({ path: p, message: `payload may nest at most ${L.maxPayloadDepth} levels` });
      return undefined;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${p}[${i}]`, depth + 1));
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(v)) {
      if (++keys > L.maxPayloadKeys) {
        details.push({ path: p, message: `payload may have at most ${L.maxPayloadKeys} keys` });
        return out;
      }
      out[key] = walk((v as Record<string, unknown>)[key], `${p}.${key}`, depth + 1);
    }
    return out;
  };
  const before = details.length;
  const copy = walk(value, path, 0) as Record<string, unknown>;
  return details.length === before ? copy : undefined;
}

/** Validates one event or throws a ValidationError listing every problem. */
export function validateEvent(raw: unknown, options?: ValidateOptions): PostbackEvent {
  const result = checkEvent(raw, '', options);
  if (result.event) return result.event;
  throw new ValidationError(`invalid event: ${result.details.map((d) => `${d.path} ${d.message}`).join('; ')}`, result.details);
}

/**
 * Validates a batch: either every event is valid, or a ValidationError names each bad
 * event (`events[i].field`) and nothing is accepted.
 */
export function validateEvents(raws: readonly unknown[], options: ValidateOptions & { batch?: boolean } = {}): PostbackEvent[] {
  const events: PostbackEvent[] = [];
  const details: ErrorDetail[] = [];
  const batch = options.batch ?? raws.length !== 1;
  raws.forEach((raw, i) => {
    const r = checkEvent(raw, batch ? `events[${i}]` : '', options);
    if (r.event) events.push(r.event);
    else details.push(...r.details);
  });
  if (details.length > 0) {
    throw new ValidationError(
      `invalid batch: ${details.length} problem(s): ${details.slice(0, 5).map((d) => `${d.path} ${d.message}`).join('; ')}`,
      details,
    );
  }
  return events;
}

