import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** `postback sink` as a child process, as QA and the compose stack run it. */
class SinkProcess {
  stdout = '';
  stderr = '';
  readonly url: Promise<string>;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['dist/src/cli/main.js', 'sink', '--port', '0', ...args], { stdio: 'pipe' });
    this.child.stdout.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.url = new Promise((resolve, reject) => {
      const onData = (): void => {
        const m = /listening on (http:\/\/\S+)/.exec(this.stdout);
        if (m) {
          this.child.stdout.off('data', onData);
          resolve(m[1] as string);
        }
      };
      this.child.stdout.on('data', onData);
      void this.exited.then((code) => reject(new Error(`sink exited ${code} before listening: ${this.stderr}`)));
    });
  }

  /** SIGTERM, then the exit code once it has printed its summary. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Runs `postback sink ARGS` to its exit (for usage errors). */
function runSink(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/src/cli/main.js', 'sink', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

async function send(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, text: await res.text() };
}

const SECRET = `whsec_${Buffer.from('sink-test-secret-0123456789abcdef').toString('base64')}`;

function signed(body: string, msgId = 'msg_1', at = new Date()): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(SECRET).sign(msgId, at, body),
  };
}

describe('postback sink', () => {
  const sinks: SinkProcess[] = [];
  let stack: Stack | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pbd-sink-'));

  const start = async (...args: string[]): Promise<{ sink: SinkProcess; url: string }> => {
    const sink = new SinkProcess(args);
    sinks.push(sink);
    return { sink, url: await sink.url };
  };

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    await Promise.all(sinks.splice(0).map((s) => s.stop()));
  });

  it('binds loopback, answers 200 "OK" by default, prints a line per request and a summary on SIGTERM', async () => {
    const { sink, url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await send(`${url}/pb?click_id=abc&payout=0.5`)).toEqual({ status: 200, text: 'OK' });
    expect(await send(`${url}/json`, { method: 'POST', body: '{"a":1}' })).toEqual({ status: 200, text: 'OK' });
    expect(await sink.stop()).toBe(0);
    const lines = sink.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z GET \/pb\?click_id=abc&payout=0\.5 200$/);
    expect(lines[2]).toMatch(/ POST \/json 200$/);
    expect(lines.at(-1)).toBe('sink summary: requests 2 (200: 2)');
  });

  it('--status answers that status; 2xx have the body "OK"', async () => {
    const { url } = await start('--status', '503');
    expect((await send(`${url}/x`)).status).toBe(503);
    const ok = await start('--status', '202');
    expect(await send(`${ok.url}/x`)).toEqual({ status: 202, text: 'OK' });
  });

  it('--fail-first 2 fails the first two attempts of each distinct request (method + URL + body), then succeeds', async () => {
    const { sink, url } = await start('--fail-first', '2');
    const post = (path: string, body: string) => send(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/a?id=1`)).status);
    expect(statuses).toEqual([500, 500, 200]);
    // Another URL, another method, another body: each is a new request with its own count.
    expect((await send(`${url}/a?id=2`)).status).toBe(500);
    expect((await post('/a?id=1', '{"n":1}')).status).toBe(500);
    expect((await post('/a?id=1', '{"n":2}')).status).toBe(500);
    expect((await post('/a?id=1', '{"n":1}')).status).toBe(500);
    expect((await post('/a?id=1', '{"n":1}')).status).toBe(200);
    // A request that has succeeded keeps succeeding.
    expect((await send(`${url}/a?id=1`)).status).toBe(200);
    expect(await sink.stop()).toBe(0);
    expect(sink.stdout).toContain('GET /a?id=1 500 fail-first 1/2');
    expect(sink.stdout).toContain('GET /a?id=1 500 fail-first 2/2');
    expect(sink.stdout).toContain('sink summary: requests 9 (200: 3, 500: 6)');
  });

  it('--fail-rate 1 answers every request 500, --fail-rate 0 none', async () => {
    const { url } = await start('--fail-rate', '1');
    for (let i = 0; i < 5; i++) expect((await send(`${url}/r${i}`)).status).toBe(500);
    const never = await start('--fail-rate', '0');
    for (let i = 0; i < 5; i++) expect((await send(`${never.url}/r${i}`)).status).toBe(200);
  });

  it('--latency delays every answer by at least the given milliseconds (and accepts a range)', async () => {
    const { url } = await start('--latency', '150');
    const t0 = performance.now();
    expect((await send(`${url}/slow`)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    const range = await start('--latency', '60-80');
    const t1 = performance.now();
    expect((await send(`${range.url}/slow`)).status).toBe(200);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
  });

  it('--verify-standard-webhooks accepts a standardwebhooks-signed request, refuses tampered, unsigned and stale ones; --log records each', async () => {
    const log = join(dir, 'verify.ndjson');
    const { sink, url } = await start('--verify-standard-webhooks', SECRET, '--log', log);
    const body = JSON.stringify({ event_id: 'conv-1', payout: '2.10' });
    expect(await send(`${url}/hook?x=1`, { method: 'POST', body, headers: signed(body) })).toEqual({ status: 200, text: 'OK' });
    const tampered = await send(`${url}/hook?x=1`, { method: 'POST', body: body.replace('2.10', '9.99'), headers: signed(body) });
    expect(tampered.status).toBe(401);
    expect((await send(`${url}/hook`, { method: 'POST', body })).status).toBe(401);
    const old = new Date(Date.now() - 10 * 60_000);
    expect((await send(`${url}/hook`, { method: 'POST', body, headers: signed(body, 'msg_2', old) })).status).toBe(401);
    // Other keys' signatures next to a good one are ignored (Standard Webhooks allows several).
    const headers = signed(body, 'msg_3');
    headers['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}`;
    expect((await send(`${url}/hook`, { method: 'POST', body, headers })).status).toBe(200);
    expect(await sink.stop()).toBe(0);

    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.status, e.verified, e.reason])).toEqual([
      [200, true, 'configured'],
      [401, false, 'bad-signature'],
      [401, false, 'missing-signature'],
      [401, false, 'stale-timestamp'],
      [200, true, 'configured'],
    ]);
    expect(entries[0]).toMatchObject({ method: 'POST', url: '/hook?x=1', body, headers: { 'webhook-id': 'msg_1', 'content-type': 'application/json' } });
    expect(Date.parse(entries[0].time)).not.toBeNaN();
    expect(entries[1].body).toContain('9.99');
  });

  it('--log appends one NDJSON line per request, across runs, with verified null when verification is off', async () => {
    const log = join(dir, 'plain.ndjson');
    for (const status of ['200', '404']) {
      const { sink, url } = await start('--status', status, '--log', log);
      await send(`${url}/one?s=${status}`, { method: 'POST', body: 'a=1' });
      expect(await sink.stop()).toBe(0);
    }
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ method: 'POST', url: '/one?s=200', body: 'a=1', status: 200, verified: null });
    expect(entries[1]).toMatchObject({ url: '/one?s=404', status: 404, verified: null });
    expect(Object.keys(entries[0])).toEqual(expect.arrayContaining(['time', 'method', 'url', 'headers', 'body', 'status', 'verified']));
  });

  it('--check-order reports an accepted state that arrives after a later one of its transaction (not repeats, not refused attempts)', async () => {
    const { sink, url } = await start('--check-order', 'click_id', '--fail-first', '1');
    const hit = async (q: string) => (await send(`${url}/cb?${q}`)).status;
    // Each distinct request is refused once (--fail-first 1): a refused attempt is not an arrival.
    for (const q of ['click_id=a&state=pending', 'click_id=a&state=reversed', 'click_id=a&state=reversed']) while ((await hit(q)) !== 200);
    expect(await hit('click_id=a&state=approved')).toBe(500);
    expect(await hit('click_id=a&state=approved')).toBe(200); // accepted after "reversed": out of order
    for (const q of ['click_id=b&state=pending', 'click_id=b&state=approved']) while ((await hit(q)) !== 200);
    // A JSON body's fields count when the query has none.
    const post = (body: object) => send(`${url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    while ((await post({ click_id: 'c', state: 'reversed' })).status !== 200);
    while ((await post({ click_id: 'c', state: 'pending' })).status !== 200);
    expect(await sink.stop()).toBe(0);
    const late = sink.stdout.split('\n').filter((l) => l.includes('OUT OF ORDER'));
    expect(late).toHaveLength(2);
    expect(late[0]).toContain('/cb?click_id=a&state=approved 200 OUT OF ORDER: approved after reversed');
    expect(late[1]).toContain('OUT OF ORDER: pending after reversed');
    expect(sink.stdout).toContain('transactions 3, out of order 2');
  });

  it('end to end: simulate --preset advanced --states pending,approved,reversed fires chains the sink finds in order, every first attempt refused', async () => {
    const { sink, url } = await start('--check-order', 'click_id', '--fail-first', '1');
    // Every first attempt refused would open the endpoint's circuit: not what this test is about.
    stack = await startStack({ RETRY_SCHEDULE: '0,0.2,0.2,0.2,0.2', CIRCUIT_FAILURES: '1000', AUTO_DISABLE_FAILURES: '0' });
    const env = { REDIS_URL: stack.config.redisUrl!, QUEUE_PREFIX: stack.config.queuePrefix, ALLOW_PRIVATE_TARGETS: 'true', RETRY_SCHEDULE: '0,0.2,0.2,0.2,0.2' };
    const r = await runCli(['simulate', '--preset', 'advanced', '--states', 'pending,approved,reversed', '--url', `${url}/cb?click_id={click_id}&state={state}`, '--count', '12', '--rate', '500', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ chains: 12, events: 36, failed: 0, pending: 0 });
    // A chain's events share a payout, and the preset skips $0 events: a whole chain, then.
    expect(summary.delivered).toBe(summary.postbacks);
    expect(summary.postbacks % 3).toBe(0);
    expect(summary.postbacks).toBeGreaterThan(0);
    expect(await sink.stop()).toBe(0);
    expect(sink.stdout).not.toContain('OUT OF ORDER');
    expect(sink.stdout).toContain(`transactions ${summary.postbacks / 3}, out of order 0`);
    expect((await runCli(['simulate', '--url', `${url}/x`, '--states', 'a,a'], env)).code).toBe(2);
  });

  it('bad option values exit 2 with one line naming the option and the value', async () => {
    const cases: [string[], string][] = [
      [['--port', '70000'], '--port must be an integer from 0 to 65535, got "70000"'],
      [['--port', 'abc'], '--port'],
      [['--status', '99'], '--status must be an integer from 200 to 599, got "99"'],
      [['--status', '2OO'], '--status'],
      [['--fail-rate', '1.5'], '--fail-rate must be a number from 0 to 1, got "1.5"'],
      [['--fail-rate', '-0.1'], '--fail-rate'],
      [['--fail-first', '-1'], '--fail-first'],
      [['--fail-first', '1.5'], '--fail-first'],
      [['--latency', '200-50'], '--latency must be MS or MIN-MAX'],
      [['--latency', 'soon'], '"soon"'],
      [['--verify-standard-webhooks', 'whsec_not base64!'], '--verify-standard-webhooks must be "whsec_"'],
      [['--check-order', 'click id'], '--check-order must be a parameter name, got "click id"'],
      [['--check-order', 'click_id', '--order-states', 'approved'], '--order-states must be at least 2 distinct states'],
      [['--bogus'], "unknown option '--bogus'"],
    ];
    const results = await Promise.all(cases.map(([args]) => runSink(['--port', '0', ...args])));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    });
    // The secret is never echoed.
    expect(results[10]!.stderr).not.toContain('not base64!');
    expect(results[0]!.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a port already in use exits 1', async () => {
    const { url } = await start();
    const r = await runSink(['--port', new URL(url).port]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EADDRINUSE');
  });

  it('end to end: sink --fail-first 2 makes the dispatcher deliver on attempt 3', async () => {
    const { sink, url } = await start('--fail-first', '2');
    stack = await startStack({ RETRY_SCHEDULE: '0,0.1,0.1,0.1,0.1' });
    await stack.runtime.registry.upsert([{ id: 'sink-ep', url: `${url}/pb?click_id={external_id}&payout={payout}` }]);
    const res = await stack.post('/v1/events', { id: 'sink-e2e-1', type: 'conversion', endpoint_id: 'sink-ep', cid: 'abc', payout: 0.5 });
    expect(res.status).toBe(202);
    const id = res.json.events[0].postbacks[0] as string;
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('delivered');
    expect(record.attempts.map((a) => a.status_code)).toEqual([500, 500, 200]);
    expect(await sink.stop()).toBe(0);
    expect(sink.stdout).toContain('sink summary: requests 3 (200: 1, 500: 2)');
  });

  it('end to end: Standard Webhooks signatures from the dispatcher verify in the sink, re-signed on every attempt', async () => {
    const log = join(dir, 'e2e-signed.ndjson');
    const { sink, url } = await start('--fail-first', '2', '--verify-standard-webhooks', SECRET, '--log', log);
    stack = await startStack({ RETRY_SCHEDULE: '0,0.1,0.1,0.1,0.1' });
    await stack.runtime.registry.upsert([{ id: 'sink-signed', method: 'POST', url: `${url}/hooks`, signing: { scheme: 'standard-webhooks', secret: SECRET } }]);
    const res = await stack.post('/v1/events', { id: 'sink-e2e-2', type: 'conversion', endpoint_id: 'sink-signed', payout: 1.25 });
    const id = res.json.events[0].postbacks[0] as string;
    const record = await stack.waitFinal(id);
    expect(record.status).toBe('delivered');
    expect(record.attempts.map((a) => a.status_code)).toEqual([500, 500, 200]);
    expect(await sink.stop()).toBe(0);
    const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.map((e) => [e.status, e.verified])).toEqual([
      [500, true],
      [500, true],
      [200, true],
    ]);
    expect(new Set(entries.map((e) => e.headers['webhook-id']))).toEqual(new Set([id]));
  });
});
