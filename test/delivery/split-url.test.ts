import { describe, expect, it } from 'vitest';
import { splitUrl } from '../../src/delivery/send.js';

describe('splitUrl (origin and path without a URL object)', () => {
  it('splits plain URLs exactly as the WHATWG parser does', () => {
    const plain = [
      'http://127.0.0.1:8080/pb?click_id=abc&payout=1.50',
      'https://pub.example.com/postback',
      'https://pub.example.com',
      'http://a.example/p%20q/r?x=%E2%82%AC&y=a:b@c,d;e=f',
      'http://a.example/..x/.y?z=1',
      'https://a.example:8443/?only=query',
    ];
    for (const u of plain) {
      const url = new URL(u);
      expect(splitUrl(u), u).toEqual({ origin: url.origin, path: `${url.pathname}${url.search}` });
    }
  });

  it("leaves to undici's parser what it would change: case, fragments, dot segments, spaces, non-ASCII, IPv6, userinfo", () => {
    for (const u of [
      'http://A.example/x',
      'http://a.example/x#frag',
      'http://a.example/a/../b',
      'http://a.example/./b',
      'http://a.example/a/%2e%2E/b',
      'http://a.example/%2e/b',
      "http://a.example/q?x='1'",
      'http://a.example:80/x',
      'https://a.example:443/x',
      'http://a.example/a b',
      'http://a.example/€',
      'http://[::1]:8080/x',
      'http://user:pw@a.example/x',
      'http://a.example?x=1',
      'ftp://a.example/x',
    ]) {
      expect(splitUrl(u), u).toBeUndefined();
    }
  });
});
