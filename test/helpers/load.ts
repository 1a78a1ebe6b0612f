import { spawn, type ChildProcess } from 'node:child_process';
import type { Stack } from './stack.js';
import type { Receiver } from './receiver.js';

/** Sends `n` events (ids `${prefix}-i`) in batches and returns their postback ids. */
export async function sendLoad(stack: Stack, endpointId: string, prefix: string, n: number, batch = 100): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += batch) {
    const events = Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ id: `${prefix}-${i + j}`, type: 'conversion', endpoint_id: endpointId }));
    const res = await stack.post('/v1/events', { events });
    if (res.status !== 202) throw new Error(`enqueue failed: ${res.status} ${JSON.stringify(res.json)}`);
    for (const e of res.json.events as { postbacks: string[] }[]) ids.push(...e.postbacks);
  }
  return ids;
}

/** The batch jobs that carried the postbacks' first attempts (a postback sent on its own has none). */
export async function batchesOf(stack: Stack, ids: readonly string[]): Promise<{ batched: number; batches: number }> {
  const pipe = stack.runtime.redis.pipeline();
  for (const id of ids) pipe.hget(stack.runtime.keys.record(id), 'j');
  const js = ((await pipe.exec()) ?? []).map(([, v]) => v).filter((v): v is string => typeof v === 'string');
  return { batched: js.length, batches: new Set(js).size };
}

/** Every postback's final status, and what the receiver saw: delivered count and duplicate sends. */
export async function account(stack: Stack, ids: readonly string[], receiver: Receiver, prefix: string, timeoutMs = 60_000) {
  const records = await Promise.all(ids.map((id) => stack.waitFinal(id, timeoutMs)));
  const statuses = records.map((r) => r.status);
  const sent = receiver.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('e')).filter((e): e is string => e?.startsWith(`${prefix}-`) ?? false);
  const distinct = new Set(sent);
  return {
    delivered: statuses.filter((s) => s === 'delivered').length,
    /** Why each postback that did not end delivered ended as it did: its attempts' errors, to read in a failed assertion. */
    notDelivered: records.filter((r) => r.status !== 'delivered').map((r) => `${r.id}: ${r.status} ${r.attempts.map((a) => `${a.status_code}/${a.error ?? '-'}/${a.duration_ms}ms`).join(', ')}`),
    failed: statuses.filter((s) => s === 'failed').length,
    distinctReceived: distinct.size,
    duplicates: sent.length - distinct.size,
  };
}

/** A worker in its own process (node dist/workers/postback-worker.js). */
export function spawnWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['dist/workers/postback-worker.js'], {
    env: { ...process.env, LOG_LEVEL: 'silent', ALLOW_PRIVATE_TARGETS: 'true', ...env },
    stdio: 'ignore',
  });
}
