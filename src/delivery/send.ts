import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
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
 * The deadline is a plain timer cleared when the attempt ends (AbortSignal.timeout's would
 * live on for the whole timeout after every fast answer), firing an EventEmitter, which
 * undici takes as a signal and which costs a fraction of an AbortController (an EventTarget).
 */
export async function send(
  dispatcher: Dispatcher,
  req: RenderedRequest,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  timeoutMs: number,
): Promise<RawResponse> {
  const deadline = new Deadline();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  let phase: 'headers' | 'body' = 'headers';
  try {
    const split = splitUrl(req.url);
    const options = {
      method: req.method,
      headers: extraHeaders === undefined ? req.headers : { ...req.headers, ...extraHeaders },
      body: req.body,
      signal: deadline,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    };
    const res = split === undefined ? await request(req.url, { dispatcher, ...options }) : await dispatcher.request({ ...split, ...options });
    phase = 'body';
    const excerpt = await readExcerpt(res.body);
    return {
      statusCode: res.statusCode,
      location: headerValue(res.headers.location),
      retryAfter: headerValue(res.headers['retry-after']),
      excerpt,
    };
  } catch (err) {
    if (deadline.aborted) throw new DeliveryTimeoutError(timeoutMs, phase);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** The attempt's overall deadline, as undici's `signal` (an EventEmitter with `aborted`). */
class Deadline extends EventEmitter {
  aborted = false;

  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

/** An origin-form URL undici would send unchanged: lower-case host, no fragment, no dot segments, path characters as they go on the wire. */
const PLAIN_URL = /^(https?):\/\/([a-z0-9.-]+)(?::(\d{1,5}))?(\/[A-Za-z0-9\-._~%!$&()*+,;=:@/?]*)?$/;
/** Dot segments, also percent-encoded ones, which the parser resolves. */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:[/?]|$)/i;

/**
 * Origin and path of a plain URL, split without a URL object (undici's `request(url)`
 * parses one per call); undefined for anything else, which goes through undici's parser.
 */
export function splitUrl(url: string): { origin: string; path: string } | undefined {
  const m = PLAIN_URL.exec(url);
  if (m === null) return undefined;
  const [, scheme, host, port, path = '/'] = m;
  // A default port written out: the parser drops it, and the origin keys undici's pool.
  if ((port === '80' && scheme === 'http') || (port === '443' && scheme === 'https')) return undefined;
  if (DOT_SEGMENT.test(path)) return undefined;
  return { origin: port === undefined ? `${scheme}://${host}` : `${scheme}://${host}:${port}`, path };
}

/**
 * The body's first EXCERPT_BYTES as text; the rest is read and dropped up to DRAIN_BYTES
 * (the socket stays reusable), past that the body and its socket are destroyed. Events,
 * not async iteration: a body is usually one small chunk, and an iterator costs more.
 */
function readExcerpt(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let seen = 0;
    const done = (): void => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, kept).toString('utf8'));
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (kept < EXCERPT_BYTES) {
        const part = chunk.length + kept > EXCERPT_BYTES ? chunk.subarray(0, EXCERPT_BYTES - kept) : chunk;
        chunks.push(part);
        kept += part.length;
      }
      if (seen > DRAIN_BYTES) {
        body.destroy();
        done();
      }
    });
    body.once('end', done);
    body.once('error', reject);
  });
}
