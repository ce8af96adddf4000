// Memory ownership (issue 9): the caller's pages are the heap, pages grown by
// others stay theirs, one heap per memory, double frees refused (the whole
// 4 GiB in several patterns is in four-gib.test.mjs). Every release backend
// and the checked build, raw exports on real dist/*.wasm files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ABI, readOwnerTag } from '../js/wasm-info.js';
import { load, linkModules, DoubleFreeError, LoadError, PAGE_SIZE } from '../js/linalloc.js';
import { BACKENDS, DIST, Rng, instantiate } from './helpers/support.mjs';

const RELEASE = { lin: BACKENDS.lin, talc: BACKENDS.talc, dlmalloc: BACKENDS.dlmalloc };
const ALL_USING_CALLER_PAGES = { ...RELEASE, checked: 'linalloc-checked.wasm' };
const SEED = Number(process.env.SEED ?? 0x5eed) >>> 0;

/** Fills with 1 KiB blocks until malloc fails; returns the pointers. */
function fillKiB(h) {
  const out = [];
  for (;;) {
    const p = h.malloc(1024);
    if (p === 0) return out;
    out.push(p);
  }
}

describe('fixed-size memories: the caller pages are the heap', () => {
  for (const [name, file] of Object.entries(ALL_USING_CALLER_PAGES)) {
    for (const pages of [1, 2, 16, 256]) {
      test(`${name}, { initial: ${pages}, maximum: ${pages} }: 1 KiB blocks fill the memory, never grow it, and fit again after freeing`, () => {
        const h = instantiate(file, { initial: pages, maximum: pages });
        const heapBase = h.x.__heap_base.value;
        const usable = pages * PAGE_SIZE - heapBase;
        const first = fillKiB(h);
        const share = (first.length * 1024) / usable;
        assert.ok(share >= (name === 'checked' ? 0.75 : 0.9), `${first.length} blocks = ${(share * 100).toFixed(1)} % of ${usable} bytes`);
        assert.equal(h.memory.buffer.byteLength, pages * PAGE_SIZE, 'the memory never grew');
        const u32 = new Uint32Array(h.memory.buffer);
        first.forEach((p, i) => {
          assert.ok(p >= heapBase && p + 1024 <= pages * PAGE_SIZE, `block ${p} inside the heap`);
          u32[p >>> 2] = i;
        });
        first.forEach((p, i) => assert.equal(u32[p >>> 2], i, `block ${i} intact`));
        first.forEach((p) => h.x.free(p));
        assert.equal(h.stats().live, 0);
        const second = fillKiB(h);
        assert.ok(second.length >= first.length, `after freeing everything ${second.length} of ${first.length} fit again`);
      });
    }
  }

  test('wee_alloc cannot use the caller pages: a fixed memory is refused by load() with a clear error', async () => {
    const h = instantiate(BACKENDS.wee_alloc, { initial: 4, maximum: 4 });
    assert.equal(h.malloc(16), 0, 'raw: wee_alloc only grows (documented)');
    await assert.rejects(load(DIST + BACKENDS.wee_alloc, { initial: 4, maximum: 4 }), (e) => e instanceof LoadError && e.code === 'WEE_FIXED_MEMORY' && /default build/.test(e.message));
  });

  for (const [name, file] of Object.entries(RELEASE)) {
    test(`${name}, { initial: 256 } without maximum: 15 MiB of 1 KiB blocks without any growth`, () => {
      const memory = new WebAssembly.Memory({ initial: 256 });
      const h = instantiate(file, { memory });
      for (let i = 0; i < 15 * 1024; i++) assert.notEqual(h.malloc(1024), 0);
      assert.equal(memory.buffer.byteLength, 256 * PAGE_SIZE);
    });

    test(`${name}: through load() and linkModules() a fixed memory allocates too`, async () => {
      const heap = await load(DIST + file, { memory: new WebAssembly.Memory({ initial: 16, maximum: 16 }) });
      const n = fillKiB(heap).length;
      assert.ok(n * 1024 >= 0.9 * (16 * PAGE_SIZE - heap.exports.__heap_base.value), `${n} blocks`);
      const { heap: linked } = await linkModules({ linalloc: DIST + file, strtab: new URL('../examples/link/strtab.wasm', import.meta.url) }, { memory: new WebAssembly.Memory({ initial: 16, maximum: 16 }) });
      assert.ok(linked.heapStart === null || linked.heapStart >= linked.reserved);
      assert.notEqual(linked.malloc(100_000), 0, 'heap above the client static data, inside the fixed memory');
      assert.ok(linked.heapStart >= linked.regions.filter((r) => r.module === 'strtab')[0].end, 'heap starts above strtab');
    });
  }
});

