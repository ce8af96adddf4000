// The threads build misused the ways a user will: one workerInit() posted to
// several workers (two instances on one stack corrupted the heap silently:
// issue 22, item 6), an init used after workerDone, the threads build given
// as a compiled WebAssembly.Module (item 8).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { load, attach, LinallocError, LoadError } from '../js/linalloc.js';
import { DIST } from './helpers/support.mjs';

// Every worker meets the others at a barrier, then attaches at once and, if
// it may, churns blocks and checks them; it reports what attach threw.
const ATTACHER = `
const { parentPort, workerData: { loader, init, sync, n, ops } } = require('node:worker_threads');
import(loader).then(({ attach }) => {
  const s = new Int32Array(sync);
  Atomics.add(s, 0, 1);
  while (Atomics.load(s, 0) < n);
  let heap;
  try {
    heap = attach(init);
  } catch (e) {
    parentPort.postMessage({ name: e.name, code: e.code, message: e.message });
    return;
  }
  const live = [];
  for (let i = 0; i < ops; i++) {
    const p = heap.malloc(8 + (i % 200));
    heap.u8.fill(i & 0xff, p, p + 8);
    live.push([p, i & 0xff]);
    if (live.length > 50) {
      const [q, v] = live.splice(i % live.length, 1)[0];
      if (!heap.u8.subarray(q, q + 8).every((b) => b === v)) throw new Error('block ' + q + ' was overwritten');
      heap.free(q);
    }
  }
  for (const [q] of live) heap.free(q);
  parentPort.postMessage({ attached: true });
});`;

function attachAll(init, n, ops = 20_000) {
  const sync = new SharedArrayBuffer(4);
  const loader = new URL('../js/linalloc.js', import.meta.url).href;
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const w = new Worker(ATTACHER, { eval: true, workerData: { loader, init, sync, n, ops } });
    w.once('message', resolve);
    w.once('error', reject);
  })));
}

describe('one workerInit() per worker', () => {
  test('one init posted to 4 workers: exactly one attaches, the others get INIT_ALREADY_ATTACHED; the heap stays intact (20 rounds)', async () => {
    const heap = await load(undefined, { shared: true, initial: 4, maximum: 1024 });
    for (let round = 0; round < 20; round++) {
      const init = heap.workerInit();
      const results = await attachAll(init, 4, round === 0 ? 20_000 : 200);
      const winners = results.filter((r) => r.attached);
      assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
      for (const r of results.filter((x) => !x.attached)) {
        assert.equal(r.name, 'LinallocError');
        assert.equal(r.code, 'INIT_ALREADY_ATTACHED');
        assert.match(r.message, /attached already/);
        assert.match(r.message, /call heap\.workerInit\(\) once per worker/i);
      }
      heap.workerDone(init);
      assert.equal(heap.stats().liveAllocations, 0, `round ${round}: every block freed, the stack given back`);
    }
  });

  test('in one thread: a second attach, an attach after workerDone, a second workerDone are refused', async () => {
    const heap = await load(undefined, { shared: true, initial: 4, maximum: 64 });
    const init = heap.workerInit();
    const copy = structuredClone(init); // what postMessage makes: the claim is shared
    const first = attach(copy);
    first.free(first.malloc(40));
    assert.throws(() => attach(init), (e) => e instanceof LinallocError && e.code === 'INIT_ALREADY_ATTACHED' && e.stack.includes('attach'));
    heap.workerDone(init);
    assert.throws(() => heap.workerDone(copy), (e) => e instanceof LinallocError && e.code === 'INIT_DONE' && /once per worker/.test(e.message));
    const fresh = heap.workerInit();
    assert.throws(() => attach({ ...fresh, claim: undefined }), { name: 'TypeError', code: 'BAD_INIT' });
    assert.throws(() => attach(init), (e) => e.code === 'INIT_DONE' && /workerDone/.test(e.message), 'a stale init, even though its stack may be a new worker\'s now');
    const mine = attach(fresh); // the fresh init still attaches
    mine.free(mine.malloc(8));
    heap.workerDone(fresh);
    assert.equal(heap.stats().liveAllocations, 0);
  });
});

describe('the threads build as a compiled WebAssembly.Module', () => {
  const mt = () => new WebAssembly.Module(readFileSync(DIST + 'linalloc-mt.wasm'));
  const lin = () => new WebAssembly.Module(readFileSync(DIST + 'linalloc.wasm'));

  test('loads with { shared: true } and with a shared memory, and serves workers', async () => {
    const heap = await load(mt(), { shared: true, initial: 2, maximum: 64 });
    assert.equal(heap.shared, true);
    assert.equal(heap.build, 'lin');
    const p = heap.malloc(100);
    assert.equal(heap.blockSize(p), 100);
    heap.free(p);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64, shared: true });
    const other = await load(mt(), { memory });
    assert.equal(other.memory, memory);
    const [r] = await attachAll(other.workerInit(), 1, 2000);
    assert.deepEqual(r, { attached: true });
  });

  test('without a shared memory: NEEDS_SHARED_MEMORY, not the engine\'s LINK_FAILED; a single-threaded Module with one: NOT_THREADS_BUILD', async () => {
    const needs = (e) => e instanceof LoadError && e.code === 'NEEDS_SHARED_MEMORY' && /shared: true/.test(e.message) && !/mismatch/.test(e.message);
    await assert.rejects(load(mt()), needs);
    await assert.rejects(load(mt(), { memory: new WebAssembly.Memory({ initial: 2, maximum: 64 }) }), needs);
    await assert.rejects(load(lin(), { shared: true }), (e) => e instanceof LoadError && e.code === 'NOT_THREADS_BUILD' && /linalloc-mt\.wasm/.test(e.message));
    await assert.rejects(load(lin(), { memory: new WebAssembly.Memory({ initial: 2, maximum: 64, shared: true }) }), { code: 'NOT_THREADS_BUILD' });
  });

  test('a shared memory below the module\'s minimum: MEMORY_TOO_SMALL, though a Module has no bytes to read the minimum from', async () => {
    const memory = new WebAssembly.Memory({ initial: 0, maximum: 8, shared: true });
    await assert.rejects(load(mt(), { memory }), (e) => e.name === 'MemoryError' && e.code === 'MEMORY_TOO_SMALL' && e.pages === 0);
  });
});
