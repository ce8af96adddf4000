// The exported ABI of every backend's real dist/*.wasm, run in Node's V8.
// Out of memory and the whole 4 GiB have their own suites
// (out-of-memory.test.mjs, four-gib.test.mjs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BACKENDS, DIST, compiled, instantiate, Rng, Shadow } from './helpers/support.mjs';
import { ABI_EXPORTS, HEAP_FLOOR, memoryImportLimits, readOwnerTag } from '../js/wasm-info.js';

const PAGE = 65536;
const TRACE_OPS = Number(process.env.TRACE_OPS ?? 200_000);

test('dist/linalloc.wasm is the lin build, and each dist file names its own build in the owner tag', () => {
  const names = { 'linalloc.wasm': 'lin', 'linalloc-talc.wasm': 'talc', 'linalloc-dlmalloc.wasm': 'dlmalloc', 'linalloc-wee.wasm': 'wee_alloc', 'linalloc-bump.wasm': 'bump', 'linalloc-checked.wasm': 'checked' };
  for (const [file, name] of Object.entries(names)) {
    const h = instantiate(file, { initial: 2, maximum: 100 });
    assert.notEqual(h.malloc(8), 0, file);
    assert.equal(readOwnerTag(h.memory.buffer).name, name, file);
  }
});

for (const [backend, file] of Object.entries(BACKENDS)) {
  describe(`${backend} (${file})`, () => {
    test('imports exactly env.memory, minimum <= 2 pages, no maximum; exports the ABI', () => {
      const mod = compiled(file);
      assert.deepEqual(WebAssembly.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
      const lim = memoryImportLimits(readFileSync(DIST + file));
      assert.ok(lim.initial <= 2, `minimum ${lim.initial} pages`);
      assert.equal(lim.maximum, undefined);
      const names = WebAssembly.Module.exports(mod).map((e) => e.name);
      for (const n of ABI_EXPORTS) assert.ok(names.includes(n), `export ${n}`);
      // A caller may pass exactly what the brief promises.
      instantiate(file, { initial: 2, maximum: 256 });
    });

    test('malloc: 8-aligned, malloc(0) unique and freeable, free(0) no-op', () => {
      const h = instantiate(file);
      const ptrs = [0, 0, 1, 7, 8, 9, 100, 4096, 70000].map((n) => h.malloc(n));
      assert.ok(ptrs.every((p) => p !== 0 && p % 8 === 0), String(ptrs));
      assert.equal(new Set(ptrs).size, ptrs.length, 'pointers unique');
      h.x.free(0);
      for (const p of ptrs) h.x.free(p);
      assert.deepEqual({ ...h.stats(), heap: 0 }, { live: 0, total: 9, failed: 0, inUse: 0, peak: 1 + 7 + 8 + 9 + 100 + 4096 + 70000, heap: 0 });
    });

    test('sizes near 4 GiB fail instead of wrapping', () => {
      const h = instantiate(file);
      for (const n of [0xfffffff0, 0xfffffff8, 0xffffffff, 0x80000000]) assert.equal(h.x.malloc(n), 0, `malloc(${n})`);
      assert.equal(h.x.calloc(0x10000, 0x10000), 0);
      assert.equal(h.x.calloc(0xffffffff, 2), 0);
      assert.equal(h.x.realloc(h.malloc(8), 0xfffffff0), 0);
      assert.equal(h.x.aligned_alloc(16, 0xfffffff0), 0);
      assert.equal(h.stats().failed, 8);
      assert.equal(h.stats().live, 1);
    });

    test('calloc zeroes, also memory that was used before', () => {
      const h = instantiate(file);
      const dirty = h.malloc(4000);
      h.u8().fill(0xab, dirty, dirty + 4000);
      h.x.free(dirty);
      for (const [n, s] of [[1000, 4], [4, 1000], [0, 5], [3, 0]]) {
        const p = h.x.calloc(n, s) >>> 0;
        assert.notEqual(p, 0);
        assert.ok(h.u8().subarray(p, p + n * s).every((b) => b === 0), `calloc(${n}, ${s}) zeroed`);
      }
    });

    test('realloc has C semantics and keeps contents', () => {
      const h = instantiate(file);
      const sh = new Shadow(h.u8, backend);
      let p = h.x.realloc(0, 10) >>> 0;
      sh.add(p, 10, 3);
      for (const n of [1000, 100_000, 17, 5, 300_000]) {
        const q = h.x.realloc(p, n) >>> 0;
        assert.notEqual(q, 0);
        sh.verify(q, Math.min(n, sh.live.get(p).size), 3);
        sh.live.delete(p);
        sh.add(q, n, 3);
        p = q;
        assert.equal(h.stats().inUse, n);
      }
      assert.equal(h.x.realloc(p, 0), 0, 'realloc(p, 0) returns 0');
      assert.equal(h.stats().live, 0, 'realloc(p, 0) frees p');
      assert.equal(h.stats().inUse, 0);
    });

    test('aligned_alloc: every power of two 1..65536; others refused', () => {
      const h = instantiate(file);
      for (let a = 1; a <= 65536; a *= 2) {
        for (const size of [0, 1, 24, 5000]) {
          const p = h.x.aligned_alloc(a, size) >>> 0;
          assert.notEqual(p, 0, `aligned_alloc(${a}, ${size})`);
          assert.equal(p % a, 0, `aligned_alloc(${a}, ${size}) = ${p}`);
          h.u8().fill(1, p, p + size);
          const q = h.x.realloc(p, size + 3000) >>> 0;
          assert.equal(q % Math.max(a, 8), 0, `realloc keeps alignment ${a}`);
          h.x.free(q);
        }
      }
      for (const a of [0, 3, 24, 131072, 0x80000000]) assert.equal(h.x.aligned_alloc(a, 8), 0, `align ${a}`);
      assert.equal(h.stats().live, 0);
      assert.equal(h.stats().inUse, 0);
    });

    test('aligned_alloc: sizes around one page, on a fresh heap each time', () => {
      // wee_alloc once returned 0 for 64 000 bytes aligned to 16..256: the
      // page it grew had no room for the alignment padding.
      const rng = new Rng(0xa11c);
      for (let a = 16; a <= 65536; a *= 4) {
        for (const size of [60000, 64000, 65000, 65520, 65536, 70000, 131000, 1 + rng.below(200000)]) {
          const h = instantiate(file);
          const ps = [0, 1, 2].map(() => h.x.aligned_alloc(a, size) >>> 0);
          for (const p of ps) {
            assert.notEqual(p, 0, `aligned_alloc(${a}, ${size})`);
            assert.equal(p % a, 0, `aligned_alloc(${a}, ${size}) = ${p}`);
          }
          for (const p of ps) h.x.free(p);
          assert.equal(h.stats().live, 0);
        }
      }
    });

    test('alloc/dealloc: align 0 means 8, bad align refused, free() also accepts alloc blocks', () => {
      const h = instantiate(file);
      const a = h.x.alloc(24, 0) >>> 0;
      assert.ok(a && a % 8 === 0);
      const b = h.x.alloc(100, 256) >>> 0;
      assert.ok(b && b % 256 === 0);
      assert.equal(h.x.alloc(8, 12), 0);
      h.x.dealloc(a, 24, 0);
      h.x.free(b);
      h.x.dealloc(0, 0, 8);
      assert.deepEqual([h.stats().live, h.stats().inUse, h.stats().failed], [0, 0, 1]);
    });

    test('createRecord: fields at offsets 0/8/16 read back through a DataView', () => {
      const h = instantiate(file);
      const recs = [];
      for (let i = 0; i < 1000; i++) {
        const [id, x, y] = [(i * 2654435761) >>> 0, i * 1.5 - 700.25, Math.PI * i];
        const p = h.x.createRecord(id, x, y) >>> 0;
        assert.ok(p && p % 8 === 0);
        recs.push([p, id, x, y]);
      }
      const dv = new DataView(h.memory.buffer);
      for (const [p, id, x, y] of recs) {
        assert.equal(dv.getUint32(p, true), id);
        assert.equal(dv.getFloat64(p + 8, true), x);
        assert.equal(dv.getFloat64(p + 16, true), y);
      }
      assert.equal(h.stats().inUse, 24 * 1000);
      h.x.deleteRecord(0);
      for (const [p] of recs) h.x.deleteRecord(p);
      assert.deepEqual([h.stats().live, h.stats().inUse, h.stats().total], [0, 0, 1000]);
    });

    test('stats are exact and return to zero; heap bytes are the caller pages taken plus pages grown', () => {
      const h = instantiate(file, { initial: 2 });
      assert.deepEqual(h.stats(), { live: 0, total: 0, failed: 0, inUse: 0, peak: 0, heap: 0 });
      const ps = [h.malloc(10), h.x.calloc(3, 4) >>> 0, h.x.aligned_alloc(64, 30) >>> 0, h.x.createRecord(1, 2, 3) >>> 0];
      assert.deepEqual([h.stats().live, h.stats().total, h.stats().inUse], [4, 4, 10 + 12 + 30 + 24]);
      const pagesGrown = h.memory.buffer.byteLength / PAGE - 2;
      if (backend === 'wee_alloc') {
        assert.ok(pagesGrown >= 1);
        assert.equal(h.stats().heap, pagesGrown * PAGE, 'wee_alloc: only the pages it grew');
      } else {
        assert.equal(pagesGrown, 0, 'two pages hold these blocks');
        const start = readOwnerTag(h.memory.buffer).heapStart;
        assert.ok(start >= h.x.__heap_base.value);
        const state = h.stats().heap;
        assert.ok(state > 2 * PAGE - start - 2048 && state < 2 * PAGE - start, `heap bytes ${state}: from after its state to the end of page 1`);
      }
      ps.forEach((p) => h.x.free(p));
      assert.deepEqual([h.stats().live, h.stats().inUse, h.stats().peak], [0, 0, 76]);
    });

    test('contents survive memory growth (old buffers detached)', () => {
      const h = instantiate(file, { initial: 1 });
      const sh = new Shadow(h.u8, backend);
      const first = h.memory.buffer;
      for (let i = 0; i < 200; i++) sh.add(h.malloc(100 + i), 100 + i, i);
      for (let i = 0; i < 64; i++) sh.add(h.malloc(PAGE), PAGE, i); // forces many grows
      assert.equal(first.byteLength, 0, 'the first buffer was detached by memory.grow');
      sh.verifyAll();
      sh.checkDisjoint();
    });

    test('heap invariant: no block below the heap floor (the module stack, its tag and static data)', () => {
      const h = instantiate(file, { initial: 12 });
      const floor = Math.max(HEAP_FLOOR, h.x.__heap_base.value);
      const rng = new Rng(42);
      const live = [];
      for (let i = 0; i < 20_000; i++) {
        if (live.length && rng.below(3) === 0) h.x.free(live.splice(rng.below(live.length), 1)[0]);
        else {
          const size = rng.below(3000);
          const p = h.malloc(size);
          assert.ok(p >= floor, `block ${p} below the heap floor ${floor}`);
          live.push(p);
        }
      }
    });

    test(`seeded random trace of ${TRACE_OPS} operations against a shadow model`, () => {
      const seed = Number(process.env.SEED ?? 0x1badb002);
      const label = `${backend} seed=${seed} (replay: SEED=${seed} node --test tests/abi.test.mjs)`;
      const h = instantiate(file, { initial: 1 });
      const sh = new Shadow(h.u8, label);
      const rng = new Rng(seed);
      const ptrs = [];
      for (let op = 0; op < TRACE_OPS; op++) {
        const r = rng.below(100);
        if (r < 45 || ptrs.length < 50) {
          const size = rng.below(8) === 0 ? rng.below(10_000) : rng.below(128);
          const kind = rng.below(8);
          let p;
          let align = 8;
          if (kind === 0) p = h.x.calloc(1, size) >>> 0;
          else if (kind === 1) { align = 1 << rng.below(13); p = h.x.aligned_alloc(align, size) >>> 0; }
          else if (kind === 2) p = h.x.createRecord(op, op, op) >>> 0;
          else p = h.malloc(size);
          if (kind === 0) assert.ok(h.u8().subarray(p, p + size).every((b) => b === 0), `${label}: calloc not zeroed at op ${op}`);
          sh.add(p, kind === 2 ? 24 : size, rng.next() & 0xff, align);
          ptrs.push(p);
        } else if (r < 85) {
          const p = ptrs.splice(rng.below(ptrs.length), 1)[0];
          sh.remove(p);
          h.x.free(p);
        } else {
          const i = rng.below(ptrs.length);
          const p = ptrs[i];
          const b = sh.live.get(p);
          const size = 1 + rng.below(rng.below(4) === 0 ? 10_000 : 200);
          const q = h.x.realloc(p, size) >>> 0;
          sh.verify(q, Math.min(size, b.size), b.tag);
          sh.live.delete(p);
          sh.add(q, size, b.tag, b.align <= 8 ? 8 : 1);
          ptrs[i] = q;
        }
        if (op % 4096 === 0) sh.checkDisjoint();
      }
      sh.checkDisjoint();
      sh.verifyAll();
      assert.equal(h.stats().inUse, sh.bytes, `${label}: in-use bytes`);
      assert.equal(h.stats().live, sh.live.size, `${label}: live blocks`);
      for (const p of ptrs) h.x.free(p);
      assert.deepEqual([h.stats().live, h.stats().inUse], [0, 0]);
    });
  });
}
