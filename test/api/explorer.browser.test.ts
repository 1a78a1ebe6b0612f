import { mkdir, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, axeViolations, focused, launchChromium, watchCsp, type AxeViolation, type BrowserElement, type BrowserGlobals } from '../helpers/browser.js';
import { Receiver, respond, type Responder } from '../helpers/receiver.js';
import { RedisProcess } from '../helpers/redis-process.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * The Postback Explorer (GET /) in a real headless Chromium, against a real stack:
 * API + worker on loopback, real Redis and BullMQ, deliveries to a real HTTP receiver.
 */
describe('Postback Explorer page', () => {
  const KEY = 'k1';
  const auth = { authorization: `Bearer ${KEY}` };
  // Rendered as text, never as HTML: if it ever became markup, window.__xss would be set.
  const HOSTILE_OFFER = '<img src=x onerror="window.__xss=1">';
  let receiver: Receiver;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    receiver.responder = (r, _i, res) => (r.url.startsWith('/bad') ? respond(503, 'down')(res) : respond(200, 'OK')(res));
    // Two attempts at most, 50 ms apart: a failing endpoint is final "failed" quickly.
    stack = await startStack({ API_KEYS: KEY, RETRY_SCHEDULE: '0,0.05' });
    await stack.runtime.registry.upsert([
      { id: 'ep-ok', publisher_id: '7', url: `${receiver.base}/ok?click_id={external_id}&payout={payout}` },
      { id: 'ep-bad', publisher_id: '8', url: `${receiver.base}/bad?e={event_id}` },
    ]);
    browser = await launchChromium();
    // UTC in the page, so the test can write datetime-local values from ISO times.
    context = await browser.newContext({ timezoneId: 'UTC', acceptDownloads: true, viewport: { width: 1360, height: 820 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.addInitScript(watchCsp);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Uncaught/i.test(m.text())) pageErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await receiver?.stop();
  });

  const rows = () => page.locator('[data-testid=row]');
  const row = (eventId: string) => rows().filter({ has: page.locator('[data-col=event]', { hasText: eventId }) });
  const cell = (eventId: string, col: string) => row(eventId).first().locator(`[data-col=${col}]`);
  /** datetime-local value (the page runs in UTC) for an epoch ms. */
  const local = (ms: number) => new Date(ms).toISOString().slice(0, 19);

  /**
   * A receiver answering with `responder`, a keyless stack (one attempt per postback) and a
   * 1440 px browser context of the test's own for `run`; all closed after it.
   */
  async function withOwnStack(responder: Responder, run: (own: Stack, ctx: BrowserContext, recv: Receiver) => Promise<void>): Promise<void> {
    const recv = new Receiver();
    await recv.start();
    recv.responder = responder;
    const own = await startStack({ RETRY_SCHEDULE: '0' });
    const ctx = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1440, height: 900 } });
    try {
      await run(own, ctx, recv);
    } finally {
      await ctx.close();
      await own.close();
      await recv.stop();
    }
    expect(pageErrors).toEqual([]);
  }

  /** Fires `events` at a keyless stack, waits for each postback's final state, and opens the page there (empty key). */
  async function fireAndOpen(own: Stack, ctx: BrowserContext, events: Record<string, unknown>[]): Promise<Page> {
    const fired = await own.post('/v1/events', { events });
    expect(fired.status).toBe(202);
    await Promise.all(fired.json.events.map((e: { postbacks: string[] }) => own.waitFinal(e.postbacks[0]!)));
    const p = await ctx.newPage();
    p.setDefaultTimeout(10_000);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.addInitScript(watchCsp);
    await p.goto(`${own.base}/`);
    await p.click('#key-submit');
    await expect.poll(() => p.locator('[data-testid=row]').count()).toBe(events.length);
    return p;
  }

  async function apply(): Promise<void> {
    await page.click('#apply');
    await expect.poll(() => page.locator('#summary').textContent()).not.toBe('Loading\u2026');
  }

  it('asks for the key, lists, filters, exports CSV, shows details, replays and tests an endpoint', async () => {
    const fired = await stack.post(
      '/v1/events',
      {
        events: [
          { id: 'conv-ok', type: 'conversion', endpoint_id: 'ep-ok', cid: 'abc 123', payout: 0.5, offer_id: HOSTILE_OFFER },
          { id: 'conv-bad', type: 'conversion', endpoint_id: 'ep-bad', payout: 1.25, offer_id: '77' },
        ],
      },
      auth,
    );
    expect(fired.status).toBe(202);
    const [okId, badId] = fired.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]) as [string, string];
    const [okRecord, badRecord] = await Promise.all([stack.waitFinal(okId), stack.waitFinal(badId)]);
    expect(okRecord.status).toBe('delivered');
    expect(badRecord.status).toBe('failed');
    const createdMin = Math.min(okRecord.created_ms, badRecord.created_ms);

    // The key prompt: a wrong key is refused (401) and asked for again; the right one is kept for the tab.
    const served = await page.goto(`${stack.base}/`);
    // The page runs under a CSP without 'unsafe-inline': script and styles come from its own files,
    // served without a key (a browser sends none for them).
    const csp = served?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )style-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    for (const [path, type] of [['/explorer.js', 'text/javascript'], ['/explorer.css', 'text/css']] as const) {
      const asset = await fetch(`${stack.base}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type'), path).toMatch(new RegExp(`^${type};`));
      // Read to the end: an unread body (explorer.js is now larger) can leave its response
      // half-written, and the API's close in afterAll then waits for it until the hook times out.
      expect((await asset.text()).length, path).toBeGreaterThan(0);
    }
    await page.locator('#key-panel').waitFor({ state: 'visible' });
    // Styles applied: the key panel is a fixed overlay only through explorer.css.
    expect(await page.locator('#key-panel').evaluate((e) => (globalThis as unknown as { getComputedStyle(e: unknown): { position: string } }).getComputedStyle(e).position)).toBe('fixed');
    // The key prompt is a real modal dialog, labelled, with focus kept inside it...
    const keyDialog = page.getByRole('dialog', { name: 'API key' });
    expect(await keyDialog.count()).toBe(1);
    expect(await keyDialog.evaluate((e) => [(e as unknown as BrowserElement).tagName, (e as unknown as BrowserElement).matches(':modal')])).toEqual(['DIALOG', true]);
    expect(await page.evaluate(focused, '#key-panel')).toMatchObject({ id: 'key-input', inside: true });
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      expect((await page.evaluate(focused, '#key-panel')).inside, `after ${i + 1} Tab`).toBe(true);
    }
    await page.keyboard.press('Shift+Tab');
    expect((await page.evaluate(focused, '#key-panel')).inside).toBe(true);
    // ...and Escape does not leave it without a key.
    await page.keyboard.press('Escape');
    await page.waitForTimeout(100);
    expect(await keyDialog.isVisible()).toBe(true);
    expect(await page.locator('#key-panel').evaluate((e) => (e as unknown as { open: boolean }).open)).toBe(true);
    await page.fill('#key-input', 'wrong-key');
    await page.click('#key-submit');
    await page.locator('#key-error').waitFor({ state: 'visible' });
    expect(await page.locator('#key-error').textContent()).toContain('401');
    expect(await page.locator('#key-panel').isVisible()).toBe(true);
    await page.fill('#key-input', KEY);
    await page.click('#key-submit');
    await expect.poll(() => rows().count()).toBe(2);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('postback-explorer.api-key'))).toBe(KEY);
    await page.locator('#key-panel').waitFor({ state: 'hidden' });
    // Only status messages are live regions: one polite status element, never the table.
    expect(await page.locator('[aria-live]').evaluateAll((els) => els.map((e) => (e as unknown as BrowserElement).id))).toEqual(['status']);
    expect(await page.locator('#status').getAttribute('role')).toBe('status');
    expect(await page.locator('#postbacks').getAttribute('aria-live')).toBeNull();
    expect(await page.locator('#postbacks [role=status], #postbacks [role=alert], #postbacks [aria-live]').count()).toBe(0);

    // The rows, newest first, with every column; hostile text shown as text.
    expect(await cell('conv-ok', 'endpoint').textContent()).toBe('ep-ok');
    expect(await cell('conv-ok', 'offer').textContent()).toBe(HOSTILE_OFFER);
    expect(await cell('conv-ok', 'payout').textContent()).toBe('0.50');
    expect(await cell('conv-ok', 'status').textContent()).toBe('delivered');
    expect(await cell('conv-ok', 'attempts').textContent()).toBe('1');
    expect(await cell('conv-ok', 'http').textContent()).toBe('200');
    expect(await cell('conv-ok', 'time').textContent()).toBe(new Date(okRecord.created_ms).toISOString().slice(0, 19).replace('T', ' '));
    expect(await cell('conv-bad', 'status').textContent()).toBe('failed');
    expect(await cell('conv-bad', 'attempts').textContent()).toBe('2');
    expect(await cell('conv-bad', 'http').textContent()).toBe('503');
    expect(await page.locator('#postbacks img').count()).toBe(0);

    // A date range before both postbacks excludes them...
    await page.fill('#filter-from', local(createdMin - 2 * 3600_000));
    await page.fill('#filter-to', local(createdMin - 3600_000));
    await apply();
    await expect.poll(() => rows().count()).toBe(0);
    await page.locator('#empty').waitFor({ state: 'visible' });
    // ...one around them includes them (to reaches into the future, for the replay below).
    await page.fill('#filter-from', local(createdMin - 60_000));
    await page.fill('#filter-to', local(Date.now() + 3600_000));
    await apply();
    await expect.poll(() => rows().count()).toBe(2);
    // Status narrows further.
    await page.selectOption('#filter-status', 'failed');
    await apply();
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().getAttribute('data-id')).toBe(badId);

    // Download CSV: the filtered view (failed only), fetched with the key and saved from a Blob.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    expect(download.suggestedFilename()).toMatch(/^postbacks-.*\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const csvRows = parse<Record<string, string>>(csv, { columns: true });
    expect(csvRows).toHaveLength(1);
    expect(csvRows[0]).toMatchObject({ postback_id: badId, event_id: 'conv-bad', endpoint_id: 'ep-bad', status: 'failed', attempts: '2', http_status: '503' });
    expect(await page.locator('#applied-filters').textContent()).toContain('status failed');

    // Download CSV and Refresh both take the filters as entered now, and the page says which:
    // a status changed but not applied is flagged, then used by the CSV and by the list alike.
    await page.selectOption('#filter-status', 'delivered');
    await page.locator('#filters-dirty').waitFor({ state: 'visible' });
    const [download2] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    const csv2 = parse<Record<string, string>>(await readFile(await download2.path(), 'utf8'), { columns: true });
    expect(csv2.map((r) => [r.postback_id, r.status])).toEqual([[okId, 'delivered']]);
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().getAttribute('data-id')).toBe(okId);
    expect(await page.locator('#applied-filters').textContent()).toContain('status delivered');
    await page.locator('#filters-dirty').waitFor({ state: 'hidden' });
    expect(await page.locator('#status').textContent()).toMatch(/^Downloaded postbacks-.*\.csv \(Filters: status delivered, from /);
    await page.selectOption('#filter-status', 'failed');
    await page.click('#refresh');
    await expect.poll(() => rows().first().getAttribute('data-id')).toBe(badId);
    expect(await page.locator('#applied-filters').textContent()).toContain('status failed');

    // Detail of the failed postback: both attempts and the exact request.
    await page.selectOption('#filter-status', '');
    await apply();
    await expect.poll(() => rows().count()).toBe(2);
    // Keyboard: Enter on a row opens its detail (focus moves into it); Escape closes it and
    // gives focus back to that row.
    await row('conv-bad').focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail').waitFor({ state: 'visible' });
    expect(await page.evaluate(focused, '#detail')).toMatchObject({ inside: true });
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });
    expect(await page.evaluate(focused, '#rows')).toMatchObject({ dataId: badId, inside: true });
    await cell('conv-bad', 'event').click();
    await page.locator('#detail').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('[data-testid=attempt-row]').count()).toBe(2);
    expect(await page.locator('[data-testid=attempt-row] [data-col=status_code]').allTextContents()).toEqual(['503', '503']);
    expect(await page.locator('[data-testid=attempt-row] [data-testid=attempt-error]').allTextContents()).toEqual(['HTTP 503 from receiver', 'HTTP 503 from receiver']);
    expect(await page.locator('[data-testid=attempt-row] [data-col=phase]').allTextContents()).toEqual(['in status', 'in status']);
    expect(await page.locator('[data-testid=attempt-row] [data-col=result] code').allTextContents()).toEqual(['http_status', 'http_status']);
    expect(await page.locator('#detail-request-method').textContent()).toBe('GET');
    expect(await page.locator('#detail-request-url').textContent()).toBe(`${receiver.base}/bad?e=conv-bad`);

    // Detail of the delivered one.
    await cell('conv-ok', 'event').click();
    await expect.poll(() => page.locator('#detail-id').textContent()).toBe(okId);
    await expect.poll(() => page.locator('#detail-request-url').textContent()).toBe(`${receiver.base}/ok?click_id=abc%20123&payout=0.5`);
    await expect.poll(() => page.locator('[data-testid=attempt-row]').count()).toBe(1);
    expect(await page.locator('[data-testid=attempt-row] [data-col=status_code]').textContent()).toBe('200');
    expect(await page.locator('[data-testid=attempt-row] [data-col=excerpt]').textContent()).toBe('OK');
    expect(await page.locator('#detail-fields [data-field=offer_id]').textContent()).toBe(HOSTILE_OFFER);
    if (process.env.EXPLORER_SCREENSHOT) await page.screenshot({ path: process.env.EXPLORER_SCREENSHOT, fullPage: true });

    // Replay: a NEW request arrives at the receiver, the page shows the new id and the list grows.
    const before = receiver.requests.length;
    await page.click('#replay');
    await receiver.waitFor(before + 1);
    expect(receiver.requests[before]!.url).toBe('/ok?click_id=abc%20123&payout=0.5');
    await page.locator('#replay-new-id').waitFor({ state: 'visible' });
    const newId = (await page.locator('#replay-new-id').textContent())!;
    expect(newId).not.toBe(okId);
    const replayed = await stack.get(`/v1/postbacks/${newId}`, auth);
    expect(replayed.json).toMatchObject({ id: newId, replay_of: okId, event_id: 'conv-ok' });
    await expect.poll(() => rows().count()).toBe(3);
    expect(await rows().first().getAttribute('data-id')).toBe(newId);
    expect(await rows().first().locator('.tag').textContent()).toBe('replay');

    // Test endpoint: one synchronous request, its result shown.
    const beforeTest = receiver.requests.length;
    await page.click('#test-endpoint');
    await expect.poll(() => page.locator('[data-testid=test-status]').textContent()).toBe('200');
    expect(await page.locator('[data-testid=test-ok]').textContent()).toBe('ok');
    await receiver.waitFor(beforeTest + 1);
    expect(receiver.requests[beforeTest]!.url.startsWith('/ok?')).toBe(true);

    // An API error ({"error", "details"}) lands in the visible message area.
    expect(await stack.runtime.registry.remove('ep-ok')).toBe(true);
    await page.click('#test-endpoint');
    await page.locator('#message').waitFor({ state: 'visible' });
    expect(await page.locator('#message-text').textContent()).toMatch(/^Error 404: .*ep-ok/);

    // Replay under a status filter: the new postback may not match it, yet the page says what
    // happened (a status message with the new id, which opens it) and the list is reloaded.
    await page.click('#message-close');
    await page.selectOption('#filter-status', 'failed');
    await apply();
    await expect.poll(() => rows().count()).toBe(1);
    await cell('conv-bad', 'event').click();
    await expect.poll(() => page.locator('#detail-id').textContent()).toBe(badId);
    await expect.poll(() => page.locator('[data-testid=attempt-row]').count()).toBe(2);
    const [listReload] = await Promise.all([
      page.waitForRequest((r) => r.url().includes('/v1/postbacks?') && r.url().includes('status=failed')),
      page.click('#replay'),
    ]);
    expect(listReload.method()).toBe('GET');
    await page.locator('#status-open-replay').waitFor({ state: 'visible' });
    const replayOfBad = (await page.locator('#status-open-replay').textContent())!;
    expect(replayOfBad).not.toBe(badId);
    expect(await page.locator('#status').textContent()).toContain(`Replayed ${badId} as ${replayOfBad}`);
    await page.click('#status-open-replay');
    await expect.poll(() => page.locator('#detail-id').textContent()).toBe(replayOfBad);

    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__xss)).toBeUndefined();
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).__cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('lets an empty key through on an open server (no Authorization sent), pages with Next/Previous and finds by picker, event id and range', async () => {
    // No API_KEYS and no worker: postbacks stay queued.
    const open = await startStack({}, { worker: false });
    const ctx = await browser.newContext({ timezoneId: 'UTC' });
    try {
      await open.runtime.registry.upsert([
        { id: 'ep-q', url: `${receiver.base}/q?e={event_id}` },
        { id: 'ep-q7', publisher_id: '7', url: `${receiver.base}/q7?e={event_id}` },
      ]);
      const events = Array.from({ length: 101 }, (_, i) => ({ id: `q-${i}`, type: 'lead', endpoint_id: 'ep-q' }));
      expect((await open.post('/v1/events', { events })).status).toBe(202);
      const p = await ctx.newPage();
      p.setDefaultTimeout(10_000);
      p.on('pageerror', (e) => pageErrors.push(e.message));
      const authHeaders: (string | undefined)[] = [];
      p.on('request', (r) => {
        if (r.url().includes('/v1/')) authHeaders.push(r.headers()['authorization']);
      });
      await p.goto(`${open.base}/`);
      await p.locator('#key-panel').waitFor({ state: 'visible' });
      await p.click('#key-submit');
      const list = p.locator('[data-testid=row]');
      await expect.poll(() => list.count()).toBe(100);
      expect(await p.locator('#key-panel').isVisible()).toBe(false);
      // A keyless server took the empty key: the prompt, opened again, may be left with Escape.
      await p.click('#change-key');
      await p.locator('#key-panel').waitFor({ state: 'visible' });
      await p.keyboard.press('Escape');
      await p.locator('#key-panel').waitFor({ state: 'hidden' });
      expect(await p.evaluate(focused, 'header')).toMatchObject({ id: 'change-key', inside: true });
      expect(await list.first().locator('[data-col=status]').textContent()).toBe('queued');
      // 390 px wide (a phone): Status and HTTP stay on screen, nothing is cut off sideways.
      await p.setViewportSize({ width: 390, height: 800 });
      const first = list.first();
      for (const col of ['time', 'event', 'status', 'http']) {
        const box = await first.locator(`[data-col=${col}]`).boundingBox();
        expect(box, col).not.toBeNull();
        expect(box!.x, col).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width, col).toBeLessThanOrEqual(390);
      }
      expect(await first.locator('[data-col=status]').textContent()).toBe('queued');
      expect(await first.locator('[data-col=http]').textContent()).toBe('\u2014');
      const widths = await p.evaluate(() => {
        const d = (globalThis as unknown as BrowserGlobals).document as unknown as { documentElement: BrowserElement; querySelector(s: string): BrowserElement };
        const wrap = d.querySelector('.table-wrap');
        return { page: d.documentElement.scrollWidth, wrap: wrap.scrollWidth, wrapClient: wrap.clientWidth };
      });
      expect(widths.page).toBeLessThanOrEqual(390);
      expect(widths.wrap).toBeLessThanOrEqual(widths.wrapClient);
      await p.setViewportSize({ width: 1360, height: 820 });
      // Pages of 100 by cursor: Next, then Previous back to the first.
      const ids = () => list.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(name: string): string | null }).getAttribute('data-id')));
      expect(await p.locator('#summary').textContent()).toBe('Showing 1\u2013100 (more on the next page)');
      expect(await p.locator('#prev-page').isDisabled()).toBe(true);
      const firstPage = await ids();
      await p.click('#next-page');
      await expect.poll(() => list.count()).toBe(1);
      expect(await p.locator('#summary').textContent()).toBe('Showing 101\u2013101');
      expect(await p.locator('#page-info').textContent()).toBe('Page 2');
      expect(await p.locator('#next-page').isDisabled()).toBe(true);
      expect(new Set([...firstPage, ...(await ids())]).size).toBe(101);
      await p.click('#prev-page');
      await expect.poll(() => list.count()).toBe(100);
      expect(await ids()).toEqual(firstPage);
      expect(await p.locator('#page-info').textContent()).toBe('Page 1');

      // Pickers filled from GET /v1/endpoints; an event id search; a range shortcut with the
      // total for the range from GET /v1/stats.
      expect(await p.locator('#filter-endpoint option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual(['', 'ep-q', 'ep-q7']);
      expect(await p.locator('#filter-publisher option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual(['', '7']);
      await p.fill('#filter-event', 'q-42');
      await p.click('#apply');
      await expect.poll(() => list.count()).toBe(1);
      expect(await list.first().locator('[data-col=event]').textContent()).toBe('q-42');
      expect(await p.locator('#applied-filters').textContent()).toBe('Filters: event q-42');
      await p.fill('#filter-event', '');
      await p.click('button[data-range="24h"]');
      await expect.poll(() => p.locator('#summary').textContent()).toBe('Showing 1\u2013100 of 101');
      const fromValue = await p.locator('#filter-from').inputValue();
      expect(Math.abs(Date.parse(`${fromValue}Z`) - (Date.now() - 86_400_000))).toBeLessThan(60_000);
      await p.selectOption('#filter-endpoint', 'ep-q');
      await p.click('#apply');
      await expect.poll(() => p.locator('#summary').textContent()).toBe('Showing 1\u2013100 of 101');
      await p.selectOption('#filter-endpoint', '');
      await p.selectOption('#filter-publisher', '7');
      await p.click('#apply');
      await expect.poll(() => p.locator('#summary').textContent()).toBe('No postbacks');
      await p.click('button[data-range="month"]');
      expect(await p.locator('#filter-from').inputValue()).toMatch(/^\d{4}-\d{2}-01T00:00(:00)?$/);
      await p.click('#clear');
      await expect.poll(() => list.count()).toBe(100);
      expect(authHeaders.length).toBeGreaterThan(0);
      expect(authHeaders.every((h) => h === undefined)).toBe(true);
      // A bad range is refused in the page, in the message area.
      await p.fill('#filter-from', '2026-01-02T00:00:00');
      await p.fill('#filter-to', '2026-01-01T00:00:00');
      await p.click('#apply');
      await p.locator('#message').waitFor({ state: 'visible' });
      expect(await p.locator('#message-text').textContent()).toContain('"From" is after "To"');
      expect(await list.count()).toBe(100);
    } finally {
      await ctx.close();
      await open.close();
    }
    expect(pageErrors).toEqual([]);
  });

  it('says what a 503 means when the dispatcher cannot reach Redis, and recovers once it is back', async () => {
    // A Redis of this test's own, really stopped and started again (not a simulated answer).
    const redis = new RedisProcess();
    await redis.start();
    const own = await startStack({ REDIS_URL: redis.url }, { worker: false });
    const ctx = await browser.newContext({ timezoneId: 'UTC' });
    const ready = async () => (await fetch(`${own.base}/readyz`)).status;
    try {
      const p = await ctx.newPage();
      p.setDefaultTimeout(10_000);
      p.on('pageerror', (e) => pageErrors.push(e.message));
      await p.goto(`${own.base}/`);
      await p.locator('#key-panel').waitFor({ state: 'visible' });
      await p.click('#key-submit');
      await p.locator('#empty').waitFor({ state: 'visible' });
      const restarting = redis.restart(3000);
      await expect.poll(ready, { timeout: 5000 }).toBe(503);
      await p.click('#refresh');
      await p.locator('#message').waitFor({ state: 'visible' });
      expect(await p.locator('#message-text').textContent()).toBe('The dispatcher cannot reach Redis right now (503): retry in a moment.');
      expect(await p.locator('#message-server').textContent()).toMatch(/^Server said: Redis unavailable: /);
      await restarting;
      await expect.poll(ready, { timeout: 10_000 }).toBe(200);
      await p.click('#refresh');
      await p.locator('#message').waitFor({ state: 'hidden' });
      await p.locator('#empty').waitFor({ state: 'visible' });
    } finally {
      await ctx.close();
      await own.close();
      await redis.stop();
    }
    expect(pageErrors).toEqual([]);
  });

  it('reads well: advertiser, payout with decimals and the event\'s currency, errors in words with their class, POST bodies pretty-printed, whole words in responses', async () => {
    const LONG = 'Internal Server Error: the database behind this receiver is unavailable right now';
    const responder: Responder = (r, _i, res) => (r.url.startsWith('/slow') ? 'hang' : r.url.startsWith('/err') ? respond(500, LONG)(res) : respond(200, 'OK')(res));
    await withOwnStack(responder, async (own, ctx, recv) => {
      await own.runtime.registry.upsert([
        { id: 'ep-post', method: 'POST', url: `${recv.base}/post` },
        { id: 'ep-err', url: `${recv.base}/err?e={event_id}` },
        { id: 'ep-slow', url: `${recv.base}/slow?e={event_id}`, timeout_ms: 1000 },
      ]);
      const p = await fireAndOpen(own, ctx, [
        { id: 'r-post', type: 'conversion', endpoint_id: 'ep-post', advertiser_name: 'Acme Ads', payout: 0.12345, offer_id: '42' },
        { id: 'r-err', type: 'conversion', endpoint_id: 'ep-err', payout: 2, currency: 'EUR' },
        { id: 'r-slow', type: 'conversion', endpoint_id: 'ep-slow', payout: 1.5 },
      ]);
      const list = p.locator('[data-testid=row]');
      const at = (ev: string, col: string) => list.filter({ has: p.locator('[data-col=event]', { hasText: ev }) }).locator(`[data-col=${col}]`);
      expect(await at('r-post', 'advertiser').textContent()).toBe('Acme Ads');
      expect(await at('r-err', 'advertiser').textContent()).toBe('\u2014');
      expect(await at('r-post', 'payout').textContent()).toBe('0.1235');
      expect(await at('r-err', 'payout').textContent()).toBe('2.00 EUR');
      expect(await at('r-slow', 'payout').textContent()).toBe('1.50');

      // A POST body is shown pretty-printed (one field a line), as the JSON that was sent.
      await at('r-post', 'event').click();
      await expect.poll(() => p.locator('#detail-request-method').textContent()).toBe('POST');
      const body = (await p.locator('#detail-request-body').textContent())!.trim();
      expect(body.split('\n').length).toBeGreaterThan(3);
      expect(body).toContain('\n  "advertiser_name": "Acme Ads"');
      expect(JSON.parse(body)).toMatchObject({ advertiser_name: 'Acme Ads', offer_id: '42' });

      // Errors in words, the class beside them as a code.
      await at('r-err', 'event').click();
      await expect.poll(() => p.locator('[data-testid=attempt-error]').textContent()).toBe('HTTP 500 from receiver');
      expect(await p.locator('[data-testid=attempt-row] [data-col=result] code').textContent()).toBe('http_status');
      // The response excerpt keeps whole words: every line of it ends at a word of LONG.
      const excerpt = p.locator('[data-testid=attempt-row] [data-col=excerpt] pre');
      expect(await excerpt.textContent()).toBe(LONG);
      const lines = await excerpt.evaluate((pre) => {
        const d = (globalThis as unknown as { document: { createRange(): { selectNodeContents(n: unknown): void; getClientRects(): ArrayLike<{ top: number }> } } }).document;
        const range = d.createRange();
        range.selectNodeContents((pre as unknown as { firstChild: unknown }).firstChild);
        return new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
      });
      expect(lines).toBeLessThanOrEqual(4);
      // ...and is not cut off: it ends inside the detail.
      const box = (await excerpt.boundingBox())!;
      const wrapBox = (await p.locator('#attempts').locator('xpath=..').boundingBox())!;
      expect(box.width).toBeGreaterThan(150);
      expect(box.x + box.width).toBeLessThanOrEqual(wrapBox.x + wrapBox.width);
      await at('r-slow', 'event').click();
      await expect.poll(() => p.locator('[data-testid=attempt-error]').textContent()).toBe('timed out after 1 s');
      expect(await p.locator('[data-testid=attempt-row] [data-col=result] code').textContent()).toBe('timeout');
      expect(await p.evaluate(() => (globalThis as unknown as BrowserGlobals).__cspViolations)).toEqual([]);
    });
  });

  it('has an Overview (counts and an SVG volume-and-failure chart from /v1/stats) and an Endpoints view (health, success rate, p99, last error, Enable/Disable)', async () => {
    const responder: Responder = (r, _i, res) => (r.url.startsWith('/err') ? respond(500, 'no')(res) : respond(200, 'OK')(res));
    await withOwnStack(responder, async (own, ctx, recv) => {
      await own.runtime.registry.upsert([
        { id: 'ep-a', publisher_id: '5', url: `${recv.base}/a?e={event_id}` },
        { id: 'ep-e', publisher_id: '6', url: `${recv.base}/err?e={event_id}` },
      ]);
      const p = await fireAndOpen(own, ctx, [
        ...Array.from({ length: 3 }, (_, i) => ({ id: `ov-a${i}`, type: 'lead', endpoint_id: 'ep-a' })),
        ...Array.from({ length: 2 }, (_, i) => ({ id: `ov-e${i}`, type: 'lead', endpoint_id: 'ep-e' })),
      ]);

      // Overview: the last 24 h by default.
      await p.click('[data-view=overview]');
      expect(await p.locator('[data-view=overview]').getAttribute('aria-current')).toBe('page');
      expect(await p.locator('#view-postbacks').isVisible()).toBe(false);
      await expect.poll(() => p.locator('[data-testid=total-delivered] .n').textContent()).toBe('3');
      expect(await p.locator('[data-testid=total-failed] .n').textContent()).toBe('2');
      expect(await p.locator('[data-testid=total-retrying] .n').textContent()).toBe('0');
      expect(await p.locator('[data-testid=success-rate] .n').textContent()).toBe('60%');
      const counts = (cls: string) => p.locator(`#overview-chart rect.${cls}`).evaluateAll((rs) => rs.map((r) => Number((r as unknown as BrowserElement).getAttribute('data-count'))));
      const vol = await counts('vol');
      const fail = await counts('fail');
      expect(vol.length).toBeGreaterThanOrEqual(24);
      expect(fail.length).toBe(vol.length);
      expect(vol.reduce((a, b) => a + b, 0)).toBe(5);
      expect(fail.reduce((a, b) => a + b, 0)).toBe(2);
      expect(await p.locator('#overview-chart-title').textContent()).toContain('5 created, 2 failed');
      expect(await p.locator('#overview-errors').textContent()).toContain('http_status \u00d7 2');
      await p.selectOption('#overview-range', '7d');
      await expect.poll(async () => (await counts('vol')).length).toBeGreaterThan(100);
      expect((await counts('vol')).reduce((a, b) => a + b, 0)).toBe(5);

      // Endpoints: health, 24 h volume, success rate, p99 and last error; Disable and Enable.
      await p.click('[data-view=endpoints]');
      const epRow = (id: string) => p.locator(`[data-testid=endpoint-row][data-id="${id}"]`);
      await expect.poll(() => p.locator('[data-testid=endpoint-row]').count()).toBe(2);
      // The workers report health apart from history: refresh until both endpoints' attempts show.
      await expect.poll(async () => {
        await p.click('#endpoints-refresh');
        // allTextContents does not wait for an element that is not there yet.
        return [
          ...(await epRow('ep-e').locator('[data-col=last-error] code').allTextContents()),
          ...(await epRow('ep-a').locator('[data-col=success]').allTextContents()),
          ...(await epRow('ep-e').locator('[data-col=success]').allTextContents()),
        ];
      }, { timeout: 10_000 }).toEqual(['http_status', '100%', '0%']);
      expect(await epRow('ep-a').locator('[data-col=p99]').textContent()).toMatch(/^\d+ ms$/);
      // Postbacks of the last 24 h, per endpoint, from /v1/stats: the 5 created above between them.
      const volumes = await Promise.all(['ep-a', 'ep-e'].map(async (id) => Number((await epRow(id).locator('[data-col=volume]').textContent())!.replace(/,/g, ''))));
      expect(volumes.every((v) => v > 0)).toBe(true);
      expect(volumes[0]! + volumes[1]!).toBe(5);
      expect(await epRow('ep-a').locator('[data-col=state]').textContent()).toBe('healthy');
      expect(await epRow('ep-a').locator('[data-col=publisher]').textContent()).toBe('5');
      await epRow('ep-e').getByRole('button', { name: 'Disable ep-e' }).click();
      await expect.poll(() => epRow('ep-e').locator('[data-col=state]').textContent()).toBe('disabled');
      expect((await own.get('/v1/endpoints/ep-e')).json.health.state).toBe('disabled');
      expect(await p.locator('#status').textContent()).toContain('Disabled ep-e');
      await epRow('ep-e').getByRole('button', { name: 'Enable ep-e' }).click();
      await expect.poll(() => epRow('ep-e').locator('[data-col=state]').textContent()).toBe('healthy');
      expect((await own.get('/v1/endpoints/ep-e')).json.health.state).toBe('healthy');
      await p.click('[data-view=postbacks]');
      await p.locator('#view-postbacks').waitFor({ state: 'visible' });
      expect(await p.evaluate(() => (globalThis as unknown as BrowserGlobals).__cspViolations)).toEqual([]);
    });
  });

  it('has no serious or critical axe-core violations (WCAG 2.1 AA, contrast included) in any view at 1440 and 390 px; screenshots in test-artifacts/', async () => {
    const responder: Responder = (r, _i, res) => (r.url.startsWith('/err') ? respond(500, 'Internal Server Error')(res) : respond(200, 'OK')(res));
    await withOwnStack(responder, async (own, ctx, recv) => {
      await mkdir(ARTIFACTS, { recursive: true });
      await own.runtime.registry.upsert([
        { id: 'ep-a', publisher_id: '5', url: `${recv.base}/a?e={event_id}` },
        { id: 'ep-e', publisher_id: '6', method: 'POST', url: `${recv.base}/err` },
      ]);
      const p = await fireAndOpen(own, ctx, [
        { id: 'ax-a', type: 'lead', endpoint_id: 'ep-a', advertiser_name: 'Acme', payout: 1 },
        { id: 'ax-e', type: 'lead', endpoint_id: 'ep-e', payout: 0.25 },
      ]);
      const found: Record<string, AxeViolation[]> = {};
      const check = async (name: string) => {
        await p.screenshot({ path: `${ARTIFACTS}/explorer-${name}.png`, fullPage: true });
        const v = await axeViolations(p);
        if (v.length > 0) found[name] = v;
      };
      for (const width of [1440, 390]) {
        await p.setViewportSize({ width, height: 900 });
        await p.click('[data-view=postbacks]');
        await check(`list-${width}`);
        await p.locator('[data-testid=row]').filter({ hasText: 'ax-e' }).locator('[data-col=event]').click();
        await expect.poll(() => p.locator('[data-testid=attempt-row]').count()).toBe(1);
        await check(`detail-${width}`);
        await p.click('#detail-close');
        await p.click('#change-key');
        await p.locator('#key-panel').waitFor({ state: 'visible' });
        await check(`key-${width}`);
        await p.click('#key-cancel');
        await p.click('[data-view=overview]');
        await expect.poll(() => p.locator('[data-testid=total-delivered] .n').textContent()).toBe('1');
        await check(`overview-${width}`);
        await p.click('[data-view=endpoints]');
        await expect.poll(() => p.locator('[data-testid=endpoint-row]').count()).toBe(2);
        await check(`endpoints-${width}`);
      }
      expect(found).toEqual({});
    });
  });
});
