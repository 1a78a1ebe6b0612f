// `npm run bench -- --cluster`: the dispatcher on a local 3-master Redis Cluster with
// QUEUE_SHARDS=1 (every key in one slot: one master works) and QUEUE_SHARDS=6 (two shards
// per master), alternating, medians. Per master: keys, commands/s, instantaneous ops/s and
// CPU per delivered postback. Writes bench/cluster-results.json. Everything (3 masters,
// receiver, dispatcher) shares this machine: see docs/scaling.md for what the figures mean.
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { shardPrefixes } from '../dist/src/redis/shards.js';
import { startCluster } from './cluster.mjs';
import { runScenario, startChild } from './lib.mjs';

const N = Number(process.env.BENCH_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const ENDPOINTS = 24;
const SHARDS = 6;
const CONCURRENCY = 100;

export async function runClusterBench() {
  const cluster = await startCluster(3);
  const { child: receiver, port } = await startChild(['bench/receiver.mjs', '0']);
  try {
    // A prefix whose 6 shard tags put 2 shards on each master (slots are hashes: an operator
    // checks with CLUSTER KEYSLOT, and moves a slot when two shards share a master).
    let prefix;
    let placement;
    for (let i = 0; prefix === undefined; i++) {
      const candidate = `{bench${i}}`;
      const ports = [];
      for (const p of shardPrefixes(candidate, SHARDS)) ports.push((await cluster.masterOf(`${p}:x`)).port);
      const counts = cluster.nodes.map((node) => ports.filter((x) => x === node.port).length);
      if (counts.every((c) => c === SHARDS / 3)) {
        prefix = candidate;
        placement = Object.fromEntries(shardPrefixes(candidate, SHARDS).map((p, j) => [p, ports[j]]));
      }
    }
    const env = (shards) => ({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      QUEUE_PREFIX: prefix,
      QUEUE_SHARDS: String(shards),
      TARGET: `http://127.0.0.1:${port}`,
      N: String(N),
      ENDPOINTS: String(ENDPOINTS),
      // The same slots per process either way: split over the shards' workers.
      WORKER_CONCURRENCY: String(Math.ceil(CONCURRENCY / shards)),
      PER_ORIGIN_CONCURRENCY: String(CONCURRENCY),
      ALLOW_PRIVATE_TARGETS: 'true',
      LOG_LEVEL: 'info',
    });
    const runs = { 1: [], [SHARDS]: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const k of [1, SHARDS]) {
        await cluster.flushAll();
        process.stderr.write(`bench: cluster, QUEUE_SHARDS=${k}, round ${round + 1}...\n`);
        const r = await runScenario('bench/scenario-cluster.mjs', env(k));
        process.stderr.write(`bench: cluster, QUEUE_SHARDS=${k}: ${Math.round(r.per_second)}/s\n`);
        runs[k].push(r);
      }
    }
    // The median run (the slower of the two middle ones for an even count: never the best run alone).
    const median = (k) => [...runs[k]].sort((a, b) => a.per_second - b.per_second)[Math.floor((runs[k].length - 1) / 2)];
    const one = median(1);
    const six = median(SHARDS);
    const redisCpuMs = (r) => r.masters.reduce((s, m) => s + m.cpu_ms_per_delivered, 0);
    // Capacity of one shard's master, from the K=6 run: CPU per delivered postback summed over the masters.
    const perMasterCoreCapacity = 1000 / redisCpuMs(six);
    const perWorkerCoreCapacity = 1000 / six.dispatcher_cpu_ms_per_delivered;
    const plan = (rate) => ({
      postbacks_per_second: rate,
      // Masters at half a core of Redis each (headroom for bursts, retries, replication, history reads).
      masters: Math.ceil(rate / (perMasterCoreCapacity * 0.5)),
      // Worker cores at 70 % busy (producers on other machines: this figure includes the producer's share).
      worker_cores: Math.ceil(rate / (perWorkerCoreCapacity * 0.7)),
    });
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
      setup: `3 masters (no replicas), ${ENDPOINTS} endpoints on one receiver, one process running producer and worker, ${CONCURRENCY} fast-lane slots (WORKER_CONCURRENCY=ceil(${CONCURRENCY}/QUEUE_SHARDS) per shard), everything on this machine`,
      prefix,
      shard_placement: placement,
      postbacks_per_run: N,
      rounds: ROUNDS,
      deliveries_per_second: { shards_1: one.per_second, shards_6: six.per_second, ratio_6_over_1: six.per_second / one.per_second },
      per_master: { shards_1: one.masters, shards_6: six.masters },
      redis_cpu_ms_per_delivered: { shards_1: redisCpuMs(one), shards_6: redisCpuMs(six) },
      dispatcher_cpu_ms_per_delivered: { shards_1: one.dispatcher_cpu_ms_per_delivered, shards_6: six.dispatcher_cpu_ms_per_delivered },
      per_shard_figures: {
        master_core_capacity_deliveries_per_second: perMasterCoreCapacity,
        worker_core_capacity_deliveries_per_second: perWorkerCoreCapacity,
      },
      extrapolation: [10_000, 50_000, 200_000].map(plan),
      runs,
    };
    writeFileSync('bench/cluster-results.json', `${JSON.stringify(results, null, 2)}\n`);
    const f = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
    console.log(`\ncluster sharding, ${results.date}, ${results.machine.cpus} x ${results.machine.cpu}, Node ${process.version}; ${N} postbacks per run, ${ROUNDS} rounds, medians`);
    console.log(`${results.setup}\n`);
    console.log('| | QUEUE_SHARDS=1 | QUEUE_SHARDS=6 |');
    console.log('|---|---|---|');
    console.log(`| deliveries/s | ${f(one.per_second)} | ${f(six.per_second)} (${f(six.per_second / one.per_second, 2)}x) |`);
    for (let i = 0; i < one.masters.length; i++) {
      const a = one.masters[i];
      const b = six.masters[i];
      console.log(`| master :${a.port} keys / commands/s / mean ops/s / CPU share | ${a.keys_at_end} / ${f(a.commands_per_second)} / ${f(a.instantaneous_ops_per_sec_mean)} / ${f(a.cpu_share, 2)} | ${b.keys_at_end} / ${f(b.commands_per_second)} / ${f(b.instantaneous_ops_per_sec_mean)} / ${f(b.cpu_share, 2)} |`);
    }
    console.log(`| Redis CPU ms / delivered (all masters) | ${f(redisCpuMs(one), 3)} | ${f(redisCpuMs(six), 3)} |`);
    console.log(`| dispatcher CPU ms / delivered | ${f(one.dispatcher_cpu_ms_per_delivered, 3)} | ${f(six.dispatcher_cpu_ms_per_delivered, 3)} |`);
    console.log('\n| postbacks/s | masters (at 50 % CPU) | worker cores (at 70 %) |');
    console.log('|---|---|---|');
    for (const p of results.extrapolation) console.log(`| ${p.postbacks_per_second} | ${p.masters} | ${p.worker_cores} |`);
  } finally {
    receiver.kill('SIGTERM');
    cluster.stop();
  }
}
