import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './global-redis.js';
import { portAccepts } from './port-accepts.js';

const DEBIAN_ROOT = '/usr/lib/postgresql';
const READY = 'database system is ready to accept connections';

/** The newest `/usr/lib/postgresql/<ver>/bin` holding initdb and postgres, or undefined. */
export function findPostgresBin(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(DEBIAN_ROOT, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/** initdb and postgres refuse root: as root they run as the `postgres` system user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => {
    const r = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error('Running as root and there is no `postgres` system user to run initdb and postgres as.');
    return Number(r.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * A throw-away PostgreSQL cluster this test owns (Debian's binaries, trust auth, loopback only,
 * fsync off, socket and data in its own temp dir), so it can be killed and restarted without
 * touching anyone else's database. The global setup uses one for the whole run.
 */
export class PostgresProcess {
  readonly dir: string;
  port = 0;
  private readonly bin: string;
  private readonly spawnAs: SpawnOptions;
  private child: ChildProcess | undefined;
  private log: string[] = [];

  constructor() {
    const bin = findPostgresBin();
    if (bin === undefined) throw new Error(`No PostgreSQL server binaries under ${DEBIAN_ROOT}/<version>/bin: apt-get install postgresql`);
    this.bin = bin;
    const user = serverUser();
    this.dir = mkdtempSync(join(tmpdir(), 'pbd-pg-'));
    if (user) chownSync(this.dir, user.uid, user.gid);
    this.spawnAs = { cwd: this.dir, ...user };
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  /** Start the server (initdb on first start), on the same port and data as before if any. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    if (!existsSync(this.data)) this.initdb();
    this.log = [];
    // fsync off: commits reach the OS, not the disk, which survives a kill of the server (not
    // of the machine). synchronous_commit stays on: off, a kill would lose the last commits.
    const child = spawn(
      join(this.bin, 'postgres'),
      ['-D', this.data, '-p', String(this.port), '-h', '127.0.0.1', '-k', this.dir,
        '-c', 'fsync=off', '-c', 'full_page_writes=off'],
      { ...this.spawnAs, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail('did not get ready in 15 s'), 15_000);
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`postgres on port ${this.port} ${why}:\n${this.log.join('\n')}`));
      };
      let ready = false;
      let partial = '';
      // Drained for the server's whole life (a full pipe would block its logging); the last
      // lines are kept for the error of a failed start.
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        this.log.push(...lines);
        this.log.splice(0, this.log.length - 40);
        if (!ready && lines.some((l) => l.includes(READY))) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, signal) => {
        if (!ready) fail(`exited (${signal ?? code})`);
      });
    });
  }

  /** Immediate shutdown (SIGQUIT): connections dropped, no checkpoint; the data dir is kept. */
  async kill(): Promise<void> {
    await this.shutdown('SIGQUIT');
  }

  /** Fast shutdown (SIGINT) if running, `downMs` down, then up again on the same port and data. */
  async restart(downMs = 0): Promise<void> {
    await this.shutdown('SIGINT');
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** Immediate shutdown, then the data dir removed. */
  async stop(): Promise<void> {
    await this.shutdown('SIGQUIT');
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether the port accepts a TCP connection. */
  accepts(): Promise<boolean> {
    return portAccepts(this.port);
  }

  private initdb(): void {
    const r = spawnSync(
      join(this.bin, 'initdb'),
      ['-D', this.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { ...this.spawnAs, encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`initdb failed (${r.error?.message ?? r.signal ?? r.status}):\n${r.stderr}`);
  }

  /** The postmaster stops its children before it exits: once it is gone, no process is left. */
  private async shutdown(signal: 'SIGINT' | 'SIGQUIT'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
