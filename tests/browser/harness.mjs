// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// against the repo served on localhost. Shared by the browser suites.
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '../../scripts/serve.mjs';

export const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));

const CANDIDATES = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);

/** Path of the browser binary; throws a message saying how to install one. */
export function browserPath() {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium found (looked at ${CANDIDATES.join(', ')}); run \`make setup\` (installs Debian's chromium) or set CHROMIUM=/path/to/chrome`);
  return found;
}

/** Starts the server and the browser; returns `{ server, browser, open(path), close() }`. */
export async function startBrowser() {
  mkdirSync(OUT, { recursive: true });
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: browserPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  /** Opens a page; collects its uncaught errors and console errors. */
  async function open(path) {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
    await page.goto(server.url + path);
    return { page, errors };
  }
  return {
    server,
    browser,
    open,
    close: async () => { await browser.close(); await server.close(); },
  };
}
