// The example pages in real headless Chromium: the plain drop-in page and
// the records app, driven through their UI. Fails if a page throws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startBrowser, OUT } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** RGBA of the canvas pixel at (x, y), in canvas pixels. */
const pixel = (page, sel, x, y) => page.$eval(sel, (c, [x, y]) => [...c.getContext('2d').getImageData(x, y, 1, 1).data], [Math.floor(x), Math.floor(y)]);
const AMBER = [245, 158, 11, 255]; // #f59e0b, "not the heap's"

/** Share of `main`'s content box covered by its cards, sampled on a 40 × 40 lattice: empty grid cells leave holes. */
const gridCoverage = (page) => page.evaluate(() => {
  const main = document.querySelector('main');
  const cs = getComputedStyle(main);
  const m = main.getBoundingClientRect();
  const [left, top] = [m.left + parseFloat(cs.paddingLeft), m.top + parseFloat(cs.paddingTop)];
  const [w, h] = [m.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight), m.height - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom)];
  const gap = parseFloat(cs.rowGap) || 0;
  const cards = [...main.children].map((c) => c.getBoundingClientRect());
  let inside = 0;
  for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) {
    const [x, y] = [left + ((i + 0.5) / 40) * w, top + ((j + 0.5) / 40) * h];
    // a point in a gap between cards counts as covered: only missing cards are holes
    if (cards.some((r) => x >= r.left - gap && x <= r.right + gap && y >= r.top - gap && y <= r.bottom + gap)) inside++;
  }
  return inside / 1600;
});

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

  // an error goes away once a later action succeeds (the form's own checks bypassed to provoke one)
  await page.$eval('#add', (f) => { f.elements.id.value = '-1'; f.dispatchEvent(new Event('submit', { cancelable: true })); });
  assert.equal(await page.isVisible('#error'), true, 'the error is shown');
  assert.match(await page.textContent('#error'), /id/);
  await page.fill('input[name=id]', '78');
  await page.click('#add button[type=submit]');
  assert.equal(await page.isVisible('#error'), false, 'the old error is gone after a record was added');
  await page.click('#rows tr:first-child button.del');

  await page.click('#bulk');
  await page.waitForFunction(() => document.querySelector('#count').textContent.includes('100,003'), null, { timeout: 30_000 });
  // no allocation-site tracking on this page: 100 000 createRecord calls stay quick (with `track: true`
  // they took 0.4-1.5 s in headless Chromium, against 5-35 ms without)
  const ms = Number(await page.getAttribute('#timing', 'data-ms'));
  assert.match(await page.textContent('#timing'), /^100 000 createRecord calls in \d+ ms$/);
  assert.ok(ms > 0 && ms < 250, `Create 100 000 took ${ms} ms`);
  assert.equal(await stat('live allocations'), '100003');
  assert.equal(await rowCount(), 200, 'table shows the newest 200');
  const pagesAfter = Number(await page.getAttribute('#heapmap', 'data-pages'));
  assert.ok(pagesAfter > pagesBefore + 10, `heap map grew from ${pagesBefore} to ${pagesAfter} pages`);
  const mapHeight = await page.$eval('#heapmap', (c) => c.height);
  assert.ok(mapHeight >= pagesAfter * 4, 'one strip per page');
  await page.screenshot({ path: `${OUT}records.png`, fullPage: true });

  await page.setViewportSize({ width: 1280, height: 900 }); // a laptop: no half-empty grid
  const coverage = await gridCoverage(page);
  assert.ok(coverage > 0.9, `the cards cover ${(coverage * 100).toFixed(0)} % of the grid at 1280 px`);

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

