import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

export type Responder = (req: Received, index: number, res: ServerResponse) => void | 'hang';

/**
 * A real HTTP server on loopback that records every request and answers as the test
 * says (default 200 "OK"). `waitFor(n)` resolves once n requests arrived.
 */
export class Receiver {
  readonly requests: Received[] = [];
  private server: Server | undefined;
  private waiters: { n: number; resolve: () => void }[] = [];
  private hanging: ServerResponse[] = [];
  responder: Responder = (_r, _i, res) => {
    res.end('OK');
  };

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Received = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.requests.push(rec);
        const result = this.responder(rec, this.requests.length - 1, res);
        if (result === 'hang') this.hanging.push(res);
        this.waiters = this.waiters.filter((w) => {
          if (this.requests.length >= w.n) {
            w.resolve();
            return false;
          }
          return true;
        });
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this.base;
  }

  get base(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  waitFor(n: number, timeoutMs = 15_000): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver got ${this.requests.length} of ${n} requests in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export function respond(status: number, body = '', headers: Record<string, string> = {}): (res: ServerResponse) => void {
  return (res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
}
