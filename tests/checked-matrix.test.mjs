// The checked build's misuse matrix (issue 10): every kind of misuse, on a
// small, a large and an over-aligned block, detected at each point where it
// can be: free, realloc, heap.check() and the next malloc that reuses the
// memory. Each must give its named error (class and code) about the right
// block, and leave the heap usable. Then the overruns over the checker's
// own metadata that used to hang it, and the random-overrun fuzz.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { load, LinallocError, DoubleFreeError, InvalidFreeError, HeapCorruptionError } from '../js/linalloc.js';
import { DIST } from './helpers/support.mjs';
import { report } from './helpers/report.mjs';
import { runOverrunFuzz } from './helpers/overrun-fuzz.mjs';

const MODULE = new WebAssembly.Module(readFileSync(DIST + 'linalloc-checked.wasm'));
const QUARANTINE = 256; // src/checked/mod.rs
const CLASS = { DOUBLE_FREE: DoubleFreeError, INVALID_FREE: InvalidFreeError, SIZE_MISMATCH: InvalidFreeError, OVERFLOW: HeapCorruptionError, UNDERFLOW: HeapCorruptionError, WRITE_AFTER_FREE: HeapCorruptionError, METADATA_CORRUPT: HeapCorruptionError };
const SHAPES = [
  { name: 'small', size: 24, align: 8 },
  { name: 'large', size: 100_000, align: 8 },
  { name: 'over-aligned', size: 40, align: 4096 },
];

const fresh = () => load(MODULE, { checked: true, initial: 4, maximum: 2048 });

/** Runs `fn` and returns the LinallocError it throws (fails when none, or another kind). */
function caught(fn, what) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LinallocError, `${what}: ${e?.constructor?.name}: ${e?.message}`);
    return e;
  }
  assert.fail(`${what}: nothing detected`);
}

/** Allocates and frees blocks like `size` until the damaged memory is handed out again. */
function reuse(heap, size, align) {
  const held = [];
  for (let k = 0; k < 4 * QUARANTINE; k++) {
    let p;
    try {
      p = heap.alignedAlloc(align, size);
    } catch (e) {
      for (const q of held) heap.free(q);
      return e;
    }
    held.push(p);
    if (held.length > 4) heap.free(held.shift());
  }
  assert.fail('the damaged memory was never handed out again');
}

// kind -> { provoke(heap, p, shape) -> pointer to act on, at: { point: code } }
const fill = (heap, from, n, byte = 0x41) => heap.u8.fill(byte, from, Math.min(heap.u8.length, from + n));
const KINDS = {};
for (const n of [1, 8, 4096, 30_000]) KINDS[`overrun by ${n}`] = { provoke: (h, p, s) => (fill(h, p + s.size, n), p), at: { free: 'OVERFLOW', realloc: 'OVERFLOW', check: 'OVERFLOW' } };
for (const n of [1, 5, 8]) KINDS[`underflow by ${n}`] = { provoke: (h, p) => ((h.u8[p - n] ^= 0x55), p), at: { free: 'UNDERFLOW', realloc: 'UNDERFLOW', check: 'UNDERFLOW' } };
KINDS['write after free'] = { provoke: (h, p, s) => (h.free(p), (h.u8[p + (s.size >> 1)] = 7), p), at: { check: 'WRITE_AFTER_FREE', malloc: 'WRITE_AFTER_FREE' } };
KINDS['double free'] = { provoke: (h, p) => (h.free(p), p), at: { free: 'DOUBLE_FREE', realloc: 'DOUBLE_FREE' } };
KINDS['double free after 1000 other frees'] = {
  provoke: (h, p) => {
    h.free(p);
    for (let k = 0; k < 1000; k++) h.free(h.malloc(8 + (k % 50)));
    return p;
  },
  at: { free: 'DOUBLE_FREE', realloc: 'DOUBLE_FREE' },
};
KINDS['invalid free (interior pointer)'] = { provoke: (h, p) => p + 16, at: { free: 'INVALID_FREE', realloc: 'INVALID_FREE' } };
KINDS['dealloc with another size'] = { provoke: (h, p) => p, at: { deallocSize: 'SIZE_MISMATCH' } };
KINDS['dealloc with another align'] = { provoke: (h, p) => p, at: { deallocAlign: 'SIZE_MISMATCH' } };

const detect = {
  free: (h, q) => h.free(q),
  realloc: (h, q) => h.realloc(q, 64),
  check: (h) => h.check(),
  malloc: (h, q, s) => {
    throw reuse(h, s.size, s.align);
  },
  deallocSize: (h, q, s) => h.exports.dealloc(q, s.size + 1, s.align),
  deallocAlign: (h, q, s) => h.exports.dealloc(q, s.size, s.align === 8 ? 16 : 8),
};

