import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './global-redis.js';
import { portAccepts } from './port-accepts.js';
import { waitForValue } from './wait-until.js';

/**
 * One redis-server (or sentinel) of a test topology: its own port on 127.0.0.1 and its own
 * directory under the topology's, an admin connection for the test to inspect it, and
 * SIGKILL. Persistence off: failover tests are about replicas, not disks.
 */
export class RedisNode {
  readonly port: number;
  readonly dir: string;
  private child: ChildProcess | undefined;
  private client: Redis | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  /** A node on a free port, its directory made under `parentDir`. */
  static async create(parentDir: string): Promise<RedisNode> {
    const port = await freePort();
    const dir = join(parentDir, String(port));
    mkdirSync(dir, { recursive: true });
    return new RedisNode(port, dir);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts `redis-server [first] --port P --bind 127.0.0.1 --dir D ...args` and waits until it accepts connections. */
  async start(args: readonly string[], first: readonly string[] = []): Promise<void> {
    const base = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    const persistence = first.includes('--sentinel') ? [] : ['--save', '', '--appendonly', 'no'];
    this.child = spawn('redis-server', [...first, ...base, ...persistence, ...args], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await portAccepts(this.port))) {
      if (!this.alive || Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** An admin connection (no retries: a dead node's commands fail at once). */
  get admin(): Redis {
    this.client ??= new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => 100, connectionName: 'test-admin' });
    return this.client;
  }

  /** INFO `section` as a map of its fields. */
  async info(section: string): Promise<Map<string, string>> {
    return fields(await this.admin.info(section));
  }

  /** CLUSTER INFO as a map of its fields (cluster_state, ...). */
  async clusterInfo(): Promise<Map<string, string>> {
    return fields((await this.admin.call('CLUSTER', 'INFO')) as string);
  }

  /**
   * Makes sure every write this master acknowledged is on `replica`: pauses client writes
   * (CLIENT PAUSE WRITE: replication goes on) and waits until the replica's offset reaches
   * this node's. Writes sent meanwhile wait, unanswered, in the paused master. Redis
   * replication is asynchronous: without this, a write acknowledged in the last moments
   * before a master dies may never reach its replica (docs/scaling.md).
   */
  async pauseWritesUntilReplicated(replica: RedisNode, pauseMs = 30_000): Promise<void> {
    await this.admin.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE');
    const target = Number((await this.info('replication')).get('master_repl_offset'));
    await waitForValue(`replica ${replica.port} to reach offset ${target}`, async () => {
      const offset = Number((await replica.info('replication')).get('slave_repl_offset'));
      return offset >= target ? true : undefined;
    });
  }

  async kill(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
}


/** `name:value` lines (INFO, CLUSTER INFO) as a map. */
function fields(text: string): Map<string, string> {
  return new Map(text.split('\r\n').flatMap((line) => (line.includes(':') ? [line.split(':', 2) as [string, string]] : [])));
}