describe('pages grown by others stay theirs', () => {
  for (const [name, file] of Object.entries({ ...ALL_USING_CALLER_PAGES, wee_alloc: BACKENDS.wee_alloc })) {
    test(`${name}: pages JS grows after the heap started are untouched by 50 000 random operations`, () => {
      const h = instantiate(file, { initial: 2, maximum: 4096 });
      assert.notEqual(h.malloc(100), 0); // the heap starts
      const first = h.memory.grow(3) * PAGE_SIZE;
      const end = first + 3 * PAGE_SIZE;
      new Uint8Array(h.memory.buffer).fill(0x5a, first, end);
      const rng = new Rng(SEED);
      const live = [];
      for (let i = 0; i < 50_000; i++) {
        if (live.length && rng.below(100) < 45) {
          h.x.free(live.splice(rng.below(live.length), 1)[0]);
          continue;
        }
        const size = rng.below(8) === 0 ? rng.below(200_000) : rng.below(300);
        const p = h.malloc(size);
        if (p === 0) continue;
        assert.ok(p + size <= first || p >= end, `block [${p}, ${p + size}) inside the pages JS grew (seed ${SEED})`);
        live.push(p);
      }
      const m = new Uint8Array(h.memory.buffer, first, end - first);
      assert.ok(m.every((b) => b === 0x5a), `the pages JS grew were written (seed ${SEED})`);
    });
  }
});

describe('one heap per memory', () => {
  test('the loader refuses a second heap on a memory the loader gave a heap', async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 100 });
    const heap = await load(DIST + 'linalloc.wasm', { memory });
    const p = heap.malloc(100);
    for (const file of Object.values(ALL_USING_CALLER_PAGES)) {
      await assert.rejects(load(DIST + file, { memory }), (e) => e instanceof LoadError && e.code === 'HEAP_EXISTS' && /already has a linalloc heap \(lin, started at/.test(e.message));
    }
    assert.equal(heap.stats().liveAllocations, 1, 'the first heap is intact');
    heap.free(p);
  });

  test('the loader refuses a second heap when the first was instantiated by hand', async () => {
    const h = instantiate(BACKENDS.dlmalloc, { initial: 2, maximum: 100 });
    h.malloc(40);
    await assert.rejects(load(DIST + 'linalloc.wasm', { memory: h.memory }), (e) => e instanceof LoadError && e.code === 'HEAP_EXISTS' && /dlmalloc/.test(e.message));
    assert.equal(h.stats().live, 1);
  });

  for (const [name, file] of Object.entries(ALL_USING_CALLER_PAGES)) {
    test(`${name}: two hand-made instances of the same build share one heap`, () => {
      const a = instantiate(file, { initial: 2, maximum: 100 });
      const blocks = Array.from({ length: 50 }, (_, i) => a.malloc(16 + i * 40));
      const b = instantiate(file, { memory: a.memory });
      assert.equal(b.stats().live, 50, 'the second instance sees the first heap, not a reset one');
      blocks.slice(0, 25).forEach((p) => assert.equal(b.x.try_free(p), 0, 'B frees A\'s blocks'));
      const more = Array.from({ length: 25 }, () => b.malloc(64));
      assert.ok(more.every((p) => !blocks.includes(p) || blocks.indexOf(p) < 25));
      assert.equal(a.stats().live, 50);
      assert.equal(a.x.heap_status(), 1);
    });
  }

  test('a second, different build on the same memory refuses to allocate and leaves the first heap alone', () => {
    const a = instantiate(BACKENDS.lin, { initial: 2, maximum: 100 });
    const p = a.malloc(1000);
    new Uint8Array(a.memory.buffer).fill(7, p, p + 1000);
    const b = instantiate(BACKENDS.dlmalloc, { memory: a.memory });
    assert.equal(b.x.heap_status(), 2);
    assert.equal(b.malloc(16), 0);
    assert.equal(b.x.heap_reserve(4096), 0);
    assert.equal(a.stats().live, 1);
    assert.ok(new Uint8Array(a.memory.buffer, p, 1000).every((x) => x === 7));
    assert.equal(a.x.try_free(p), 0);
  });
});

