import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisNode } from './redis-node.js';
import { waitForValue } from './wait-until.js';

/**
 * A master, one replica and three sentinels (quorum 2) on free loopback ports, owned by one
 * test file. Failure is noticed after 1 s (down-after-milliseconds), so a failover takes a
 * few seconds.
 */
export class SentinelTopology {
  static readonly MASTER_NAME = 'pbd-master';
  readonly dir = mkdtempSync(join(tmpdir(), 'pbd-sentinel-'));
  master!: RedisNode;
  replica!: RedisNode;
  readonly sentinels: RedisNode[] = [];

  /** REDIS_SENTINELS for the dispatcher. */
  get sentinelsEnv(): string {
    return this.sentinels.map((s) => s.address).join(',');
  }

  async start(): Promise<void> {
    this.master = await RedisNode.create(this.dir);
    this.replica = await RedisNode.create(this.dir);
    await this.master.start([]);
    await this.replica.start(['--replicaof', '127.0.0.1', String(this.master.port)]);
    for (let i = 0; i < 3; i++) {
      const node = await RedisNode.create(this.dir);
      // Sentinel rewrites its config file: each gets its own, in its own directory.
      const conf = join(node.dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `sentinel monitor ${SentinelTopology.MASTER_NAME} 127.0.0.1 ${this.master.port} 2`,
          `sentinel down-after-milliseconds ${SentinelTopology.MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SentinelTopology.MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${SentinelTopology.MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      await node.start([], [conf, '--sentinel']);
      this.sentinels.push(node);
    }
    await waitForValue('the replica in sync', async () => ((await this.replica.info('replication')).get('master_link_status') === 'up' ? true : undefined));
    // Each sentinel must know the replica and the two other sentinels (hello messages every
    // 2 s) before a failover can be agreed on.
    await waitForValue('the sentinels to know each other and the replica', async () => {
      for (const s of this.sentinels) {
        const fields = toMap((await s.admin.call('SENTINEL', 'MASTER', SentinelTopology.MASTER_NAME)) as string[]);
        if (fields.get('num-other-sentinels') !== '2' || fields.get('num-slaves') !== '1') return undefined;
      }
      return true;
    });
  }

  /** The master's address as each sentinel reports it. */
  async reportedMasters(): Promise<string[]> {
    return Promise.all(
      this.sentinels.map(async (s) => ((await s.admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SentinelTopology.MASTER_NAME)) as string[]).join(':')),
    );
  }

  /** Resolves once every sentinel names the replica as master and it says so itself. */
  async waitPromoted(timeoutMs = 30_000): Promise<void> {
    await waitForValue(
      `sentinels to promote ${this.replica.address}`,
      async () => {
        const masters = await this.reportedMasters();
        if (!masters.every((m) => m === this.replica.address)) return undefined;
        return (await this.replica.info('replication')).get('role') === 'master' ? true : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * `min-replicas-to-write 1` (lag at most `maxLagS`) on both data nodes, or 0 (off): a
   * master without a live replica then refuses writes (NOREPLICAS).
   */
  async requireReplicaForWrites(on: boolean, maxLagS = 10): Promise<void> {
    for (const n of [this.master, this.replica]) {
      await n.admin.call('CONFIG', 'SET', 'min-replicas-to-write', on ? '1' : '0', 'min-replicas-max-lag', String(maxLagS));
    }
  }

  /** Asks a sentinel for a planned failover (SENTINEL FAILOVER): the master is alive throughout. */
  async startSwitchover(): Promise<void> {
    await this.sentinels[0]!.admin.call('SENTINEL', 'FAILOVER', SentinelTopology.MASTER_NAME);
  }

  /**
   * After a switchover: the replica is master, the old master was demoted (Sentinel does it
   * ~10 s after the promotion, closing its clients' connections) and is in sync as the new
   * master's replica. `master` and `replica` then name the nodes in their new roles.
   */
  async waitSwitchedOver(timeoutMs = 30_000): Promise<void> {
    await this.waitPromoted(timeoutMs);
    const old = this.master;
    await waitForValue('the old master in sync as a replica', async () => ((await old.info('replication')).get('master_link_status') === 'up' ? true : undefined), timeoutMs);
    [this.master, this.replica] = [this.replica, old];
  }

  async stop(): Promise<void> {
    for (const n of [...this.sentinels, this.replica, this.master]) await n?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A flat [name, value, name, value, ...] reply as a map. */
function toMap(flat: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  return m;
}
