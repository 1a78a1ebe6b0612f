import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { Receiver } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** Each command as a child process against real Redis, with a real worker and receiver. */
describe('postback CLI', () => {
  let receiver: Receiver;
  let stack: Stack;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'pbd-cli-'));

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    stack = await startStack({ RETRY_SCHEDULE: '0,0.1' });
    env = { REDIS_URL: stack.config.redisUrl!, QUEUE_PREFIX: stack.config.queuePrefix, ALLOW_PRIVATE_TARGETS: 'true', RETRY_SCHEDULE: '0,0.1' };
    await stack.runtime.registry.upsert([
      { id: 'cli-ep', publisher_id: 'cp', url: `${receiver.base}/cli?e={event_id}&p={payout}&u={payload.user_id}`, security_token: 'cli-secret-token' },
    ]);
  });
  afterAll(async () => {
    await stack.close();
    await receiver.stop();
  });

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  // Fourteen CLI processes one after the other: on a loaded 2-core machine that takes a while.
  it('--help works on every command, exit 0; unknown commands and options exit 2', { timeout: 90_000 }, async () => {
    for (const cmd of ['start', 'api', 'worker', 'send', 'replay', 'simulate', 'sink', 'history', 'endpoints', 'keys']) {
      const r = await runCli([cmd, '--help'], env);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`postback ${cmd}`);
    }
    expect((await runCli(['bogus'], env)).code).toBe(2);
    const bare = await runCli([], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: postback');
    expect((await runCli(['history', '--bogus'], env)).code).toBe(2);
    expect((await runCli(['replay'], env)).code).toBe(2);
  });

  it('send: enqueues an event from flags and key=value fields, prints the id, and --wait prints the final record', async () => {
    const r = await runCli(['send', '--endpoint', 'cli-ep', '--id', 'send-1', 'payout=0.5', 'payload.user_id=u1'], env);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[a-z0-9]{21}$/);
    expect((await stack.waitFinal(id)).status).toBe('delivered');
    expect(receiver.requests.some((q) => q.url === '/cli?e=send-1&p=0.5&u=u1')).toBe(true);

    const w = await runCli(['send', '--url', `${receiver.base}/inline?c={external_id}`, '--preset', 'maxppi', '--wait', 'cid=abc', 'payout=1'], env);
    expect(w.code, w.stderr).toBe(0);
    const record = JSON.parse(w.stdout);
    expect(record).toMatchObject({ status: 'delivered', attempts: [expect.objectContaining({ status_code: 200 })] });
    expect(record.request.url).toContain('/inline?c=abc');
  });

  it('send: usage errors exit 2, a bad event exits 1 with one line naming the field', async () => {
    const none = await runCli(['send', 'payout=1'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--endpoint');
    const bad = await runCli(['send', '--endpoint', 'cli-ep', '--type', 'Bad Type'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('type');
    expect(bad.stderr).toContain('"Bad Type"');
    const unknown = await runCli(['send', '--endpoint', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown endpoint "nope"');
  });

  it('replay: sends an NDJSON file and a CSV file, then reports duplicates on a second run and delivered with --wait', async () => {
    const nd = file('events.ndjson', ['{"id":"nd-1","type":"conversion","payout":1}', '', '{"id":"nd-2","type":"conversion","payout":2,"payload":{"user_id":"x"}}'].join('\n'));
    const r = await runCli(['replay', nd, '--endpoint', 'cli-ep', '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('events 2, enqueued 2, duplicates 0, skipped 0, delivered 2, failed 0');
    const again = await runCli(['replay', nd, '--endpoint', 'cli-ep'], env);
    expect(again.stdout.trim()).toBe('events 2, enqueued 0, duplicates 2, skipped 0');
    const forced = await runCli(['replay', nd, '--endpoint', 'cli-ep', '--force'], env);
    expect(forced.stdout.trim()).toBe('events 2, enqueued 2, duplicates 0, skipped 0');

    const csv = file('events.csv', 'id,type,endpoint_id,payout,payload.user_id\ncsv-1,conversion,cli-ep,0.25,"u,1"\ncsv-2,conversion,cli-ep,3,u2\n');
    const c = await runCli(['replay', csv, '--wait'], env);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toBe('events 2, enqueued 2, duplicates 0, skipped 0, delivered 2, failed 0');
    expect(receiver.requests.some((q) => q.url === '/cli?e=csv-1&p=0.25&u=u%2C1')).toBe(true);
  });

  it('replay: a file with bad rows sends nothing and names each bad line', async () => {
    const before = await stack.runtime.redis.zcard(stack.runtime.keys.index);
    const bad = file('bad.ndjson', ['{"id":"b-1","type":"conversion"}', '{"id":"b 2","type":"conversion"}', 'not json', '{"id":"b-4","type":"conversion","payout":"x"}'].join('\n'));
    const r = await runCli(['replay', bad, '--endpoint', 'cli-ep'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: id`);
    expect(r.stderr).toContain(`${bad}:3: not valid JSON`);
    expect(r.stderr).toContain(`${bad}:4: payout`);
    expect(r.stderr).toContain('nothing was sent');
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(before);
  });

  it('replay: an unknown endpoint on a later line stops the run before the first line is sent', async () => {
    const before = await stack.runtime.redis.zcard(stack.runtime.keys.index);
    const nd = file('route.ndjson', '{"id":"rt-1","type":"conversion","endpoint_id":"cli-ep"}\n{"id":"rt-2","type":"conversion","endpoint_id":"no-such-ep"}\n');
    const r = await runCli(['replay', nd, '--rate', '1'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${nd}:2: endpoint_id unknown endpoint "no-such-ep"`);
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(before);
  });

  it('replay --dry-run prints each rendered request and sends nothing', async () => {
    const before = await stack.runtime.redis.zcard(stack.runtime.keys.index);
    const nd = file('dry.ndjson', '{"id":"dry-1","type":"conversion","payout":7}\n{"id":"dry-2","type":"conversion"}\n');
    const r = await runCli(['replay', nd, '--endpoint', 'cli-ep', '--dry-run'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { event_id: 'dry-1', endpoint_id: 'cli-ep', request: { method: 'GET', url: `${receiver.base}/cli?e=dry-1&p=7&u=`, headers: {}, body: null } },
      { event_id: 'dry-2', endpoint_id: 'cli-ep', request: { method: 'GET', url: `${receiver.base}/cli?e=dry-2&p=&u=`, headers: {}, body: null } },
    ]);
    expect(await stack.runtime.redis.zcard(stack.runtime.keys.index)).toBe(before);
  });

  it('replay --rate holds the rate within 20%', async () => {
    const n = 31;
    const rate = 50;
    const nd = file('rate.ndjson', Array.from({ length: n }, (_, i) => JSON.stringify({ id: `rate-${i}`, type: 'conversion' })).join('\n'));
    const r = await runCli(['replay', nd, '--endpoint', 'cli-ep', '--rate', String(rate)], env);
    expect(r.code, r.stderr).toBe(0);
    const list = await stack.get('/v1/postbacks?limit=1000');
    const created = list.json.items.filter((i: { event_id: string }) => i.event_id.startsWith('rate-')).map((i: { created_at: string }) => Date.parse(i.created_at));
    expect(created).toHaveLength(n);
    const spanMs = Math.max(...created) - Math.min(...created);
    const expected = ((n - 1) / rate) * 1000;
    expect(spanMs).toBeGreaterThanOrEqual(expected * 0.8);
    expect(spanMs).toBeLessThanOrEqual(expected * 1.2);
  });

  it('simulate: synthetic MaxPPI events at a rate against a URL, summarised from history', async () => {
    const r = await runCli(['simulate', '--preset', 'maxppi', '--url', `${receiver.base}/sim?c={external_id}&p={payout}&country={country}`, '--count', '20', '--rate', '100', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ events: 20, postbacks: 20, delivered: 20, failed: 0, pending: 0, attempts: 20 });
    expect(summary.latency_ms.p50).toBeGreaterThanOrEqual(0);
    expect(summary.latency_ms.p99).toBeGreaterThanOrEqual(summary.latency_ms.p50);
    const sims = receiver.requests.filter((q) => q.url.startsWith('/sim?'));
    expect(sims).toHaveLength(20);
    for (const q of sims) expect(q.url).toMatch(/^\/sim\?c=ext-[0-9a-f]{10}&p=\d+(\.\d+)?&country=[A-Z]{2}$/);
    expect((await runCli(['simulate', '--preset', 'nope', '--url', 'http://127.0.0.1/'], env)).code).toBe(2);
  });

  it('history: a table, --json and --csv with filters; secrets masked', async () => {
    const t = await runCli(['history', '--event', 'send-1'], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^created_at\s+postback\s+event\s+endpoint/);
    expect(t.stdout).toContain('send-1');
    const j = await runCli(['history', '--endpoint', 'cli-ep', '--status', 'delivered', '--limit', '3', '--json'], env);
    const rows = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatchObject({ endpoint_id: 'cli-ep', status: 'delivered' });
    const c = await runCli(['history', '--event', 'csv-1', '--csv'], env);
    const csv = parse<Record<string, string>>(c.stdout, { columns: true });
    expect(csv[0]).toMatchObject({ event_id: 'csv-1', status: 'delivered' });
    const lost = await runCli(['history', '--status', 'lost'], env);
    expect(lost.code).toBe(2);
    expect(lost.stderr).toContain('"lost"');
  });

  it('endpoints: list, show (masked) and test', async () => {
    const list = await runCli(['endpoints', 'list'], env);
    expect(list.stdout).toContain('cli-ep');
    const show = await runCli(['endpoints', 'show', 'cli-ep'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'cli-ep', security_token: '***' });
    const test = await runCli(['endpoints', 'test', 'cli-ep'], env);
    expect(test.code, test.stderr).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ ok: true, response: { status_code: 200 } });
    const missing = await runCli(['endpoints', 'show', 'nope'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
    for (const r of [list, show, test]) expect(r.stdout).not.toContain('cli-secret-token');
  });
});
