/**
 * A headless Chromium for tests that look at a web page (the Temporal Web UI): the system's Debian build, driven
 * by playwright-core. Playwright never downloads a browser here; without /usr/bin/chromium the caller skips.
 *
 *   const browser = await launchBrowser();
 *   const page = await browser.context.newPage();
 *   ...
 *   await browser.close();
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why a browser test cannot run on this machine, or undefined when it can. */
export function browserUnavailable(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `no ${CHROMIUM_PATH} (apt-get install chromium)`;
}

export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. Safe to call twice. */
  close(): Promise<void>;
}

// No sandbox: CI containers run as root, where Chromium's sandbox refuses to start. The rest keeps a browser
// with no internet from reaching for it (updates, sync, field trials) and a 2-core machine from a GPU process.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<TestBrowser> {
  // A fresh profile per launch: nothing (cookies, UI settings saved in local storage) leaks between runs.
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport: { width: 1600, height: 1000 },
      timeout: 30_000,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    close: () =>
      (closing ??= (async () => {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      })()),
  };
}
