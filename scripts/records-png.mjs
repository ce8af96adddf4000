// Regenerates docs/records.png, the README's picture of the records example,
// from the page itself: serves the repo, opens examples/records/ in headless
// Chromium at 1280 px, presses "Create 100 000" (with a seeded Math.random,
// so the plot is the same every run) and screenshots the whole page.
// CLI: node scripts/records-png.mjs [out.png]   (default docs/records.png;
// CHROMIUM=/path/to/chrome picks the browser, default /usr/bin/chromium)
import { chromium } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { serve } from './serve.mjs';

export const VIEWPORT = { width: 1280, height: 900 };
const DEFAULT_OUT = fileURLToPath(new URL('../docs/records.png', import.meta.url));

/** Screenshots the records page into `out`; resolves to `{ out, pages, records }`. */
export async function recordsPng({ out = DEFAULT_OUT, executablePath = process.env.CHROMIUM || '/usr/bin/chromium' } = {}) {
  const server = await serve();
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // mulberry32, seeded: the same 100 000 points every run
    await page.addInitScript(() => {
      let s = 0x9e3779b9;
      Math.random = () => {
        s = (s + 0x6d2b79f5) | 0;
        let t = Math.imul(s ^ (s >>> 15), 1 | s);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    });
    await page.goto(`${server.url}examples/records/`);
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 });
    await page.click('#bulk');
    await page.waitForFunction(() => document.querySelector('#count').textContent.includes('100,003'), null, { timeout: 60_000 });
    await page.screenshot({ path: out, fullPage: true });
    if (errors.length) throw new Error(`the records page failed: ${errors.join('; ')}`);
    const pages = Number(await page.getAttribute('#heapmap', 'data-pages'));
    return { out, pages, records: 100_003 };
  } finally {
    await browser.close();
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { out, pages, records } = await recordsPng({ out: process.argv[2] });
  console.log(`wrote ${out}: the records page at ${VIEWPORT.width} px with ${records.toLocaleString('en')} records, heap map of ${pages} pages`);
}
