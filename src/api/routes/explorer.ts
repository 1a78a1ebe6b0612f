import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../../runtime/package-root.js';
import { OPENAPI } from '../openapi.js';

/**
 * The page's own files only: no inline script or style anywhere (public/explorer.html loads
 * explorer.js and explorer.css), so neither directive needs 'unsafe-inline'.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
].join('; ');

/** The Explorer's files, by URL path; open without an API key (the page holds no data). */
const FILES = [
  { path: '/', file: 'explorer.html', type: 'text/html; charset=utf-8' },
  { path: '/explorer.js', file: 'explorer.js', type: 'text/javascript; charset=utf-8' },
  { path: '/explorer.css', file: 'explorer.css', type: 'text/css; charset=utf-8' },
] as const;

export const EXPLORER_PATHS: readonly string[] = FILES.map((f) => f.path);

interface StaticFile {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

/** True when the client's cached copy (If-None-Match) is the one we serve. */
function fresh(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function serve(file: StaticFile, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // no-cache: a browser keeps the files but revalidates each load (ETag, 304), so the page,
  // its script and its styles always come from the same release.
  void reply.header('cache-control', 'no-cache').header('etag', file.etag).header('x-content-type-options', 'nosniff');
  if (file.type.startsWith('text/html')) void reply.header('content-security-policy', CSP);
  if (fresh(request, file.etag)) return reply.code(304).send();
  return reply.header('content-type', file.type).send(file.body);
}

/**
 * GET / serves the Postback Explorer (one static page, no build step) and GET /explorer.js,
 * /explorer.css its script and styles; GET /openapi.json the API description.
 */
export function explorerRoutes(app: FastifyInstance): void {
  const dir = join(packageRoot(), 'public');
  for (const { path, file, type } of FILES) {
    // Read once at start: the files are static.
    const body = readFileSync(join(dir, file), 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
    const prepared: StaticFile = { body, type, etag };
    app.get(path, async (request, reply) => serve(prepared, request, reply));
  }
  app.get('/openapi.json', () => Promise.resolve(OPENAPI));
}