describe('reservations', () => {
  for (const [name, file] of Object.entries(ALL_USING_CALLER_PAGES)) {
    test(`${name}: heap_reserve keeps [0, end) out of the heap, only before the first allocation`, () => {
      const h = instantiate(file, { initial: 1, maximum: 100 });
      assert.equal(h.x.heap_reserve(3 * PAGE_SIZE + 100), 1);
      assert.ok(h.memory.buffer.byteLength >= 3 * PAGE_SIZE + 100, 'grown to hold the reservation');
      const p = h.malloc(8);
      assert.ok(p >= 3 * PAGE_SIZE + 100, `first block ${p} above the reservation`);
      assert.equal(h.x.heap_reserve(5 * PAGE_SIZE), 0, 'too late');
      assert.equal(readOwnerTag(h.memory.buffer).reserve, 3 * PAGE_SIZE + 100);
    });
  }

  test('load({ reserve }) keeps your region; a reserve beyond the maximum is a clear error', async () => {
    const heap = await load(DIST + 'linalloc.wasm', { initial: 2, maximum: 64, reserve: 200_000 });
    assert.equal(heap.reserved, 200_000);
    const blocks = fillKiB(heap);
    assert.ok(blocks.every((p) => p >= 200_000));
    await assert.rejects(load(DIST + 'linalloc.wasm', { initial: 1, maximum: 2, reserve: 5 * PAGE_SIZE }), (e) => e.code === 'RESERVE_FAILED' && /cannot grow/.test(e.message));
  });
});

describe('double free in the release builds', () => {
  for (const [name, file] of Object.entries({ ...RELEASE, wee_alloc: BACKENDS.wee_alloc })) {
    test(`${name}: small, large and over-aligned blocks freed twice are refused and counted`, () => {
      const h = instantiate(file, { initial: 2, maximum: 1000 });
      const keep = h.malloc(24);
      const cases = [[24, 8], [100, 8], [1000, 8], [70_000, 8], [48, 64], [5000, 4096], [0, 8]];
      for (const [size, align] of cases) {
        for (const between of [0, 1, 300]) {
          const p = h.x.aligned_alloc(align, size) >>> 0;
          assert.notEqual(p, 0);
          assert.equal(h.x.try_free(p), 0);
          const others = Array.from({ length: between }, (_, i) => h.malloc(8 + (i % 50) * 8));
          others.forEach((q) => h.x.free(q));
          const invalid = h.x.stats_invalid_frees();
          const code = h.x.try_free(p);
          // a block handed out again at the same address is live again: then the second free is legitimate
          const reused = others.includes(p);
          if (!reused) {
            assert.notEqual(code, 0, `${size}/${align} after ${between} frees: refused`);
            assert.equal(h.x.stats_invalid_frees(), invalid + 1, 'counted');
          }
          assert.equal(h.stats().live, 1, `${size}/${align}: live count exact`);
          const a = h.x.aligned_alloc(align, size) >>> 0;
          const b = h.x.aligned_alloc(align, size) >>> 0;
          assert.ok(a && b && a !== b, 'no block handed out twice');
          h.x.free(a);
          h.x.free(b);
        }
      }
      h.x.free(keep);
      assert.deepEqual([h.stats().live, h.stats().inUse], [0, 0]);
    });
  }

  test('through the loader a double free is a DoubleFreeError saying so', async () => {
    const heap = await load(DIST + 'linalloc.wasm', { initial: 2 });
    const p = heap.malloc(32);
    heap.free(p);
    assert.throws(() => heap.free(p), (e) => e instanceof DoubleFreeError && /double free/.test(e.message));
    assert.equal(heap.stats().invalidFrees, 1);
    assert.equal(heap.stats().liveAllocations, 0);
  });
});