let cells = 0;
describe('checked build: the misuse matrix', () => {
  for (const [kind, { provoke, at }] of Object.entries(KINDS)) {
    for (const shape of SHAPES) {
      for (const [point, code] of Object.entries(at)) {
        test(`${kind}, ${shape.name} block, detected at ${point} -> ${code}`, async () => {
          const heap = await fresh();
          const neighbours = Array.from({ length: 6 }, () => heap.alignedAlloc(shape.align, shape.size));
          const p = heap.alignedAlloc(shape.align, shape.size);
          const after = Array.from({ length: 3 }, () => heap.alignedAlloc(shape.align, shape.size));
          const q = provoke(heap, p, shape);
          const e = caught(() => detect[point](heap, q, shape), `${kind} at ${point}`);
          assert.ok(e instanceof CLASS[code], `${e.constructor.name} ${e.code}: ${e.message}`);
          assert.equal(e.code, code, e.message);
          if (['OVERFLOW', 'UNDERFLOW', 'DOUBLE_FREE', 'SIZE_MISMATCH'].includes(code)) assert.equal(e.ptr, p, `names block ${p}: ${e.message}`);
          if (code === 'INVALID_FREE') assert.equal(e.ptr, q);
          if (code === 'WRITE_AFTER_FREE') assert.equal(e.at, p + (shape.size >> 1), e.message);
          // the heap stays usable for intact blocks
          for (const n of neighbours) heap.free(n);
          const r = heap.malloc(100);
          heap.u8.fill(1, r, r + 100);
          heap.free(r);
          void after;
          cells++;
        });
      }
    }
  }
});

describe('checked build: overruns over its own metadata never hang or trap', () => {
  for (const byte of [0x41, 0x00]) {
    test(`600 x malloc(24), then 20 000 bytes of ${byte === 0 ? 'zeros' : '0x41'} from block 512`, async () => {
      const heap = await fresh();
      const ps = Array.from({ length: 600 }, () => heap.malloc(24));
      fill(heap, ps[511], 20_000, byte);
      const e = caught(() => heap.check(), 'check');
      assert.ok(e instanceof HeapCorruptionError);
      assert.ok(e.ptr <= ps[511] + 24, `the lowest damage is reported first: ${e.message}`);
      const codes = {};
      for (const p of ps) {
        try {
          heap.free(p);
        } catch (err) {
          assert.ok(err instanceof LinallocError, `${err.constructor.name}: ${err.message}`);
          codes[err.code] = (codes[err.code] ?? 0) + 1;
        }
      }
      // the blocks below the overrun are intact and were freed normally
      assert.ok(Object.values(codes).reduce((a, b) => a + b, 0) <= 600 - 511, JSON.stringify(codes));
      for (let k = 0; k < 200; k++) {
        try {
          heap.free(heap.malloc(24));
        } catch (err) {
          assert.ok(err instanceof LinallocError, `${err.constructor.name}: ${err.message}`);
        }
      }
    });
  }

  test('a damaged size field (u8[p - 5] ^= 0x55) and a damaged guard never make check() trap', async () => {
    const heap = await fresh();
    const ps = Array.from({ length: 50 }, () => heap.malloc(40));
    heap.u8[ps[10] - 5] ^= 0x55;
    for (let k = 0; k < 3; k++) assert.throws(() => heap.check(), (e) => e instanceof HeapCorruptionError && e.code === 'UNDERFLOW' && e.ptr === ps[10]);
    assert.throws(() => heap.free(ps[10]), (e) => e.code === 'UNDERFLOW');
    heap.check(); // reported once: the block is retired
    assert.throws(() => heap.free(ps[10]), DoubleFreeError);
    for (const p of ps.filter((_, i) => i !== 10)) heap.free(p);
    assert.equal(heap.stats().liveAllocations, 0);
  });

  test('fill a fixed memory, free everything, fill again: the same count fits (the quarantine gives way)', async () => {
    for (const pages of [1, 2, 16]) {
      for (const size of [24, 1000]) {
        const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
        const heap = await load(MODULE, { checked: true, memory });
        const fillUp = () => {
          const v = [];
          for (;;) {
            const p = heap.exports.malloc(size) >>> 0;
            if (!p) return v;
            v.push(p);
          }
        };
        const first = fillUp();
        for (const p of first) heap.free(p);
        const second = fillUp();
        assert.ok(second.length >= first.length, `${pages} pages, ${size} bytes: ${first.length} then ${second.length}`);
        heap.check();
      }
    }
  });
});

const TRIALS = Number(process.env.OVERRUN_TRIALS ?? 5000);
const SEED = Number(process.env.OVERRUN_SEED ?? (Date.now() % 1e9)) >>> 0;
let fuzzed = null;
test(`random-overrun fuzz: ${TRIALS} trials from seed ${SEED}, each watched for hangs`, async () => {
  const r = await runOverrunFuzz({ seed: SEED, trials: TRIALS, workers: 2, timeoutMs: 15_000 });
  fuzzed = r;
  console.log(`overrun fuzz seed ${SEED}: ${r.trials} trials, ${r.normal} ran normally, trials meeting each error: ${JSON.stringify(r.byCode)}`);
  assert.deepEqual(r.failures, [], `replay with OVERRUN_SEED=${SEED}`);
  assert.equal(r.trials, TRIALS);
});

after(() => report('checked-matrix', { cells, fuzz: fuzzed && { seed: fuzzed.seed, trials: fuzzed.trials, normal: fuzzed.normal, byCode: fuzzed.byCode } }));
