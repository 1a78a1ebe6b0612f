import { copyFile, mkdir } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, axeViolations, focused, launchChromium, watchCsp, type AxeViolation, type BrowserGlobals } from '../helpers/browser.js';
import { respond } from '../helpers/receiver.js';
import { usePerTestStacks, type Stack } from '../helpers/stack.js';

const OPERATOR = 'op-key-portal';
const op = { authorization: `Bearer ${OPERATOR}` };
const TOKEN = 'tok-form-SECRET-93c';

/**
 * The Explorer's endpoint settings form, as an operator and as a publisher would use it, in a
 * real headless Chromium against a real stack (API, worker, Redis) delivering to a real
 * receiver on loopback (the test stacks allow private targets).
 */
describe('Explorer endpoint settings', () => {
  const stacks = usePerTestStacks();
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  // Registered after usePerTestStacks: runs before its afterEach closes the stack (a page's
  // open connections would hold the API's close).
  afterEach(async () => {
    for (const ctx of contexts.splice(0)) await ctx.close();
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** The page at 1440 px, logged in with `key`, its list loaded. */
  async function openExplorer(stack: Stack, key: string): Promise<Page> {
    const ctx = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1440, height: 900 } });
    contexts.push(ctx);
    const p = await ctx.newPage();
    p.setDefaultTimeout(10_000);
    await p.addInitScript(watchCsp);
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Uncaught/i.test(m.text())) pageErrors.push(m.text());
    });
    await p.goto(`${stack.base}/`);
    await p.fill('#key-input', key);
    await p.click('#key-submit');
    await p.locator('#key-panel').waitFor({ state: 'hidden' });
    await expect.poll(() => p.locator('#summary').textContent()).toMatch(/^(Showing|No postbacks)/);
    return p;
  }

  /** Fires events as the operator and waits until each postback is final. */
  async function fire(stack: Stack, events: Record<string, unknown>[]): Promise<string[]> {
    const res = await stack.post('/v1/events', { events }, op);
    expect(res.status).toBe(200 + 2);
    const ids = res.json.events.map((e: { postbacks: string[] }) => e.postbacks[0]) as string[];
    await Promise.all(ids.map((id) => stack.waitFinal(id)));
    return ids;
  }

  const previewText = (p: Page) => p.locator('#ef-preview').textContent();
  const paramNames = (p: Page) => p.locator('[data-testid=param-name]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
  const errorOf = (p: Page, id: string) => p.locator(`#${id}-error`).textContent();

  it('operator: creates an endpoint through the form (live preview, errors in place), saves, tests, edits, switches it, and sees its traffic and failures, replaying one', async () => {
    const { receiver } = stacks;
    receiver.responder = (r, _i, res) => (r.url.includes('click_id=fail') ? respond(503, 'down')(res) : respond(200, 'OK')(res));
    const stack = await stacks.start({ API_KEYS: OPERATOR, RETRY_SCHEDULE: '0,0.05' });
    const p = await openExplorer(stack, OPERATOR);
    expect(await p.locator('#auth-state').textContent()).toBe('operator key');

    // New endpoint: the form opens with focus on its first field.
    await p.click('[data-view=endpoints]');
    await p.click('#endpoint-new');
    await p.locator('#endpoint-editor').waitFor({ state: 'visible' });
    expect(await p.evaluate(focused, '#endpoint-editor')).toMatchObject({ id: 'ef-id', inside: true });
    expect(await p.locator('#ef-title').textContent()).toBe('New endpoint');
    expect(await p.locator('#ef-test').isDisabled()).toBe(true);
    await p.fill('#ef-id', 'pub-new');
    await p.fill('#ef-publisher', '9');

    // A preset fills its defaults: GET, its parameters, $0 on (MaxPPI).
    await p.selectOption('#ef-preset', 'maxppi');
    expect(await paramNames(p)).toEqual(['click_id', 'payout', 'country']);
    expect(await p.locator('#ef-method-get').isChecked()).toBe(true);
    expect(await p.locator('#ef-zero').isChecked()).toBe(true);

    // The preview follows the URL as it is typed, rendered by the dispatcher from the preset's sample event.
    await p.locator('#ef-url').pressSequentially(`${receiver.base}/p`);
    await expect.poll(() => previewText(p)).toBe(`GET ${receiver.base}/p?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US`);
    await p.locator('#ef-url').pressSequentially('b');
    await expect.poll(() => previewText(p)).toBe(`GET ${receiver.base}/pb?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US`);
    expect(await p.locator('#ef-preview-note').textContent()).toContain('the maxppi preset\u2019s sample event');

    // A parameter added with the keyboard, and the write-only token: masked in the preview.
    await p.locator('#ef-param-add').focus();
    await p.keyboard.press('Enter');
    expect(await p.evaluate(focused, '[data-testid=param-row]')).toMatchObject({ inside: true });
    await p.keyboard.type('token');
    await p.keyboard.press('Tab');
    await p.keyboard.type('{security_token}');
    await p.fill('#ef-token', TOKEN);
    await expect.poll(() => previewText(p)).toBe(`GET ${receiver.base}/pb?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US&token=***`);
    expect(await p.content()).not.toContain(TOKEN.slice(4));

    // A bad field: Save shows the API's error next to it (aria-invalid, aria-describedby) and focuses it.
    await p.fill('#ef-events', 'Conversion!');
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toMatch(/^Not saved: 1 problem/);
    expect(await p.locator('#ef-events').getAttribute('aria-invalid')).toBe('true');
    expect(await errorOf(p, 'ef-events')).toBe('an event type is 1-64 chars of a-z 0-9 _ . -, got "Conversion!"');
    expect((await p.locator('#ef-events').getAttribute('aria-describedby'))!.split(' ')).toEqual(['ef-events-hint', 'ef-events-error']);
    expect(await p.evaluate(focused, '#endpoint-editor')).toMatchObject({ id: 'ef-events' });
    expect((await stack.get('/v1/endpoints/pub-new', op)).status).toBe(404);
    await mkdir(ARTIFACTS, { recursive: true });
    await p.locator('#endpoint-editor').screenshot({ path: `${ARTIFACTS}/explorer-endpoint-form-error-1440.png` });
    const violations: Record<string, AxeViolation[]> = {};
    const axe = async (name: string) => {
      const v = await axeViolations(p);
      if (v.length > 0) violations[name] = v;
    };
    await axe('form-with-error');

    // Fixed and saved: the error goes, the form edits the saved endpoint.
    await p.fill('#ef-events', 'conversion');
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toBe('Saved endpoint pub-new');
    expect(await p.locator('#ef-events').getAttribute('aria-invalid')).toBeNull();
    expect(await p.locator('#ef-title').textContent()).toBe('Edit endpoint pub-new');
    expect(await p.locator('#ef-id').getAttribute('readonly')).not.toBeNull();
    expect((await stack.get('/v1/endpoints/pub-new', op)).json).toMatchObject({
      id: 'pub-new', publisher_id: '9', preset: 'maxppi', method: 'GET', url: `${receiver.base}/pb`,
      params: { click_id: '{external_id}', payout: '{payout}', country: '{country}', token: '{security_token}' },
      events: ['conversion'], allow_zero_payout: true, security_token: '***',
    });
    await expect.poll(() => p.locator('[data-testid=endpoint-row][data-id="pub-new"]').count()).toBe(1);

    // Test: one request reaches the receiver (with the real token); the page shows it readably, masked.
    let before = receiver.requests.length;
    await p.click('#ef-test');
    await expect.poll(() => p.locator('#ef-test-result [data-testid=test-status]').textContent()).toBe('200');
    expect(await p.locator('#ef-test-result [data-testid=test-ok]').textContent()).toBe('ok');
    expect(await p.locator('#ef-test-result [data-testid=test-request]').textContent()).toBe(`GET ${receiver.base}/pb?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US&token=***`);
    await receiver.waitFor(before + 1);
    expect(receiver.requests[before]!.url).toBe(`/pb?click_id=YOUR_CLICK_ID_789&payout=0.5&country=US&token=${TOKEN}`);

    // The form at 1440 and 390 px: screenshots, axe, nothing cut off sideways at 390.
    await p.locator('#endpoint-editor').screenshot({ path: `${ARTIFACTS}/explorer-endpoint-form-1440.png` });
    await p.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await p.screenshot({ path: `${ARTIFACTS}/explorer-endpoint-form-page-1440.png`, fullPage: true });
    await axe('form-1440');
    await p.setViewportSize({ width: 390, height: 900 });
    await p.locator('#endpoint-editor').screenshot({ path: `${ARTIFACTS}/explorer-endpoint-form-390.png` });
    await axe('form-390');
    expect(await p.evaluate(() => (globalThis as unknown as BrowserGlobals).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const id of ['ef-url', 'ef-save', 'ef-test', 'ef-preview', 'ef-param-add']) {
      const box = (await p.locator(`#${id}`).boundingBox())!;
      expect(box.x, id).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, id).toBeLessThanOrEqual(390);
    }
    await p.setViewportSize({ width: 1440, height: 900 });
    expect(violations).toEqual({});

    // Edit: a new path, the token left blank (kept), a parameter removed with the keyboard.
    await p.click('#ef-close');
    await p.locator('#endpoint-editor').waitFor({ state: 'hidden' });
    await p.getByRole('button', { name: 'Edit pub-new' }).click();
    // Focus moves to the form's heading once it is filled from the stored endpoint.
    await expect.poll(() => p.evaluate(focused, '#endpoint-editor')).toMatchObject({ id: 'ef-title', inside: true });
    expect(await p.locator('#ef-title').textContent()).toBe('Edit endpoint pub-new');
    expect(await p.locator('#ef-url').inputValue()).toBe(`${receiver.base}/pb`);
    expect(await p.locator('#ef-token').inputValue()).toBe('');
    expect(await p.locator('#ef-token-hint').textContent()).toContain('leave this blank to keep it');
    await p.fill('#ef-url', `${receiver.base}/pb2`);
    await p.getByRole('button', { name: 'Remove parameter 3 (country)' }).focus();
    await p.keyboard.press('Enter');
    expect(await paramNames(p)).toEqual(['click_id', 'payout', 'token']);
    expect(await p.evaluate(focused, '[data-testid=param-row]')).toMatchObject({ inside: true });
    await expect.poll(() => previewText(p)).toBe(`GET ${receiver.base}/pb2?click_id=YOUR_CLICK_ID_789&payout=0.5&token=***`);
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toBe('Saved endpoint pub-new');
    before = receiver.requests.length;
    await p.click('#ef-test');
    await receiver.waitFor(before + 1);
    expect(receiver.requests[before]!.url).toBe(`/pb2?click_id=YOUR_CLICK_ID_789&payout=0.5&token=${TOKEN}`);

    // Disable and Enable from the form.
    await p.click('#ef-toggle');
    await expect.poll(() => p.locator('#ef-state').textContent()).toBe('disabled');
    expect(await p.locator('#ef-toggle').textContent()).toBe('Enable');
    expect((await stack.get('/v1/endpoints/pub-new', op)).json.health.state).toBe('disabled');
    await p.click('#ef-toggle');
    await expect.poll(() => p.locator('#ef-state').textContent()).toBe('healthy');
    expect((await stack.get('/v1/endpoints/pub-new', op)).json.health.state).toBe('healthy');
    // Close gives focus back to the button that opened the form.
    await p.click('#ef-close');
    expect(await p.evaluate(focused, '#endpoints-table')).toMatchObject({ dataId: 'pub-new', inside: true });

    // Traffic through the API: three delivered, two failing (the receiver answers 503).
    await fire(stack, [
      ...Array.from({ length: 3 }, (_, i) => ({ id: `op-ok-${i}`, type: 'conversion', endpoint_id: 'pub-new', cid: `c-${i}`, payout: 1 })),
      ...Array.from({ length: 2 }, (_, i) => ({ id: `op-fail-${i}`, type: 'conversion', endpoint_id: 'pub-new', cid: `fail-${i}`, payout: 1 })),
    ]);
    await p.click('[data-view=overview]');
    await expect.poll(() => p.locator('[data-testid=total-delivered] .n').textContent()).toBe('3');
    expect(await p.locator('[data-testid=total-failed] .n').textContent()).toBe('2');
    expect(await p.locator('#overview-chart-title').textContent()).toContain('5 created, 2 failed');

    // The failures in history, found with the endpoint picker; one replayed.
    await p.click('[data-view=postbacks]');
    await p.selectOption('#filter-endpoint', 'pub-new');
    await p.selectOption('#filter-status', 'failed');
    await p.click('#apply');
    const rows = p.locator('[data-testid=row]');
    await expect.poll(() => rows.count()).toBe(2);
    await rows.filter({ hasText: 'op-fail-0' }).locator('[data-col=event]').click();
    await expect.poll(() => p.locator('[data-testid=attempt-error]').allTextContents()).toEqual(['HTTP 503 from receiver', 'HTTP 503 from receiver']);
    before = receiver.requests.length;
    await p.click('#replay');
    await receiver.waitFor(before + 1);
    expect(receiver.requests[before]!.url).toBe(`/pb2?click_id=fail-0&payout=1&token=${TOKEN}`);
    await expect.poll(() => p.locator('#status').textContent()).toMatch(/^Replayed \S+ as \S+/);

    expect(await p.evaluate(() => (globalThis as unknown as BrowserGlobals).__cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
    if (process.env.EXPLORER_DOCS_IMAGES) await copyFile(`${ARTIFACTS}/explorer-endpoint-form-page-1440.png`, 'docs/images/explorer-endpoint-form.png');
  });

  it('publisher: sees only its own postbacks and endpoints, edits its own endpoint through the form, and cannot reach another publisher\'s', async () => {
    const { receiver } = stacks;
    const stack = await stacks.start({ API_KEYS: OPERATOR, RETRY_SCHEDULE: '0' });
    const urlA = `${receiver.base}/a?e={event_id}&t={security_token}`;
    const urlB = `${receiver.base}/b?e={event_id}`;
    for (const [id, publisher, url] of [['pub7-main', '7', urlA], ['pub8-main', '8', urlB]] as const) {
      expect((await stack.request('PUT', `/v1/endpoints/${id}`, { publisher_id: publisher, url, security_token: `${TOKEN}-${publisher}` }, op)).status).toBe(200);
    }
    // A preset's endpoint that names no method of its own (MomentScience: POST).
    expect((await stack.request('PUT', '/v1/endpoints/pub7-ms', { publisher_id: '7', preset: 'momentscience', url: `${receiver.base}/ms` }, op)).status).toBe(200);
    await fire(stack, [
      { id: 'a-1', type: 'conversion', endpoint_id: 'pub7-main' },
      { id: 'a-2', type: 'conversion', endpoint_id: 'pub7-main' },
      { id: 'b-1', type: 'conversion', endpoint_id: 'pub8-main' },
      { id: 'b-2', type: 'conversion', endpoint_id: 'pub8-main' },
    ]);
    const made = await stack.post('/v1/keys', { publisher_id: '7', name: 'portal' }, op);
    expect(made.status).toBe(201);
    const p = await openExplorer(stack, made.json.key as string);
    expect(await p.locator('#auth-state').textContent()).toBe('publisher 7');

    // Its postbacks only, in the table and the pickers.
    const rows = p.locator('[data-testid=row]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.locator('[data-col=event]').allTextContents()).toEqual(['a-2', 'a-1']);
    expect(await rows.locator('[data-col=endpoint]').allTextContents()).toEqual(['pub7-main', 'pub7-main']);
    const options = (id: string) => p.locator(`#${id} option`).evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    await expect.poll(() => options('filter-endpoint')).toEqual(['', 'pub7-main', 'pub7-ms']);
    expect(await options('filter-publisher')).toEqual(['', '7']);

    // Its endpoints only.
    await p.click('[data-view=endpoints]');
    const endpointRows = p.locator('[data-testid=endpoint-row]');
    await expect.poll(() => endpointRows.count()).toBe(2);
    expect(await endpointRows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(n: string): string }).getAttribute('data-id')))).toEqual(['pub7-main', 'pub7-ms']);
    expect(await p.content()).not.toContain('pub8-main');

    // Edits its own endpoint: the publisher is fixed to its own, the stored token kept.
    await p.getByRole('button', { name: 'Edit pub7-main' }).click();
    await expect.poll(() => p.locator('#ef-title').textContent()).toBe('Edit endpoint pub7-main');
    expect(await p.locator('#ef-publisher').inputValue()).toBe('7');
    expect(await p.locator('#ef-publisher').getAttribute('readonly')).not.toBeNull();
    await expect.poll(() => previewText(p)).toMatch(new RegExp(`^GET ${receiver.base}/a\\?e=[^&]+&t=\\*\\*\\*$`));
    await p.fill('#ef-url', `${receiver.base}/a2?e={event_id}&t={security_token}`);
    await p.click('#ef-param-add');
    await p.keyboard.type('src');
    await p.keyboard.press('Tab');
    await p.keyboard.type('portal');
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toBe('Saved endpoint pub7-main');
    const stored = (await stack.get('/v1/endpoints/pub7-main', op)).json;
    expect(stored).toMatchObject({ publisher_id: '7', url: `${receiver.base}/a2?e={event_id}&t={security_token}`, params: { src: 'portal' }, security_token: '***' });
    const before = receiver.requests.length;
    expect((await stack.post('/v1/endpoints/pub7-main/test', {}, op)).json.ok).toBe(true);
    expect(receiver.requests[before]!.url).toMatch(new RegExp(`^/a2\\?e=[^&]+&t=${TOKEN}-7&src=portal$`));

    // The form shows what a preset gives an endpoint (POST, $0 on), and saving it unchanged keeps it.
    await p.click('#ef-close');
    await p.getByRole('button', { name: 'Edit pub7-ms' }).click();
    await expect.poll(() => p.locator('#ef-title').textContent()).toBe('Edit endpoint pub7-ms');
    expect(await p.locator('#ef-method-post').isChecked()).toBe(true);
    expect(await p.locator('#ef-zero').isChecked()).toBe(true);
    expect(await paramNames(p)).toEqual([]);
    await expect.poll(() => previewText(p)).toMatch(new RegExp(`^POST ${receiver.base}/ms\n`));
    expect(await previewText(p)).toContain('"advertiser_name": "MomentScience"');
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toBe('Saved endpoint pub7-ms');
    expect((await stack.get('/v1/endpoints/pub7-ms', op)).json).toMatchObject({ publisher_id: '7', preset: 'momentscience', method: 'POST', allow_zero_payout: true });

    // Another publisher's endpoint cannot be reached: an id of theirs is refused in place
    // (preview and Save alike), and their endpoint stays as it was.
    await p.click('#ef-close');
    await p.click('#endpoint-new');
    await expect.poll(() => p.locator('#ef-title').textContent()).toBe('New endpoint');
    expect(await p.locator('#ef-publisher').inputValue()).toBe('7');
    await p.fill('#ef-id', 'pub8-main');
    await p.fill('#ef-url', `${receiver.base}/takeover?t={security_token}`);
    await expect.poll(() => p.locator('#ef-id').getAttribute('aria-invalid')).toBe('true');
    await p.click('#ef-save');
    await expect.poll(() => p.locator('#status').textContent()).toMatch(/^Not saved/);
    expect(await errorOf(p, 'ef-id')).toContain('cannot see');
    expect(await p.evaluate(focused, '#endpoint-editor')).toMatchObject({ id: 'ef-id' });
    expect((await stack.get('/v1/endpoints/pub8-main', op)).json).toMatchObject({ publisher_id: '8', url: urlB });
    expect((await stack.get('/v1/endpoints/pub8-main', { authorization: `Bearer ${made.json.key as string}` })).status).toBe(404);
    expect(pageErrors).toEqual([]);
  });
});
