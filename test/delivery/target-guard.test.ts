import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isBlockedAddress, isBlockedLiteralHost, parseCidrs } from '../../src/delivery/target-guard.js';

const on = { allowPrivate: false, allowed: new BlockList() };

/** The guard's decision function only: no packet is sent to any of these addresses. */
describe('target guard decision', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1',
    'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '[::1]',
  ])('refuses %s', (ip) => {
    expect(isBlockedAddress(ip, on)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '172.32.0.1', '100.128.0.1'])('allows public %s', (ip) => {
    expect(isBlockedAddress(ip, on)).toBe(false);
  });

  it('lets ALLOWED_TARGET_CIDRS through and allows everything when private targets are allowed', () => {
    const policy = { allowPrivate: false, allowed: parseCidrs(['10.20.0.0/16']) };
    expect(isBlockedAddress('10.20.1.1', policy)).toBe(false);
    expect(isBlockedAddress('10.21.1.1', policy)).toBe(true);
    expect(isBlockedAddress('127.0.0.1', { allowPrivate: true, allowed: new BlockList() })).toBe(false);
    expect(() => parseCidrs(['10.0.0.0/33'])).toThrow(/ALLOWED_TARGET_CIDRS/);
  });

  it.each([
    'http://127.1/', 'http://2130706433/', 'http://0x7f.0.0.1/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/',
    'http://localhost:8080/', 'http://017700000001/', 'http://169.254.169.254/latest/meta-data',
  ])('flags every literal spelling of a blocked host: %s', (url) => {
    expect(isBlockedLiteralHost(url, on)).toBe(true);
  });

  it('does not flag names it would have to resolve', () => {
    expect(isBlockedLiteralHost('https://publisher.example/pb', on)).toBe(false);
  });
});