test('examples/workers: four Web Workers fill one shared heap; the main thread checks every record, shows a summary and the newest rows', async () => {
  const { page, errors } = await b.open('examples/workers/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 20_000 });
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'make serve sends COOP and COEP');
  const cells = (sel) => page.$$eval(sel, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  // a summary per worker: all 250 records, their ids, all read back intact on the main thread
  assert.deepEqual((await cells('#summary tr')).map((r) => [r[0], r[1], r[2], r[4]]), [0, 1, 2, 3].map((w) => [String(w), '250', `${w * 1000}–${w * 1000 + 249}`, '250']));
  // and the newest rows, not all 1000
  const rows = await cells('#rows tr');
  assert.equal(rows.length, 4 * 5);
  for (let w = 0; w < 4; w++) assert.deepEqual(rows.filter((r) => r[0] === String(w)).map((r) => Number(r[2])), [245, 246, 247, 248, 249].map((i) => w * 1000 + i));
  assert.match(await page.textContent('#stats'), /^1000 records from 4 workers at 1000 distinct addresses; live blocks 1000, in use 24000 bytes/);
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height < 2000, `the page is ${height} px tall`);
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

test('examples/records: the heap map paints page 0 by address, the plot has axes with a scale', async () => {
  const { page, errors } = await b.open('examples/records/');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  const map = await page.$eval('#heapmap', (c) => ({ width: c.width, pages: Number(c.dataset.pages), heapStart: Number(c.dataset.heapStart) }));
  assert.ok(map.heapStart > 0 && map.heapStart < 65536 / 2, `heapStart ${map.heapStart}: most of page 0 is heap`);
  const x = (addr) => (addr % 65536) / (65536 / map.width);
  const strip = map.pages > 64 ? 3 : 8;
  const y = 1 + strip / 2; // page 0's strip
  assert.deepEqual(await pixel(page, '#heapmap', x(map.heapStart / 2), y), AMBER, 'below heapStart: the stack and static data');
  for (const frac of [0.6, 0.8, 0.99]) {
    const addr = map.heapStart + frac * (65536 - map.heapStart);
    assert.notDeepEqual(await pixel(page, '#heapmap', x(addr), y), AMBER, `page 0 at ${Math.round(addr)} is the heap's`);
  }
  // the plot's ticks cover the three records' x from -3 to 10.125 and y from -1 to 4.75
  const ticks = await page.$eval('#plot', (c) => ({ x: c.dataset.xTicks.split(' ').map(Number), y: c.dataset.yTicks.split(' ').map(Number) }));
  assert.ok(ticks.x.length >= 3 && ticks.x[0] <= -3 && ticks.x.at(-1) >= 10.125, `x ticks ${ticks.x}`);
  assert.ok(ticks.y.length >= 3 && ticks.y[0] <= -1 && ticks.y.at(-1) >= 4.75, `y ticks ${ticks.y}`);
  // the axis lines are drawn: dark pixels down the y axis and along the x axis
  const dark = (p) => p[3] > 0 && p[0] < 80 && p[1] < 80 && p[2] < 80;
  const axisX = await page.$eval('#plot', (c) => c.height);
  assert.ok(dark(await pixel(page, '#plot', 46, axisX / 2)), 'the y axis');
  assert.ok(dark(await pixel(page, '#plot', 200, axisX - 30)), 'the x axis');
  assert.deepEqual(errors, []);
});

test("README's HTML quick start prints the pointer and a value on the page", async () => {
  const html = /```html\n([\s\S]*?)```/.exec(readFileSync(ROOT + 'README.md', 'utf8'))[1];
  const page = await b.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // served beside dist/ as a user's index.html would be, without writing a file
  await page.route(`${b.server.url}quick-start.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${b.server.url}quick-start.html`);
  await page.waitForFunction(() => !document.querySelector('#out').textContent.startsWith('loading'), null, { timeout: 10_000 });
  const [, p] = /^malloc\(16\) returned (\d+); its bytes read 7, 7$/.exec(await page.textContent('#out')) ?? [];
  assert.ok(Number(p) > 0, await page.textContent('#out'));
  assert.deepEqual(errors, []);
  await page.close();
});

test('make serve: a folder URL without its slash loads the page with its CSS and JS; / links every example', async () => {
  const { page, errors } = await b.open('examples/records');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  assert.equal(new URL(page.url()).pathname, '/examples/records/');
  assert.equal(await page.$eval('main', (m) => getComputedStyle(m).display), 'grid', 'style.css applied');
  await page.goto(b.server.url);
  const links = await page.$$eval('#examples a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['/examples/link/', '/examples/plain/', '/examples/records/', '/examples/workers/']);
  await page.click('a[href="/examples/plain/"]');
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
  assert.deepEqual(errors, []);
});

test('scripts/records-png.mjs (make records-png) regenerates docs/records.png from the page', async () => {
  const { recordsPng, VIEWPORT } = await import('../../scripts/records-png.mjs');
  const width = (file) => readFileSync(file).readUInt32BE(16); // the PNG's IHDR width
  const { out, pages } = await recordsPng({ out: `${OUT}records-png.png` });
  assert.equal(width(out), VIEWPORT.width);
  assert.ok(pages > 40, `the map shows ${pages} pages after 100 000 records`);
  assert.equal(width(ROOT + 'docs/records.png'), VIEWPORT.width, 'docs/records.png comes from the script: run make records-png');
});
