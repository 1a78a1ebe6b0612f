import { createHash, createHmac } from 'node:crypto';

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'hmac-sha1' | 'hmac-sha256';

/**
 * Compiles a hash signature function once per endpoint: plain digests hash the input
 * followed by the secret; HMACs key the secret and hash the input. Output is lower hex.
 */
export function compileHashFunction(algorithm: HashAlgorithm, secret: string): (input: string) => string {
  switch (algorithm) {
    case 'md5':
    case 'sha1':
    case 'sha256':
      return (input) => createHash(algorithm).update(input).update(secret).digest('hex');
    case 'hmac-sha1':
      return (input) => createHmac('sha1', secret).update(input).digest('hex');
    case 'hmac-sha256':
      return (input) => createHmac('sha256', secret).update(input).digest('hex');
  }
}
