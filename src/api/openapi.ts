import { ACCEPTED_SCHEMA } from './routes/events.js';

/** The OpenAPI 3.1 document served at GET /openapi.json. Hand-written; test/api checks every route is in it. */
const filterParams = ['from', 'to', 'status', 'endpoint_id', 'publisher_id', 'event_id'].map((name) => ({
  name,
  in: 'query',
  required: false,
  schema: { type: 'string' },
  description:
    name === 'from' || name === 'to'
      ? 'ISO 8601 or epoch milliseconds, on the postback creation time'
      : name === 'status'
        ? 'queued, retrying, delivered or failed'
        : `exact ${name}`,
}));

const error = { $ref: '#/components/schemas/Error' };
const errors = {
  '400': { description: 'invalid input', content: { 'application/json': { schema: error } } },
  '401': { description: 'missing or wrong API key', content: { 'application/json': { schema: error } } },
};
const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'postback-dispatcher', version: '0.1.0', description: 'Server-to-server postbacks: events in, postbacks out, every outcome recorded.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error: { type: 'string' },
          details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
      Event: {
        type: 'object',
        required: ['type'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9._~-]{1,128}$' },
          type: { type: 'string', pattern: '^[a-z0-9_.-]{1,64}$' },
          state: { type: 'string' },
          publisher_id: { type: 'string' },
          endpoint_id: { type: 'string' },
          target: { type: 'object', description: 'an inline endpoint' },
          occurred_at: { type: 'string' },
          payout: { type: 'number' },
          payload: { type: 'object' },
        },
        additionalProperties: { type: ['string', 'number', 'boolean'] },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/events': {
      post: {
        summary: 'Enqueue one event or {"events": [...]} (at most 1000, 1 MiB); all or nothing',
        parameters: [{ name: 'force', in: 'query', required: false, schema: { type: 'boolean' }, description: 'true: bypass dedupe' }],
        requestBody: { content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Event' }, { type: 'object', properties: { events: { type: 'array', maxItems: 1000, items: { $ref: '#/components/schemas/Event' } } } }] } } } },
        responses: { '202': { description: 'accepted: {"events": [{id, postbacks, duplicate, skipped}]}', content: { 'application/json': { schema: ACCEPTED_SCHEMA } } }, ...errors, '413': { description: 'body over 1 MiB' }, '503': { description: 'Redis unavailable; nothing accepted' } },
      },
    },
    '/v1/postbacks': {
      get: {
        summary: 'History, newest first, with stable cursor pagination',
        parameters: [...filterParams, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }],
        responses: { '200': { description: '{"items": [...], "next_cursor": string|null}' }, ...errors },
      },
    },
    '/v1/postbacks.csv': { get: { summary: 'History as CSV (streamed, RFC 4180)', parameters: filterParams, responses: { '200': { description: 'text/csv' }, ...errors } } },
    '/v1/postbacks/{id}': { get: { summary: 'One record with every attempt and the exact request', parameters: idParam, responses: { '200': { description: 'the record' }, '404': { description: 'not found' } } } },
    '/v1/postbacks/{id}/replay': { post: { summary: 'Send the same request again as a new postback (bypasses dedupe)', parameters: idParam, responses: { '202': { description: '{"id": NEW_ID, "replay_of": id}' }, '404': { description: 'not found' } } } },
    '/v1/postbacks/replay': { post: { summary: 'Replay every postback matching the filters (JSON body)', responses: { '202': { description: '{"enqueued": N}' }, ...errors } } },
    '/v1/endpoints': { get: { summary: 'Every endpoint, secrets masked, each with its health', responses: { '200': { description: '{"endpoints": [... with "health": {state, success_rate_5m, attempts_5m, latency_p50_ms, latency_p99_ms, consecutive_failures, last_error, last_success_at, disabled_at, disabled_reason}], "broken": [{id, error, details}]}' } } } },
    '/v1/endpoints/{id}': {
      get: { summary: 'One endpoint, secrets masked, with its health', parameters: idParam, responses: { '200': { description: 'the endpoint' }, '404': { description: 'not found' }, '409': { description: 'stored but invalid for this version: the error names why' } } },
      put: { summary: 'Create or replace (validated like the file); a secret given as "***" keeps the stored one', parameters: idParam, responses: { '200': { description: 'the endpoint, masked, with warnings' }, ...errors } },
      delete: { summary: 'Delete', parameters: idParam, responses: { '204': { description: 'deleted' }, '404': { description: 'not found' } } },
    },
    '/v1/endpoints/{id}/disable': { post: { summary: 'Disable: new events skip it (reason disabled), pending postbacks end failed (error class disabled). Optional body {"reason": "..."}', parameters: idParam, responses: { '200': { description: 'the endpoint with its health' }, '404': { description: 'not found' } } } },
    '/v1/endpoints/{id}/enable': { post: { summary: 'Enable again: healthy, failure streaks cleared', parameters: idParam, responses: { '200': { description: 'the endpoint with its health' }, '404': { description: 'not found' } } } },
    '/v1/endpoints/preview': {
      post: {
        summary: 'The request an endpoint definition (saved or not) would send for an event, or its preset\'s sample event: {"endpoint": {...}, "event"?: {...}}. Rendered, not sent or stored; secrets masked; "***" stands for a stored secret. A publisher key previews its own publisher\'s endpoints only',
        responses: { '200': { description: '{request: {method, url, headers, body}, event, skipped: reason|null, warnings}' }, ...errors, '404': { description: 'the id names another publisher\'s endpoint (publisher key)' } },
      },
    },
    '/v1/endpoints/{id}/test': { post: { summary: 'One synchronous attempt with a sample or the posted event; no retries', parameters: idParam, responses: { '200': { description: '{ok, request, response: {status_code, duration_ms, body_excerpt}, error}' } } } },
    '/v1/presets': { get: { summary: 'The seed networks presets', responses: { '200': { description: '{"presets": [...]}' } } } },
    '/v1/keys': {
      post: { summary: 'Operator only: make a publisher key ({"publisher_id", "name"}); the key is in this answer only', responses: { '201': { description: '{id, publisher_id, name, created_at, key}' }, ...errors, '403': { description: 'a publisher key may not' } } },
      get: { summary: 'Operator only: publisher keys (never the keys themselves); ?publisher_id', responses: { '200': { description: '{"keys": [{id, publisher_id, name, created_at}]}' }, '403': { description: 'a publisher key may not' } } },
    },
    '/v1/keys/{id}': { delete: { summary: 'Operator only: revoke a publisher key', parameters: idParam, responses: { '204': { description: 'revoked' }, '404': { description: 'not found' }, '403': { description: 'a publisher key may not' } } } },
    '/v1/stats': { get: { summary: 'Totals, a series per bucket of creation time, errors and per-endpoint counts from history; from, to (default the last 24 h), endpoint_id, publisher_id, event_id, bucket (1m, 5m, 1h, 1d)', parameters: filterParams, responses: { '200': { description: '{from, to, bucket, totals: {delivered, failed, retrying, queued, total, success_rate}, series: [{t, ...}], errors: [{error, count}], endpoints: [{endpoint_id, ...}], scanned, truncated}' }, ...errors } } },
    '/v1/audit': { get: { summary: 'Operator only: endpoint changes, key changes and replays (who, what, when), newest first; ?limit&cursor', responses: { '200': { description: '{"items": [{id, at, actor, action, target, publisher_id?}], "next_cursor"}' }, '403': { description: 'a publisher key may not' } } } },
    '/v1/whoami': { get: { summary: 'What the presented key is: {"kind": "operator"} or {"kind": "publisher", "publisher_id", "key_id"}', responses: { '200': { description: 'the key\'s kind and publisher' } } } },
    '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'ok' } } } },
    '/readyz': { get: { summary: 'Readiness: Redis reachable', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'Redis down' } } } },
    '/metrics': { get: { summary: 'Prometheus metrics, prefixed postback_', security: [], responses: { '200': { description: 'text/plain' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    '/': { get: { summary: 'The Postback Explorer page (asks for the API key itself)', security: [], responses: { '200': { description: 'text/html' } } } },
  },
} as const;
