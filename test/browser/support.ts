/**
 * Browser tests: Debian's Chromium driven by playwright-core, against the service started in
 * this process (test clock, in-process simulators) and listening on 127.0.0.1.
 * Nothing here sleeps: every wait is for a condition, with a deadline.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { TOKENS } from '../support/fixtures.ts';
import { waitUntil } from '../support/wait.ts';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Where screenshots go (kept as CI artifacts; not committed). */
export const ARTIFACTS = process.env.BROWSER_ARTIFACTS ?? join(process.cwd(), '.tmp', 'browser');

/** How long a page may take to show what the service has done (projections, task worker, polling). */
export const DEADLINE_MS = 20_000;
/** A browser test waits on several such things, on a machine shared with the other suites. */
export const BROWSER_TEST_TIMEOUT_MS = 90_000;

export const launchChromium = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60_000 });
};

/** A named customer-service agent and the usual role tokens. */
export const AGENT = { name: 'zhang.wei', token: 'test-agent-zhang-wei-token' } as const;

export type Served = { t: TestLedger; base: string };

/** The whole service (projections, task worker, simulators) in this process, reachable by the browser. */
export const serve = async (extraEnv: Record<string, string> = {}): Promise<Served> => {
  const t = await startTestLedger(
    {
      API_TOKENS: [
        `open-platform:${TOKENS.openPlatform}`,
        `phone-app:${TOKENS.phone}`,
        `customer-service:${TOKENS.service}`,
        `customer-service:${AGENT.name}:${AGENT.token}`,
        `admin:${TOKENS.admin}`,
      ].join(','),
      RETRY_BASE_MS: '5',
      ...extraEnv,
    },
    { process: true },
  );
  // The test clock starts at the wall clock (and moves only when a test moves it), so the times the
  // ledger decides and the times the stores record read alike on the pages and in the screenshots.
  t.clock.now = new Date(Math.floor(Date.now() / 1000) * 1000);
  if (!t.url) throw new Error('expected the ledger to listen');
  return { t, base: t.url };
};

/** Fails the test on any error the page's scripts throw or log (a broken module, a CSP refusal). */
export const watchErrors = (page: Page): string[] => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A refused call (401 on purpose, 404 of a probe) is logged by the browser as a failed resource; that is not a script error.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return errors;
};

/** How often a wait looks again at the page. */
const POLL_MS = 50;

/**
 * Polls, with a deadline, until one of the located elements shows text (as the user sees it:
 * innerText, cells apart) matching the pattern; returns that text.
 */
export const textMatches = async (locator: Locator, pattern: RegExp, what: string): Promise<string> => {
  let shown: string[] = [];
  /** Where the page was when nothing matched: its address and the start of what it showed. */
  let where = '';
  return waitUntil(
    async () => {
      shown = await locator.allInnerTexts();
      const found = shown.find((text) => pattern.test(text));
      if (found === undefined && shown.length === 0) {
        const page = locator.page();
        where = `${page.url()}: ${String(await page.evaluate("(document.querySelector('main') ?? document.body)?.innerText ?? ''").catch(() => '')).slice(0, 300)}`;
      }
      return found;
    },
    () => `${what}: ${pattern} (shown: ${JSON.stringify(shown.join(' | ').slice(0, 600))}${shown.length === 0 ? `; the page: ${JSON.stringify(where)}` : ''})`,
    { timeoutMs: DEADLINE_MS, intervalMs: POLL_MS },
  );
};

/** One blank page per browser to decode screenshots in. */
const probes = new WeakMap<Browser, Page>();

type PixelStats = { width: number; height: number; colours: number; notBackground: number };

/** Runs in a blank page: decodes a PNG and counts its colours (4 bits a channel) and the pixels unlike the commonest one. */
const PIXEL_STATS = `async (b64) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const counts = new Map();
  for (let i = 0; i < data.length; i += 4) {
    const key = (data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const pixels = data.length / 4;
  const background = Math.max(...counts.values());
  return { width: canvas.width, height: canvas.height, colours: counts.size, notBackground: (pixels - background) / pixels };
}`;

/**
 * Saves a screenshot as a test artifact and checks it is not blank: decoded in a blank page,
 * it must show many colours and a good share of pixels unlike the background.
 */
export const screenshot = async (browser: Browser, page: Page, name: string): Promise<string> => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = await page.screenshot({ fullPage: true });
  const file = join(ARTIFACTS, `${name}.png`);
  writeFileSync(file, png);
  let probe = probes.get(browser);
  if (!probe) {
    probe = await browser.newPage();
    probes.set(browser, probe);
  }
  const stats = await probe.evaluate<PixelStats>(`(${PIXEL_STATS})(${JSON.stringify(png.toString('base64'))})`);
  expect(stats.width, `${name}: width`).toBeGreaterThan(300);
  expect(stats.colours, `${name}: distinct colours`).toBeGreaterThanOrEqual(16);
  expect(stats.notBackground, `${name}: share of pixels unlike the background`).toBeGreaterThan(0.03);
  return file;
};
