// A throw-away Redis Cluster of 3 masters (no replicas) on loopback, for `npm run bench -- --cluster`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep } from './lib.mjs';

export async function startCluster(masters = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'pbd-bench-cluster-'));
  const nodes = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    const busPort = await freePort();
    const nodeDir = join(dir, String(port));
    await run('mkdir', ['-p', nodeDir]);
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', join(nodeDir, 'nodes.conf'),
    ], { stdio: 'ignore' });
    const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 100, maxRetriesPerRequest: null });
    // Refused until the server listens: the retry strategy waits for it.
    admin.on('error', () => undefined);
    nodes.push({ port, child, admin, address: `127.0.0.1:${port}` });
  }
  for (const n of nodes) await n.admin.ping();
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes']);
  for (;;) {
    const states = await Promise.all(nodes.map((n) => n.admin.cluster('INFO')));
    if (states.every((s) => s.includes('cluster_state:ok'))) break;
    await sleep(100);
  }
  return {
    nodes,
    nodesEnv: nodes.map((n) => n.address).join(','),
    /** The port of the master serving `key`'s slot. */
    async masterOf(key) {
      const slot = Number(await nodes[0].admin.cluster('KEYSLOT', key));
      const ranges = await nodes[0].admin.cluster('SLOTS');
      const hit = ranges.find(([a, b]) => slot >= a && slot <= b);
      return { slot, port: Number(hit[2][1]) };
    },
    async flushAll() {
      for (const n of nodes) await n.admin.flushall();
    },
    stop() {
      for (const n of nodes) {
        n.admin.disconnect();
        n.child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}
