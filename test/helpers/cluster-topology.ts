import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './global-redis.js';
import { RedisNode } from './redis-node.js';
import { waitForValue } from './wait-until.js';

/** One line of CLUSTER NODES: a node, its role, its master (replicas) and its slots (masters). */
interface ClusterNodeLine {
  readonly id: string;
  readonly port: number;
  readonly master: boolean;
  readonly failed: boolean;
  readonly masterId: string;
  readonly slots: readonly [number, number][];
}

/**
 * A Redis Cluster of 3 masters and 3 replicas on free loopback ports (redis-cli --cluster
 * create), owned by one test file. cluster-node-timeout 1000 ms: a failed master's replica
 * takes over within a few seconds.
 */
export class ClusterTopology {
  readonly dir = mkdtempSync(join(tmpdir(), 'pbd-cluster-'));
  readonly nodes: RedisNode[] = [];

  /** REDIS_CLUSTER_NODES for the dispatcher. */
  get nodesEnv(): string {
    return this.nodes.map((n) => n.address).join(',');
  }

  async start(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const node = await RedisNode.create(this.dir);
      // The cluster bus listens on port + 10000 unless told: a free port of its own instead
      // (an ephemeral port above 55535 would put the default past 65535).
      await node.start([
        '--cluster-enabled', 'yes',
        '--cluster-port', String(await freePort()),
        '--cluster-config-file', join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout', '1000',
        // Let a replica take over however long it was cut off from its master.
        '--cluster-replica-validity-factor', '0',
      ]);
      this.nodes.push(node);
    }
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes']);
    await this.waitHealthy();
  }

  /** Every live node says cluster_state:ok and sees 3 masters, each with a replica in sync. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitForValue(
      'the cluster to be ok',
      async () => {
        for (const n of this.nodes.filter((x) => x.alive)) if ((await n.clusterInfo()).get('cluster_state') !== 'ok') return undefined;
        const lines = await this.clusterNodes();
        const masters = lines.filter((l) => l.master && !l.failed && l.slots.length > 0);
        if (masters.length !== 3) return undefined;
        for (const r of lines.filter((l) => !l.master && !l.failed)) {
          const node = this.byPort(r.port);
          if ((await node.info('replication')).get('master_link_status') !== 'up') return undefined;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** The master serving `key`'s slot, and its replica. */
  async shardOf(key: string): Promise<{ slot: number; master: RedisNode; replica: RedisNode }> {
    const any = this.nodes.find((n) => n.alive)!;
    const slot = Number(await any.admin.call('CLUSTER', 'KEYSLOT', key));
    const lines = await this.clusterNodes();
    const master = lines.find((l) => l.master && !l.failed && l.slots.some(([a, b]) => slot >= a && slot <= b));
    const replica = lines.find((l) => !l.master && !l.failed && l.masterId === master?.id);
    if (master === undefined || replica === undefined) throw new Error(`no master with a replica for slot ${slot}`);
    return { slot, master: this.byPort(master.port), replica: this.byPort(replica.port) };
  }

  /** Resolves once `node` is a master serving `slot` and the cluster is ok again. */
  async waitServing(node: RedisNode, slot: number, timeoutMs = 30_000): Promise<void> {
    await waitForValue(
      `${node.address} to serve slot ${slot}`,
      async () => {
        if ((await node.clusterInfo()).get('cluster_state') !== 'ok') return undefined;
        const self = (await this.clusterNodes(node)).find((l) => l.port === node.port);
        return self?.master && self.slots.some(([a, b]) => slot >= a && slot <= b) ? true : undefined;
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private byPort(port: number): RedisNode {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node on port ${port}`);
    return node;
  }

  private async clusterNodes(from = this.nodes.find((n) => n.alive)!): Promise<ClusterNodeLine[]> {
    const text = (await from.admin.call('CLUSTER', 'NODES')) as string;
    return text
      .trim()
      .split('\n')
      .map((line) => {
        // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges...>
        const [id, addr, flags, masterId, , , , , ...slots] = line.split(' ');
        const flagSet = new Set(flags!.split(','));
        return {
          id: id!,
          port: Number(/:(\d+)@/.exec(addr!)?.[1]),
          master: flagSet.has('master'),
          failed: flagSet.has('fail') || flagSet.has('fail?'),
          masterId: masterId!,
          slots: slots.filter((s) => /^\d+(-\d+)?$/.test(s)).map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a!, b ?? a!] as [number, number];
          }),
        };
      });
  }
}

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
