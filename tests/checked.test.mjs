// The checked build (dist/linalloc-checked.wasm) catches each misuse it
// claims to, provoked for real, and the loader reports it as a named error;
// the release build refuses cheaply detectable bad pointers without damage.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { load, DoubleFreeError, InvalidFreeError, HeapCorruptionError, LinallocError } from '../js/linalloc.js';
import { DIST, instantiate, BACKENDS } from './helpers/support.mjs';
import { report } from './helpers/report.mjs';
import { after } from 'node:test';

// misuse cases provoked and caught, by kind (for the README's Reliability section)
const caught = {};
const count = (kind, n = 1) => (caught[kind] = (caught[kind] ?? 0) + n);
after(() => report('checked', { caught, total: Object.values(caught).reduce((a, b) => a + b, 0) }));

const CHECKED = DIST + 'linalloc-checked.wasm';
const still = (heap) => {
  // after a caught fault the heap keeps working and can be reported on
  const p = heap.malloc(64);
  assert.ok(p > 0);
  heap.free(p);
  return heap.stats();
};

describe('checked build', () => {
  test('load({ checked: true }) picks the checked module; fresh blocks are filled, freed ones poisoned', async () => {
    const heap = await load(undefined, { checked: true });
    assert.equal(heap.checked, true);
    const p = heap.malloc(40);
    assert.ok(heap.u8.subarray(p, p + 40).every((b) => b === 0xaa));
    heap.u8.fill(1, p, p + 40);
    heap.free(p);
    assert.ok(heap.u8.subarray(p - 16, p + 40).every((b) => b === 0xdd), 'freed bytes poisoned, guard included');
    heap.check();
  });

  test('double free -> DoubleFreeError with the pointer, size and allocation stack', async () => {
    const heap = await load(CHECKED, { checked: true, track: true });
    const p = heap.malloc(40);
    heap.free(p);
    assert.throws(() => heap.free(p), (e) => {
      assert.ok(e instanceof DoubleFreeError && e instanceof LinallocError);
      assert.equal(e.code, 'DOUBLE_FREE');
      assert.equal(e.ptr, p);
      assert.equal(e.size, 40);
      assert.match(e.message, /double free of block \d+ .*40 bytes/);
      assert.match(e.message, /allocated at:[\s\S]*checked\.test\.mjs/);
      return true;
    });
    assert.throws(() => heap.exports.free(p), DoubleFreeError, 'raw exports are translated too');
    assert.throws(() => heap.realloc(p, 100), DoubleFreeError);
    const r = heap.createRecord(1, 2, 3);
    const ptr = r.ptr;
    r.free();
    assert.throws(() => heap.exports.deleteRecord(ptr), DoubleFreeError);
    assert.equal(still(heap).liveAllocations, 0);
    count('double free (free, raw free, realloc, deleteRecord)', 4);
  });

  test('free of interior, misaligned, foreign and static-data pointers -> InvalidFreeError', async () => {
    const heap = await load(CHECKED, { checked: true });
    const p = heap.malloc(64);
    for (const bad of [p + 8, p + 16, p + 3, 16400, 1024, heap.memory.buffer.byteLength + 4096, 0xfffffff8]) {
      assert.throws(() => heap.exports.free(bad), (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && e.ptr === bad && /not the start of a live block/.test(e.message), `free(${bad})`);
    }
    assert.equal(heap.stats().liveAllocations, 1, 'nothing was freed');
    heap.free(p);
    still(heap);
    count('invalid free (interior, misaligned, static data, outside the heap)', 7);
  });

  test('buffer overflow -> HeapCorruptionError at free and from heap.check()', async () => {
    const heap = await load(CHECKED, { checked: true, track: true });
    const p = heap.malloc(24);
    heap.u8[p + 24] = 0; // one byte past the end
    assert.throws(() => heap.check(), (e) => e instanceof HeapCorruptionError && e.code === 'OVERFLOW' && e.ptr === p && e.size === 24 && /buffer overflow/.test(e.message));
    assert.throws(() => heap.free(p), (e) => e instanceof HeapCorruptionError && e.code === 'OVERFLOW');
    const q = heap.malloc(24);
    heap.u8[q - 13] ^= 0xff; // inside the guard in front of the block
    assert.throws(() => heap.free(q), (e) => e instanceof HeapCorruptionError && e.code === 'UNDERFLOW' && e.ptr === q && e.at === q - 13 && /underflow/.test(e.message));
    still(heap);
    count('buffer overflow (heap.check, free)', 2);
    count('underflow into the guard', 1);
  });

  test('dealloc with a size or alignment other than the allocation -> InvalidFreeError SIZE_MISMATCH', async () => {
    const heap = await load(CHECKED, { checked: true });
    const x = heap.exports;
    const p = x.alloc(100, 64) >>> 0;
    assert.throws(() => x.dealloc(p, 99, 64), (e) => e instanceof InvalidFreeError && e.code === 'SIZE_MISMATCH' && e.size === 100);
    assert.throws(() => x.dealloc(p, 100, 8), (e) => e instanceof InvalidFreeError && e.code === 'SIZE_MISMATCH');
    x.dealloc(p, 100, 64);
    assert.equal(heap.stats().liveAllocations, 0);
    count('dealloc size/align mismatch', 2);
  });

  test('heap_check walks 10 000 live blocks and finds the one damaged', async () => {
    const heap = await load(CHECKED, { checked: true });
    const ps = Array.from({ length: 10_000 }, (_, i) => heap.malloc(1 + (i % 300)));
    heap.check();
    const victim = ps[7777];
    heap.u8[victim + 1 + (7777 % 300)] = 0x00;
    assert.throws(() => heap.check(), (e) => e instanceof HeapCorruptionError && e.ptr === victim);
    count('overflow found by heap_check among 10 000 live blocks', 1);
  });
});

describe('release builds: cheaply detectable bad pointers are refused, counted, and harmless', () => {
  for (const [backend, file] of Object.entries(BACKENDS)) {
    test(backend, () => {
      const h = instantiate(file);
      const p = h.malloc(100);
      h.u8().fill(9, p, p + 100);
      const bad = [p + 3, p + 4, 17, 0xfffffff8, h.memory.buffer.byteLength + 8];
      for (const b of bad) {
        h.x.free(b);
        assert.equal(h.x.try_free(b), 1, `try_free(${b}) refused`);
        assert.equal(h.x.realloc(b, 10), 0);
      }
      assert.equal(h.x.stats_invalid_frees(), bad.length * 3);
      assert.equal(h.stats().live, 1);
      assert.ok(h.u8().subarray(p, p + 100).every((v) => v === 9), 'the live block is intact');
      assert.equal(h.x.try_free(p), 0);
      assert.equal(h.stats().live, 0);
      count(`release build (${backend}): stray pointers refused and counted`, bad.length * 3);
    });
  }

  test('the loader throws an InvalidFreeError for a pointer from another heap; nothing is freed', async () => {
    const a = await load(DIST + 'linalloc.wasm');
    const b = await load(DIST + 'linalloc.wasm');
    const mine = a.malloc(10);
    let theirs = 0;
    for (let i = 0; i < 200; i++) theirs = b.malloc(100_000); // b's heap reaches far beyond a's
    const before = a.stats();
    const invalid = (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && /not a block of this heap/.test(e.message) && /nothing was freed/.test(e.message);
    assert.throws(() => a.free(theirs), (e) => invalid(e) && e.ptr === theirs);
    assert.throws(() => a.realloc(theirs, 5), invalid);
    assert.throws(() => a.free(mine + 4), invalid);
    assert.deepEqual({ ...a.stats(), invalidFrees: 0 }, { ...before, invalidFrees: 0 });
    assert.equal(a.stats().invalidFrees, 3);
    a.free(mine);
  });
});
