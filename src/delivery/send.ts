import { request, type Dispatcher } from 'undici';
import type { RenderedRequest } from '../endpoints/rendered-request.js';
import { DeliveryTimeoutError } from './errors.js';

/** Bytes of the response kept for history and `body_contains`. */
export const EXCERPT_BYTES = 4096;
/** Bytes read and discarded past the excerpt to keep the socket reusable; more closes it. */
const DRAIN_BYTES = 256 * 1024;

export interface RawResponse {
  readonly statusCode: number;
  readonly location: string | undefined;
  readonly retryAfter: string | undefined;
  readonly excerpt: string;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/**
 * One HTTP attempt and nothing else: a single overall deadline (`timeoutMs`) on top of
 * undici's headers and body timeouts; at most EXCERPT_BYTES kept, the rest drained or the
 * socket dropped. Throws what undici throws, or DeliveryTimeoutError at the deadline.
 */
export async function send(
  dispatcher: Dispatcher,
  req: RenderedRequest,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  timeoutMs: number,
): Promise<RawResponse> {
  const signal = AbortSignal.timeout(timeoutMs);
  let phase: 'headers' | 'body' = 'headers';
  try {
    const res = await request(req.url, {
      dispatcher,
      method: req.method,
      headers: extraHeaders === undefined ? req.headers : { ...req.headers, ...extraHeaders },
      body: req.body,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    phase = 'body';
    const chunks: Buffer[] = [];
    let kept = 0;
    let seen = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (kept < EXCERPT_BYTES) {
        const part = chunk.length + kept > EXCERPT_BYTES ? chunk.subarray(0, EXCERPT_BYTES - kept) : chunk;
        chunks.push(part);
        kept += part.length;
      }
      if (seen > DRAIN_BYTES) break; // leaving the loop destroys the body and its socket
    }
    return {
      statusCode: res.statusCode,
      location: headerValue(res.headers.location),
      retryAfter: headerValue(res.headers['retry-after']),
      excerpt: Buffer.concat(chunks, kept).toString('utf8'),
    };
  } catch (err) {
    if (signal.aborted) throw new DeliveryTimeoutError(timeoutMs, phase);
    throw err;
  }
}
