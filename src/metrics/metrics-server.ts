import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServerOptions {
  readonly port: number;
  readonly host: string;
  readonly registry: Registry;
  /** The exposition text, when more than `registry` (Metrics.render: the slow lane's thread too). */
  readonly render?: () => Promise<string>;
  /** Whether Redis answers, for /readyz; never rejects. */
  readonly ready: () => Promise<boolean>;
}

export interface MetricsServer {
  /** The bound address, e.g. http://127.0.0.1:9464. */
  readonly address: string;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP server of a worker-only process (METRICS_PORT): `GET /metrics` (the process's
 * registry), `GET /healthz` (200 while the process runs: a liveness probe) and `GET /readyz`
 * (503 while Redis does not answer), as on the API. No auth, no body parsing, nothing else.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, ready } = options;
  const render = options.render ?? (() => registry.metrics());
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, JSON_TYPE, '{"error":"method not allowed"}');
    if (path === '/healthz') return send(res, 200, JSON_TYPE, '{"ok":true}');
    if (path === '/readyz') {
      void ready().then((up) => send(res, up ? 200 : 503, JSON_TYPE, up ? '{"ok":true,"redis":"up"}' : '{"ok":false,"redis":"down"}'));
      return;
    }
    if (path === '/metrics') {
      // The scrape-time gauges read Redis: while it is away the scrape fails (503) and
      // Prometheus records the target as down (up == 0).
      render().then(
        (body) => send(res, 200, registry.contentType, body),
        () => send(res, 503, JSON_TYPE, '{"error":"metrics unavailable: Redis does not answer"}'),
      );
      return;
    }
    send(res, 404, JSON_TYPE, JSON.stringify({ error: `no route ${req.method} ${path}` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive: close() must not wait for them.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
