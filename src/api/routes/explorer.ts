import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../../runtime/package-root.js';
import { OPENAPI } from '../openapi.js';

/**
 * The page's own files only: no inline script or style anywhere (public/explorer.html loads
 * explorer.js, an ES module importing those in explorer/, and explorer.css), so neither
 * directive needs 'unsafe-inline'.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
].join('; ');

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The page's modules, public/explorer/NAME.js, each served at /explorer/NAME.js. */
export const EXPLORER_MODULES = [
  'api-client',
  'api-key',
  'dom',
  'endpoint-form',
  'endpoint-form-fields',
  'endpoint-preview',
  'endpoint-test',
  'endpoints-view',
  'field-errors',
  'format',
  'history-filters',
  'history-list',
  'messages',
  'overview-view',
  'postback-detail',
  'whoami',
] as const;

/**
 * The Explorer's files, by URL path: an explicit list (nothing else under public/ is served,
 * and no path is ever joined from a request). Open without an API key (they hold no data).
 */
const FILES: readonly { path: string; file: string; type: string }[] = [
  { path: '/', file: 'explorer.html', type: HTML },
  { path: '/explorer.js', file: 'explorer.js', type: JS },
  { path: '/explorer.css', file: 'explorer.css', type: CSS },
  ...EXPLORER_MODULES.map((name) => ({ path: `/explorer/${name}.js`, file: `explorer/${name}.js`, type: JS })),
];

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
 * GET / serves the Postback Explorer (one static page, no build step), GET /explorer.js and
 * /explorer/*.js its modules, /explorer.css its styles; GET /openapi.json the API description.
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
