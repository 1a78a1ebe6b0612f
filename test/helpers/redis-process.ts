import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './global-redis.js';
import { portAccepts } from './port-accepts.js';

/**
 * A throw-away redis-server this test owns (AOF on, fsync always), so it can be
 * restarted, paused or killed without touching anyone else's Redis.
 */
export class RedisProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'pbd-fault-redis-'));
  port = 0;
  private child: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await portAccepts(this.port))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Graceful restart: SHUTDOWN (AOF flushed), then start again on the same port and data. */
  async restart(downMs = 0): Promise<void> {
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown'], { timeout: 5000 });
    await this.exited();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGKILL');
    await this.exited();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private exited(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((r) => c.once('exit', () => r()));
  }
}
