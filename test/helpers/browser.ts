import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findChromium } from '../../tools/find-chromium.mjs';

/** What the page's callbacks touch in the browser (the project compiles without the DOM lib). */
export interface BrowserGlobals {
  readonly sessionStorage: { getItem(key: string): string | null };
  readonly __xss?: number;
  readonly __cspViolations?: readonly string[];
  readonly document: { readonly activeElement: BrowserElement | null; readonly documentElement: BrowserElement };
  getComputedStyle(e: unknown): { position: string; display: string };
}

/** The few DOM element members the tests read in the page. */
export interface BrowserElement {
  readonly id: string;
  readonly tagName: string;
  readonly scrollWidth: number;
  readonly clientWidth: number;
  getAttribute(name: string): string | null;
  closest(selector: string): BrowserElement | null;
  matches(selector: string): boolean;
}

/** Screenshots for people to look at; gitignored. */
export const ARTIFACTS = 'test-artifacts';

/** Headless Chromium: CHROME_PATH, else Debian's chromium or Google Chrome (npm test's pretest checks this first). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium(process.env);
  if (executablePath === undefined) throw new Error('No Chrome/Chromium: set CHROME_PATH or run `sudo apt-get install -y chromium`.');
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** axe-core's source, evaluated in the page (CDP evaluation is not subject to the page's CSP; a script tag would be). */
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: string[];
}

/** Runs axe-core (WCAG 2.1 A and AA, contrast included) on the page as it is; the serious and critical violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(await AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** The focused element's id and data-id, and whether it sits inside `within` (a selector). Runs in the page. */
export function focused(within: string): { id: string; dataId: string | null; inside: boolean } {
  const a = (globalThis as unknown as BrowserGlobals).document.activeElement;
  return { id: a?.id ?? '', dataId: a?.getAttribute('data-id') ?? null, inside: a?.closest(within) !== null && a !== null };
}

/** Runs in the page before its own scripts: records every CSP violation the browser reports. */
export function watchCsp(): void {
  const g = globalThis as unknown as {
    __cspViolations: string[];
    addEventListener(type: 'securitypolicyviolation', listener: (e: { effectiveDirective: string; blockedURI: string }) => void): void;
  };
  g.__cspViolations = [];
  g.addEventListener('securitypolicyviolation', (e) => g.__cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
}
