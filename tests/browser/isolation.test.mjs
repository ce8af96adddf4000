// The loader on a page that is not cross-origin isolated (served without
// COOP/COEP), in real headless Chromium: a shared heap cannot work there, so
// every way of asking for one is the MemoryError NOT_ISOLATED naming the
// headers (issue 22, item 7: it used to load with heap.shared false and
// break later); single-threaded heaps still load. And on an isolated page
// the same calls give a working shared heap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser } from './harness.mjs';
import { serve } from '../../scripts/serve.mjs';

let b;
let plain;
before(async () => {
  b = await startBrowser();
  plain = await serve({ isolate: false });
});
after(async () => {
  await plain?.close();
  await b?.close();
});

// In the page: each way to ask for a shared heap, and what it gave.
const tryShared = async () => {
  const { load, createMemory, MemoryError } = await import('/js/linalloc.js');
  const caught = (e) => ({ name: e.name, code: e.code, memoryError: e instanceof MemoryError, message: e.message });
  const outcome = async (f) => {
    try {
      const heap = await f();
      const p = heap.writeString('héllo');
      return { loaded: true, shared: heap.shared, text: heap.readString(p) };
    } catch (e) {
      return caught(e);
    }
  };
  let create;
  try {
    create = { created: createMemory(2, 16, true).memory instanceof WebAssembly.Memory };
  } catch (e) {
    create = caught(e);
  }
  let memory = null;
  try {
    memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
  } catch {
    // an engine that refuses shared memories outright
  }
  return {
    isolated: globalThis.crossOriginIsolated,
    sab: typeof SharedArrayBuffer,
    options: await outcome(() => load(undefined, { shared: true })),
    explicit: await outcome(() => load('/dist/linalloc-mt.wasm', { shared: true })),
    memory: memory && (await outcome(() => load('/dist/linalloc-mt.wasm', { memory }))),
    create,
    single: await outcome(() => load()),
  };
};

test('not cross-origin isolated: { shared: true } and the other ways are MemoryError NOT_ISOLATED naming the headers', async () => {
  const page = await b.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(plain.url + 'examples/plain/');
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
    const r = await page.evaluate(tryShared);
    assert.equal(r.isolated, false, 'the page is served without COOP/COEP');
    for (const way of ['options', 'explicit', 'memory', 'create']) {
      if (way === 'memory' && r.memory === null) continue; // this engine would not even make one
      const o = r[way];
      assert.equal(o.code, 'NOT_ISOLATED', `${way}: ${JSON.stringify(o)}`);
      assert.equal(o.name, 'MemoryError');
      assert.ok(o.memoryError);
      assert.match(o.message, /not cross-origin isolated/);
      assert.match(o.message, /Cross-Origin-Opener-Policy: same-origin/);
      assert.match(o.message, /Cross-Origin-Embedder-Policy: require-corp/);
    }
    assert.deepEqual(r.single, { loaded: true, shared: false, text: 'héllo' }, 'one thread still works');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('cross-origin isolated: the same calls give a working shared heap', async () => {
  const { page, errors } = await b.open('examples/plain/');
  try {
    await page.waitForSelector('body[data-ready="yes"]', { timeout: 10_000 });
    const r = await page.evaluate(tryShared);
    assert.equal(r.isolated, true);
    for (const way of ['options', 'explicit', 'memory']) {
      assert.deepEqual(r[way], { loaded: true, shared: true, text: 'héllo' }, way);
    }
    assert.deepEqual(r.create, { created: true });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
