/**
 * A real browser for looking at what a person sees: Debian's chromium (apt), driven by playwright-core (npm), which
 * never downloads a browser of its own. Every page is offline: a request for anything but the file itself (or data:
 * and blob: URLs it makes) is refused and recorded, and console errors and uncaught page errors are recorded too.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CLUSTERPROOF_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no chromium at ${CHROMIUM} (install it: apt-get install -y chromium, or set CLUSTERPROOF_CHROMIUM)`;
}

export interface OfflinePage {
  page: Page;
  /** requests that tried to leave the file */
  outside: string[];
  /** console errors and uncaught exceptions */
  errors: string[];
}

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

export async function offlinePage(browser: Browser, viewport = { width: 1400, height: 1000 }): Promise<OfflinePage> {
  const context = await browser.newContext({ viewport, offline: true });
  const page = await context.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(file|data|blob):/.test(url)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return { page, outside, errors };
}
