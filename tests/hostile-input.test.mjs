// Hostile input to the loader: random, truncated and bit-flipped modules end
// in a Heap or a LinallocError, never an engine error (a trap when used is
// the loader's HeapCorruptionError); API misuse is a TypeError/RangeError
// (bad arguments) or an InvalidFreeError (bad pointers), with a code, that
// allocates or frees nothing. Records
// figures.hostile and figures.misuse (test-output/reliability/hostile-input.json)
// for docs/RELIABILITY.md. Out of memory and the whole 4 GiB have their own
// suites (out-of-memory.test.mjs, four-gib.test.mjs).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { load, InvalidFreeError } from '../js/linalloc.js';
import { DIST, Rng } from './helpers/support.mjs';
import { report } from './helpers/report.mjs';

const figures = { hostile: {} };

// Damaged modules run only in a worker: loading one may already run its
// code (the loader reads the heap's status), and a flipped bit can make any
// loop endless. The worker takes the cases in order and posts each outcome;
// when one gives no answer within `ms`, it is counted as hanging and a new
// worker goes on with the next case.
const RUN = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.loader).then(async ({ load, LinallocError }) => {
  for (const bytes of workerData.cases) {
    let r;
    try {
      const heap = await load(bytes, { maximum: 256 });
      try {
        r = heap.malloc(16) > 0 ? 'loaded, works' : 'loaded, malloc returns 0';
      } catch (e) {
        // a trap comes out as the loader's HeapCorruptionError, never raw
        r = e.code === 'HEAP_FAILED' ? 'loaded, traps when used' : 'threw ' + e.name + ': ' + e.message;
      }
    } catch (e) {
      r = e instanceof LinallocError ? e.name : 'load() let an engine error through: ' + e.name + ': ' + e.message;
    }
    parentPort.postMessage(r);
  }
});`;
async function outcomes(cases, ms = 10_000) {
  const loader = new URL('../js/linalloc.js', import.meta.url).href;
  const out = [];
  while (out.length < cases.length) {
    const w = new Worker(RUN, { eval: true, workerData: { cases: cases.slice(out.length), loader } });
    try {
      for (;;) {
        let timer;
        const r = await Promise.race([
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          }),
          new Promise((resolve) => (timer = setTimeout(() => resolve(null), ms))),
        ]);
        clearTimeout(timer);
        w.removeAllListeners('message');
        w.removeAllListeners('error');
        out.push(r ?? 'hangs (in load or first use)');
        if (r === null || out.length === cases.length) break;
      }
    } finally {
      await w.terminate();
    }
  }
  return out;
}
after(() => report('hostile-input', figures));

describe('hostile input to the loader', () => {
  const real = readFileSync(DIST + 'linalloc.wasm');
  // Loading must end in a Heap or a LinallocError. A damaged module that
  // still compiles and has the whole ABI may trap when used, or loop
  // forever (a flipped bit can unbound any loop): that is counted (the
  // loader cannot tell damaged code from good code without running it).

  test('random bytes, truncated and bit-flipped copies of the real module (1 500 cases)', async () => {
    const rng = new Rng(0xbadf00d);
    const counts = {};
    const cases = [];
    for (let i = 0; i < 300; i++) cases.push(Uint8Array.from({ length: rng.below(2000) }, () => rng.next() & 0xff));
    for (let i = 0; i < 300; i++) {
      const b = Uint8Array.from({ length: 8 + rng.below(500) }, () => rng.next() & 0xff);
      b.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]); // valid header, garbage after
      cases.push(b);
    }
    for (let i = 0; i < 450; i++) cases.push(real.subarray(0, rng.below(real.length)));
    for (let i = 0; i < 450; i++) {
      const b = Uint8Array.from(real);
      for (let k = 1 + rng.below(3); k > 0; k--) b[rng.below(b.length)] ^= 1 << rng.below(8);
      cases.push(b);
    }
    for (const o of await outcomes(cases)) counts[o] = (counts[o] ?? 0) + 1;
    assert.equal(cases.length, 1500);
    assert.ok((counts.LoadError ?? 0) > 1000, JSON.stringify(counts));
    assert.ok(!Object.keys(counts).some((k) => k.startsWith('threw') || k.startsWith('load()')), `an error other than a trap or a LinallocError escaped: ${JSON.stringify(counts)}`);
    figures.hostile = { cases: cases.length, outcomes: counts };
  });

  test('API misuse is a TypeError/RangeError (bad arguments) or an InvalidFreeError (bad pointers), with a code, and allocates or frees nothing', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    const keep = heap.malloc(32);
    const before = heap.stats();
    const misuse = [
      () => heap.malloc(-1), () => heap.malloc(1.5), () => heap.malloc('8'), () => heap.malloc(NaN), () => heap.malloc(2 ** 32),
      () => heap.calloc(2 ** 32, 1), () => heap.realloc(keep, -5), () => heap.alignedAlloc(8, 1e20), () => heap.readBytes(keep, 2 ** 40),
      () => heap.createRecord(-1, 0, 0), () => heap.createRecord(1, 'a', 0), () => heap.createRecord(1, 0, {}), () => heap.malloc(undefined),
    ];
    for (const m of misuse) {
      assert.throws(m, (e) => (e instanceof TypeError || e instanceof RangeError) && /^BAD_[A-Z]+$/.test(e.code) && /linalloc: .*(must be|outside)/.test(e.message) && !/undefined undefined/.test(e.message));
    }
    const badFrees = [() => heap.free(keep + 0.5), () => heap.free(-keep), () => heap.free(keep + 4), () => heap.realloc(keep + 4, 8), () => heap.free(2 ** 32)];
    for (const m of badFrees) assert.throws(m, (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && /not a block of this heap/.test(e.message));
    assert.deepEqual({ ...heap.stats(), invalidFrees: 0 }, { ...before, invalidFrees: 0 });
    figures.misuse = misuse.length + badFrees.length;
  });

  test('realloc(p, 0) of a freed or stray pointer throws as free does (it was a silent 0)', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    const p = heap.malloc(64);
    assert.equal(heap.realloc(p, 0), 0, 'realloc(p, 0) frees p');
    assert.equal(heap.stats().liveAllocations, 0);
    assert.throws(() => heap.realloc(p, 0), (e) => e.code === 'DOUBLE_FREE');
    assert.throws(() => heap.realloc(p + 4, 0), (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && /not a block/.test(e.message));
    const z = heap.realloc(0, 0);
    assert.notEqual(z, 0, 'realloc(0, 0) is malloc(0): a unique block');
    heap.free(z);
  });
});
