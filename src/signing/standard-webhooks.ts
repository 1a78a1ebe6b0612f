import { createHmac } from 'node:crypto';
import { ValidationError } from '../errors/base-error.js';

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature: v1,<base64 HMAC-SHA256>`
 * over `${id}.${timestamp}.${body}`, keyed with the base64 secret after its `whsec_` prefix.
 * The key is decoded once, when the endpoint is compiled.
 */
export class StandardWebhooksSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
    const key = Buffer.from(encoded, 'base64');
    if (key.length < 16 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      throw new ValidationError('signing.secret must be "whsec_" followed by base64 of at least 16 bytes', [
        { path: 'signing.secret', message: 'must be "whsec_" + base64 of at least 16 bytes' },
      ]);
    }
    this.key = key;
  }

  /** Headers for one attempt: the id stays the postback id, timestamp and signature are new. */
  headers(messageId: string, body: string, timestampS: number): Record<string, string> {
    const ts = String(timestampS);
    const sig = createHmac('sha256', this.key).update(`${messageId}.${ts}.${body}`).digest('base64');
    return { 'webhook-id': messageId, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}` };
  }
}
