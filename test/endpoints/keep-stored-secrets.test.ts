import { describe, expect, it } from 'vitest';
import { keepStoredSecrets } from '../../src/endpoints/keep-stored-secrets.js';
import type { EndpointDefinition } from '../../src/endpoints/schema.js';
import { ValidationError } from '../../src/errors/base-error.js';

const STORED: EndpointDefinition = {
  id: 'e1',
  url: 'https://x.example/?t={security_token}',
  security_token: 'tok-stored-1',
  signing: { scheme: 'standard-webhooks', secret: 'whsec_c3RvcmVkLXNpZ25pbmcta2V5LTAwMDA=' },
  headers: { Authorization: 'Bearer stored-header', 'x-plain': 'p' },
};

describe('keepStoredSecrets', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['the mask keeps the token', { security_token: '***' }, { security_token: 'tok-stored-1' }],
    ['a new token replaces it', { security_token: 'tok-new-22' }, { security_token: 'tok-new-22' }],
    ['null removes it', { security_token: null }, { security_token: null }],
    ['left out, it is gone (PUT replaces the whole definition)', {}, {}],
    ['the mask keeps the signing secret of the same scheme', { signing: { scheme: 'standard-webhooks', secret: '***' } }, { signing: { scheme: 'standard-webhooks', secret: STORED.signing!.secret } }],
    ['the mask keeps a secret header, matched without case', { headers: { authorization: '***', 'x-plain': 'q' } }, { headers: { authorization: 'Bearer stored-header', 'x-plain': 'q' } }],
    ['"***" in a header not named like a secret is a value', { headers: { 'x-plain': '***' } }, { headers: { 'x-plain': '***' } }],
  ])('%s', (_name, input, expected) => {
    expect(keepStoredSecrets({ id: 'e1', ...input }, STORED)).toEqual({ id: 'e1', ...expected });
  });

  it.each<[string, Record<string, unknown>, EndpointDefinition | undefined, string]>([
    ['a token of an endpoint not stored', { security_token: '***' }, undefined, 'endpoint.security_token'],
    ['a token the stored endpoint lacks', { security_token: '***' }, { id: 'e1', url: 'https://x.example/' }, 'endpoint.security_token'],
    ['a signing secret of another scheme', { signing: { scheme: 'hash', algorithm: 'sha256', secret: '***' } }, STORED, 'endpoint.signing.secret'],
    ['a secret header the stored endpoint lacks', { headers: { 'x-api-key': '***' } }, STORED, 'endpoint.headers.x-api-key'],
  ])('refuses the mask for %s, naming the field and no secret', (_name, input, stored, path) => {
    let error: unknown;
    try {
      keepStoredSecrets({ id: 'e1', ...input }, stored);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const { details, message } = error as ValidationError;
    expect(details.map((d) => d.path)).toEqual([path]);
    expect(message).toContain('there is none to keep');
    expect(message).not.toMatch(/tok-stored|whsec_|Bearer stored/);
  });

  it('leaves the input untouched', () => {
    const input = { id: 'e1', security_token: '***', headers: { authorization: '***' } };
    keepStoredSecrets(input, STORED);
    expect(input).toEqual({ id: 'e1', security_token: '***', headers: { authorization: '***' } });
  });
});
