// The example pages in real headless Chromium: the plain drop-in page and
// the records app, driven through their UI. Fails if a page throws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, OUT } from './harness.mjs';

let b;
before(async () => { b = await startBrowser(); });
after(async () => { await b?.close(); });

test('examples/plain: the drop-in file with hand-written fetch + instantiate shows the records', async () => {
  const { page, errors } = await b.open('examples/plain/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  const rows = await page.$$eval('#rows tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r.slice(1)), [['1', '0.5', '2.25'], ['2', '-3', '4.75'], ['3', '10.125', '-1']]);
  assert.match(await page.textContent('#stats'), /^3 records live, 0 after deleteRecord/);
  await page.screenshot({ path: `${OUT}plain.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('examples/records: add through the form, delete, create 100 000; table, stats and heap map follow', async () => {
  const { page, errors } = await b.open('examples/records/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  const rowCount = () => page.$$eval('#rows tr', (r) => r.length);
  const stat = (k) => page.textContent(`dd[data-stat="${k}"]`);
  assert.equal(await rowCount(), 3);
  const pagesBefore = Number(await page.getAttribute('#heapmap', 'data-pages'));

  await page.fill('input[name=id]', '77');
  await page.fill('input[name=x]', '1.5');
  await page.fill('input[name=y]', '-2.5');
  await page.click('#add button[type=submit]');
  assert.equal(await rowCount(), 4);
  const first = await page.$$eval('#rows tr:first-child td', (tds) => tds.slice(1, 4).map((td) => td.textContent));
  assert.deepEqual(first, ['77', '1.500', '-2.500']);
  assert.equal(await stat('live allocations'), '4');
  assert.equal(await page.getAttribute('#heapmap', 'data-blocks'), '4');

  await page.click('#rows tr:first-child button.del');
  assert.equal(await rowCount(), 3);
  assert.equal(await stat('live allocations'), '3');

  await page.click('#bulk');
  await page.waitForFunction(() => document.querySelector('#count').textContent.includes('100,003'), null, { timeout: 30_000 });
  assert.equal(await stat('live allocations'), '100003');
  assert.equal(await rowCount(), 200, 'table shows the newest 200');
  const pagesAfter = Number(await page.getAttribute('#heapmap', 'data-pages'));
  assert.ok(pagesAfter > pagesBefore + 10, `heap map grew from ${pagesBefore} to ${pagesAfter} pages`);
  const mapHeight = await page.$eval('#heapmap', (c) => c.height);
  assert.ok(mapHeight >= pagesAfter * 4, 'one strip per page');
  await page.screenshot({ path: `${OUT}records.png`, fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 }); // phone-sized
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px on a phone`);
  await page.screenshot({ path: `${OUT}records-phone.png` });

  await page.click('#clear');
  assert.equal(await stat('live allocations'), '0');
  assert.equal(await rowCount(), 0);
  assert.deepEqual(errors, []);
});

test('examples/link: C and Rust clients linked to linalloc in the browser; C allocations show in the stats', async () => {
  const { page, errors } = await b.open('examples/link/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  assert.match(await page.textContent('#ids'), /ids: 1 2 3 4 5 6 1 7 8 1 9 — 9 distinct/);
  assert.equal(await page.textContent('#sorted'), 'sorted by Rust: brown, dog, end, fox, jumps, lazy, over, quick, the');
  const live = Number(await page.textContent('dd[data-stat="live allocations"]'));
  assert.ok(live >= 11, `C table's blocks are live in linalloc (${live})`);
  await page.fill('input[name=text]', 'zebra yak zebra');
  await page.click('#words button');
  assert.match(await page.textContent('#ids'), /ids: 10 11 10 — 11 distinct/);
  assert.ok(Number(await page.textContent('dd[data-stat="live allocations"]')) > live);
  const regions = await page.$$eval('#regions tr', (trs) => trs.map((tr) => tr.children[0].textContent));
  assert.deepEqual(regions, ['linalloc', 'strtab', 'rust']);
  await page.screenshot({ path: `${OUT}link.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('the checked build in the browser: a double free becomes a DoubleFreeError the page can report', async () => {
  const { page, errors } = await b.open('examples/plain/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  const result = await page.evaluate(async () => {
    const { load } = await import('/js/linalloc.js');
    const heap = await load(undefined, { checked: true, track: true });
    const p = heap.malloc(32);
    heap.free(p);
    try {
      heap.free(p);
      return 'not caught';
    } catch (e) {
      return { name: e.name, code: e.code, ptr: e.ptr === p, stack: /allocated at/.test(e.message), live: heap.stats().liveAllocations, again: heap.malloc(8) > 0 };
    }
  });
  assert.deepEqual(result, { name: 'DoubleFreeError', code: 'DOUBLE_FREE', ptr: true, stack: true, live: 0, again: true });
  assert.deepEqual(errors, []);
});

test('examples/workers: four Web Workers fill one shared heap; the main thread lists every record', async () => {
  const { page, errors } = await b.open('examples/workers/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 });
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'make serve sends COOP and COEP');
  const rows = await page.$$eval('#rows tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(rows.length, 4 * 250);
  for (let w = 0; w < 4; w++) {
    const mine = rows.filter((r) => r[0] === String(w));
    assert.equal(mine.length, 250, `worker ${w}'s records`);
    assert.deepEqual(mine.map((r) => Number(r[2])).sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => w * 1000 + i));
  }
  assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, 'every record at its own address');
  assert.match(await page.textContent('#stats'), /^1000 records from 4 workers; live blocks 1000, in use 24000 bytes/);
  await page.screenshot({ path: `${OUT}workers.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('examples/workers without cross-origin isolation says so in words', async () => {
  const { serve } = await import('../../scripts/serve.mjs');
  const plain = await serve({ isolate: false });
  try {
    const page = await b.browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(plain.url + 'examples/workers/');
    await page.waitForSelector('body[data-ready="not-isolated"]', { timeout: 10_000 });
    assert.match(await page.textContent('#note'), /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await plain.close();
  }
});
