import { describe, expect, it } from 'vitest';
import { classifyError, classifyResponse, parseRetryAfter, MAX_RETRY_AFTER_MS } from '../../src/delivery/classify.js';
import { DeliveryTimeoutError, TargetBlockedError } from '../../src/delivery/errors.js';
import { compileSuccessRule } from '../../src/endpoints/success-rule.js';

const res = (statusCode: number, excerpt = '', extra: Partial<{ location: string; retryAfter: string }> = {}) => ({
  statusCode, excerpt, location: extra.location, retryAfter: extra.retryAfter,
});
const err = (code: string) => Object.assign(new Error(code), { code });
const now = Date.parse('2026-11-21T10:00:00Z');

describe('classifyResponse', () => {
  const twoxx = compileSuccessRule(undefined);
  it.each([
    [200, twoxx, true, null],
    [204, twoxx, true, null],
    [204, compileSuccessRule({ status: [200] }), false, 'http_status'],
    [302, twoxx, false, 'redirect'],
    [500, twoxx, false, 'http_status'],
    [404, compileSuccessRule({ status: ['2xx', 404] }), true, null],
  ])('status %i -> ok %s', (status, rule, ok, errorClass) => {
    const o = classifyResponse(res(status), rule, now);
    expect(o.ok).toBe(ok);
    expect(o.errorClass).toBe(errorClass);
    expect(o.statusCode).toBe(status);
  });

  it('requires body_contains within the excerpt', () => {
    const rule = compileSuccessRule({ status: ['2xx'], body_contains: 'OK' });
    expect(classifyResponse(res(200, 'status: OK'), rule, now).ok).toBe(true);
    expect(classifyResponse(res(200, 'nope'), rule, now)).toMatchObject({ ok: false, errorClass: 'body_mismatch' });
  });

  it('reads Retry-After on 429 and 503 only, capped at 10 minutes', () => {
    expect(classifyResponse(res(429, '', { retryAfter: '30' }), compileSuccessRule(undefined), now).retryAfterMs).toBe(30_000);
    expect(classifyResponse(res(500, '', { retryAfter: '30' }), compileSuccessRule(undefined), now).retryAfterMs).toBeUndefined();
    expect(parseRetryAfter('99999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Sat, 21 Nov 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('classifyError', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'tls'],
    ['EWHATEVER', 'other'],
  ])('%s -> %s with status 0', (code, cls) => {
    const o = classifyError(err(code));
    expect(o).toMatchObject({ ok: false, statusCode: 0, errorClass: cls, permanent: false });
  });

  it('classifies the deadline as timeout with its phase, and the SSRF guard as permanent blocked', () => {
    expect(classifyError(new DeliveryTimeoutError(1000, 'body'))).toMatchObject({ errorClass: 'timeout', phase: 'body' });
    expect(classifyError(new TargetBlockedError('h', '10.0.0.1'))).toMatchObject({ errorClass: 'blocked', permanent: true });
  });

  it('looks inside AggregateError (happy eyeballs)', () => {
    const agg = Object.assign(new AggregateError([err('ECONNREFUSED')]), {});
    expect(classifyError(agg).errorClass).toBe('refused');
  });
});