/** A minimal module: imports `env.memory` (unless `noMemory`), exports every ABI name as `kind`. */
function fakeAllocator({ kind = 'void-function', noMemory = false, customSection = null } = {}) {
  const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
  const str = (t) => [...leb(t.length), ...new TextEncoder().encode(t)];
  const section = (id, body) => [id, ...leb(body.length), ...body];
  const names = Object.keys(ABI);
  const out = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  out.push(...section(1, [1, 0x60, 0, 0])); // type 0: () -> ()
  if (!noMemory) out.push(...section(2, [1, ...str('env'), ...str('memory'), 2, 0, 1]));
  const fns = kind === 'void-function';
  if (fns) out.push(...section(3, [1, 0])); // one function of type 0
  else out.push(...section(6, [1, 0x7f, 0, 0x41, 0, 0x0b])); // one immutable i32 global
  const exps = names.flatMap((n) => [...str(n), fns ? 0 : 3, 0]);
  out.push(...section(7, [...leb(names.length), ...exps]));
  if (fns) out.push(...section(10, [1, 2, 0, 0x0b]));
  if (customSection) out.push(...section(0, [...str(customSection.name), ...customSection.bytes]));
  return new Uint8Array(out);
}

describe('loader validation before use', () => {
  test('ABI names that are ()->() functions or globals: LoadError naming them', async () => {
    await assert.rejects(load(fakeAllocator()), (e) => e instanceof LoadError && e.code === 'NOT_LINALLOC' && /malloc has signature \(->\), expected \(i32->i32\)/.test(e.message));
    await assert.rejects(load(fakeAllocator({ kind: 'global' })), (e) => e instanceof LoadError && e.code === 'NOT_LINALLOC' && /malloc is a global, not a function/.test(e.message));
  });

  test('a module without the memory import: LoadError', async () => {
    const real = new Uint8Array(readFileSync(DIST + 'linalloc.wasm'));
    await assert.rejects(load(fakeAllocator({ noMemory: true })), (e) => e instanceof LoadError && e.code === 'NOT_LINALLOC');
    // the real exports, but the memory import renamed: the loader says what is wrong
    const renamed = real.slice();
    const at = Buffer.from(renamed).indexOf('memory');
    renamed.set(new TextEncoder().encode('mem0ry'), at);
    await assert.rejects(load(renamed), (e) => e instanceof LoadError && e.code === 'NO_MEMORY_IMPORT' && /env\.memory/.test(e.message));
  });

  test('a damaged dylink.0 section: LoadError, not a bare RangeError', async () => {
    const strtab = new Uint8Array(readFileSync(new URL('../examples/link/strtab-pic.wasm', import.meta.url)));
    const broken = fakeAllocator({ customSection: { name: 'dylink.0', bytes: [1, 0xff, 0xff, 0xff, 0xff, 0x7f] } });
    await assert.rejects(linkModules({ linalloc: broken, strtab }), (e) => e instanceof LoadError && e.code === 'BAD_SECTION');
  });

  test('copy helpers take sources inside the heap itself, even when the allocation grows the memory', async () => {
    const heap = await load(DIST + 'linalloc.wasm', { initial: 1 });
    const p = heap.writeBytes(new Uint8Array(1000).fill(9));
    for (let i = 0; i < 5; i++) {
      const before = heap.stats().liveAllocations;
      const src = heap.u8.subarray(p, p + 1000);
      const q = heap.writeBytes(src);
      const big = heap.writeArray(new Float64Array(heap.u8.buffer, 0, heap.u8.length / 8)); // the whole memory: the copy must grow it
      assert.ok(heap.u8.subarray(q, q + 1000).every((b) => b === 9));
      assert.equal(heap.stats().liveAllocations, before + 2, 'no leaked block');
      heap.free(big);
    }
  });

  test('record(ptr) refuses pointers that are not live records', async () => {
    const heap = await load(DIST + 'linalloc.wasm', { initial: 2 });
    const r = heap.createRecord(7, 1, 2);
    assert.equal(heap.record(r.ptr).id, 7);
    const small = heap.malloc(8);
    assert.throws(() => heap.record(small), /only 8 bytes/);
    assert.throws(() => heap.record(r.ptr + 8), /not the start of a live block/);
    const p = r.ptr;
    r.free();
    assert.throws(() => heap.record(p), /not the start of a live block/);
  });

  test('unknown options are a TypeError naming the valid ones', async () => {
    await assert.rejects(load(DIST + 'linalloc.wasm', { maximun: 5 }), (e) => e instanceof TypeError && /maximun/.test(e.message) && /maximum/.test(e.message));
  });
});
