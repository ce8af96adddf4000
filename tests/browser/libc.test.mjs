// examples/libc/wasi.html in headless Chromium: C, C++ and SQLite programs
// built with the libc path (make libc) run as WASI commands through
// linkModules, with @bjorn3/browser_wasi_shim (npm) as the browser's WASI;
// each program's stdout must be byte for byte its native build's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBrowser, OUT } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIBC = ROOT + 'build/libc/';
const PROGRAMS = { inventory: 'inventory.txt', wordfreq: 'tale.txt', sqlite: 'sqlite-script.sql' };
const lacking = [
  ...(existsSync(ROOT + 'node_modules/@bjorn3/browser_wasi_shim') ? [] : ['node_modules/@bjorn3/browser_wasi_shim (npm ci)']),
  ...Object.keys(PROGRAMS).flatMap((p) => [`${p}.wasm`, `${p}-native`]).filter((f) => !existsSync(LIBC + f)).map((f) => `build/libc/${f} (make libc)`),
];
const skip = lacking.length ? `needs ${lacking.join(', ')}` : false;

let b;
before(async () => { if (!skip) b = await startBrowser(); });
after(async () => { await b?.close(); });

test('examples/libc/wasi.html: C, C++ and SQLite print what their native builds print, and free every block', { skip }, async () => {
  const { page, errors } = await b.open('examples/libc/wasi.html');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 60_000 });
  for (const [name, input] of Object.entries(PROGRAMS)) {
    const card = `[data-program="${name}"]`;
    const expected = execFileSync(LIBC + `${name}-native`, { input: readFileSync(ROOT + 'examples/libc/' + input) }).toString();
    assert.equal(await page.textContent(`${card} .stdout`), expected, `${name}: stdout`);
    assert.equal(await page.getAttribute(card, 'data-exit-code'), '0', name);
    assert.equal(await page.getAttribute(card, 'data-live'), '0', `${name}: every block freed`);
    assert.equal(await page.getAttribute(card, 'data-invalid-frees'), '0', name);
  }
  await page.screenshot({ path: `${OUT}libc.png`, fullPage: true });
  assert.deepEqual(errors, []);
});
