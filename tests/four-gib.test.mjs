// The whole 4 GiB of a wasm32 memory (maximum 65536 pages) on the real
// dist/*.wasm: pointers above 2 GiB work through the raw exports and the
// loader's helpers, the heap reaches the last page, and several fill patterns
// on every backend and the checked build leave no block below the heap,
// overlapping or damaged. Records figures.fourGiB
// (test-output/reliability/four-gib.json) for docs/RELIABILITY.md.
// `SEED=n node --test tests/four-gib.test.mjs` replays the patterns' seed.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../js/linalloc.js';
import { readOwnerTag } from '../js/wasm-info.js';
import { BACKENDS, DIST, WITH_CHECKED, Rng, instantiate } from './helpers/support.mjs';
import { PAGE, fillUntilFull } from './helpers/exhaust.mjs';
import { report } from './helpers/report.mjs';

const SEED = Number(process.env.SEED ?? 0x5eed) >>> 0;
const figures = { fourGiB: [] };
after(() => report('four-gib', figures));

// The talc build's arena stops at 2 GiB (talc's own search wraps above it;
// src/backend/talc.rs): it must stop cleanly there instead.
const HALF = 2 ** 31;

describe('the whole 4 GiB through the raw exports', () => {
  test('talc: the heap stops cleanly at 2 GiB', () => {
    const h = instantiate(BACKENDS.talc, { initial: 1, maximum: 65536 });
    const blocks = fillUntilFull(h.malloc, [0x0ff0_0000, 1 << 20, 4096]);
    const top = Math.max(...blocks.map(([p, s]) => p + s));
    assert.ok(top <= HALF && top > HALF - (16 << 20), `heap stopped at ${top.toString(16)}`);
    const m = h.u8();
    for (const [b, s] of blocks) { m[b] = 0xa5; m[b + s - 1] = 0x5a; }
    for (const [b, s] of blocks) assert.deepEqual([m[b], m[b + s - 1]], [0xa5, 0x5a]);
    // a request that cannot fit grows no memory the arena could not use
    const pages = h.memory.buffer.byteLength;
    for (const n of [0x0ff0_0000, 0x7ff0_0000, 1 << 20]) assert.equal(h.malloc(n), 0);
    assert.equal(h.memory.buffer.byteLength, pages, 'the memory grew past 2 GiB for nothing');
    assert.ok(h.x.stats_heap_bytes() >>> 0 <= HALF, 'heap bytes stay within 2 GiB');
    assert.equal(h.x.try_free(blocks[1][0]), 0);
  });
  for (const [backend, file] of Object.entries(BACKENDS)) {
    if (backend === 'talc') continue;
    test(`${backend}: pointers above 2 GiB work and the heap reaches the top`, () => {
      const h = instantiate(file, { initial: 1, maximum: 65536 });
      const big = 0x0ff0_0000; // ~255 MiB
      const blocks = fillUntilFull(h.malloc, [big]).map(([p]) => p);
      const top = Math.max(...blocks) + big;
      assert.ok(top > 0xf000_0000, `heap stopped at ${top.toString(16)}`);
      assert.ok(blocks.some((b) => b >= 0x8000_0000), 'some block lies above 2 GiB');
      const m = h.u8();
      for (const b of blocks) { m[b] = 0xa5; m[b + big - 1] = 0x5a; }
      for (const b of blocks) assert.deepEqual([m[b], m[b + big - 1]], [0xa5, 0x5a]);
      const hi = blocks.find((b) => b >= 0x8000_0000);
      h.x.free(hi);
      const rec = h.x.createRecord(7, 1.25, -2.5) >>> 0;
      assert.ok(rec >= 0x8000_0000, 'record placed above 2 GiB');
      const dv = new DataView(h.memory.buffer);
      assert.deepEqual([dv.getUint32(rec, true), dv.getFloat64(rec + 8, true), dv.getFloat64(rec + 16, true)], [7, 1.25, -2.5]);
    });
  }
});

describe('the whole 4 GiB through the loader', () => {
  for (const [backend, file] of Object.entries(BACKENDS)) {
    if (backend === 'talc') continue; // its heap stops at 2 GiB (above)
    test(`${backend}: blocks reach the last page; helpers and records work above 2 GiB`, async () => {
      const heap = await load(DIST + file, { initial: 1, maximum: 65536 });
      const blocks = [];
      // past 2 GiB with big blocks, then the helpers allocate up there
      while (heap.stats().pages < 32768 + 16) {
        const p = heap.malloc(255 << 20);
        assert.notEqual(p, 0, `malloc(255 MiB) failed at ${heap.stats().pages} pages`);
        blocks.push([p, 255 << 20]);
      }
      // (a backend may first use leftovers below 2 GiB: keep those blocks and retry)
      const high = (make, ptrOf = (v) => v) => {
        for (let i = 0; i < 1_000_000; i++) {
          const v = make();
          if (ptrOf(v) > 2 ** 31) return v;
        }
        assert.fail('no helper block above 2 GiB');
      };
      const s = high(() => heap.writeString('top of memory'));
      const r = high(() => heap.createRecord(4242, -0.125, 3e200), (rec) => rec.ptr);
      const a = high(() => heap.writeArray(new Float64Array([1.5, -2.5])));
      // then everything that fits, up to the last page
      fillUntilFull((n) => heap.malloc(n), [255 << 20, 1 << 20, 4096, 64], undefined, blocks);
      const top = Math.max(...blocks.map(([p, sz]) => p + sz));
      assert.ok(top > 2 ** 32 - PAGE, `highest block ends at 0x${top.toString(16)}, not in the last page`);
      assert.equal(heap.stats().pages, 65536);
      const m = heap.u8;
      for (const [p, sz] of blocks) { m[p] = 0xa5; m[p + sz - 1] = 0x5a; }
      for (const [p, sz] of blocks) assert.deepEqual([m[p], m[p + sz - 1]], [0xa5, 0x5a]);
      assert.equal(heap.readString(s), 'top of memory');
      assert.deepEqual(r.toJSON(), { ptr: r.ptr, id: 4242, x: -0.125, y: 3e200 });
      assert.deepEqual([...heap.readArray(Float64Array, a, 2)], [1.5, -2.5]);
      figures.fourGiB.push({ backend, blocks: blocks.length, topAddress: top, recordAt: r.ptr });
    });
  }
});

/** Head and tail words of a block: enough to see overlap and damage over 4 GiB quickly. */
function stamp(u32, p, size, tag) {
  if (size >= 4) u32[p >>> 2] = tag;
  if (size >= 8) u32[(p + size - 4) >>> 2] = ~tag >>> 0;
}
function intact(u32, p, size, tag) {
  return (size < 4 || u32[p >>> 2] === tag) && (size < 8 || u32[(p + size - 4) >>> 2] === ~tag >>> 0);
}

// Each pattern yields { size } (the answer: did malloc succeed) or { free: true }.
const PATTERNS = {
  'fill-and-halve': function* () {
    for (let size = 16 << 20; size >= 8;) {
      const ok = yield { size };
      if (!ok) size >>>= 1;
    }
  },
  'big blocks, then random small sizes with frees': function* (rng) {
    while (yield { size: 64 << 20 });
    let fails = 0;
    for (let i = 0; i < 300_000 && fails < 2000; i++) {
      if (rng.below(100) < 30) yield { free: true };
      else fails = (yield { size: 8 + rng.below(4096) }) ? 0 : fails + 1;
    }
  },
  'random mix to exhaustion': function* (rng) {
    let fails = 0;
    for (let i = 0; i < 400_000 && fails < 200; i++) {
      if (rng.below(100) < 20) yield { free: true };
      else fails = (yield { size: Math.floor(2 ** (3 + rng.below(2300) / 100)) }) ? 0 : fails + 1;
    }
  },
};

describe('the whole 4 GiB, several patterns', () => {
  for (const [name, file] of Object.entries(WITH_CHECKED)) {
    for (const [pattern, gen] of Object.entries(PATTERNS)) {
      test(`${name}, ${pattern}: no block below the heap or overlapping, contents and stats intact`, { timeout: 300_000 }, (t) => {
        let memory;
        try {
          memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
        } catch {
          t.skip('this engine cannot reserve 4 GiB (the loader\'s createMemory handles that)');
          return;
        }
        const h = instantiate(file, { memory });
        const rng = new Rng(SEED ^ pattern.length);
        const live = new Map();
        const keys = [];
        let u32 = new Uint32Array(memory.buffer);
        let tag = 1;
        const it = gen(rng);
        let step = it.next();
        while (!step.done) {
          const op = step.value;
          if (op.free) {
            if (keys.length) {
              const i = rng.below(keys.length);
              const p = keys[i];
              keys[i] = keys[keys.length - 1];
              keys.pop();
              const b = live.get(p);
              if (u32.buffer !== memory.buffer) u32 = new Uint32Array(memory.buffer);
              assert.ok(intact(u32, p, b.size, b.tag), `${name}/${pattern}: block ${p} (${b.size} bytes) damaged (seed ${SEED})`);
              live.delete(p);
              h.x.free(p);
            }
            step = it.next(true);
            continue;
          }
          const p = h.malloc(op.size);
          if (p !== 0) {
            if (u32.buffer !== memory.buffer) u32 = new Uint32Array(memory.buffer);
            const start = readOwnerTag(memory.buffer).heapStart ?? h.x.__heap_base.value;
            assert.ok(p >= start, `${name}/${pattern}: malloc(${op.size}) = ${p}, below the heap start ${start} (seed ${SEED})`);
            assert.ok(p + op.size <= memory.buffer.byteLength, `block ends past the memory`);
            assert.ok(!live.has(p), `${p} handed out twice`);
            live.set(p, { size: op.size, tag });
            keys.push(p);
            stamp(u32, p, op.size, tag++);
          }
          step = it.next(p !== 0);
        }
        u32 = new Uint32Array(memory.buffer);
        const spans = [...live].sort((a, b) => a[0] - b[0]);
        for (let i = 0; i < spans.length; i++) {
          const [p, b] = spans[i];
          assert.ok(intact(u32, p, b.size, b.tag), `${name}/${pattern}: block ${p} (${b.size} bytes) damaged (seed ${SEED})`);
          if (i) assert.ok(spans[i - 1][0] + Math.max(1, spans[i - 1][1].size) <= p, `blocks ${spans[i - 1][0]} and ${p} overlap`);
        }
        const bytes = spans.reduce((n, [, b]) => n + b.size, 0);
        assert.deepEqual([h.stats().live, h.stats().inUse], [live.size, bytes], 'stats match the live blocks');
        const reach = name === 'talc' ? 0.95 * HALF : 3.5 * 2 ** 30;
        if (name !== 'wee_alloc') assert.ok(memory.buffer.byteLength > reach, `reached ${memory.buffer.byteLength} bytes`);
      });
    }
  }
});

describe('a memory that is all 4 GiB when the heap starts', () => {
  // 65536 pages * 64 KiB is 2^32: an end computed in 32 bits wraps to 0.
  for (const [backend, file] of Object.entries(WITH_CHECKED)) {
    if (backend === 'wee_alloc') continue; // it uses only pages it grows itself
    test(`${backend}: a fixed 65536-page memory, and one grown to 65536 pages before the first malloc`, (t) => {
      let fixed;
      try {
        fixed = new WebAssembly.Memory({ initial: 65536, maximum: 65536 });
      } catch (e) {
        t.skip(`this engine cannot allocate a 4 GiB memory: ${e.message}`);
        return;
      }
      for (const memory of [fixed, null]) {
        const h = memory ? instantiate(file, { memory }) : instantiate(file, { initial: 1, maximum: 65536 });
        if (!memory) h.memory.grow(65535);
        const p = h.malloc(100);
        assert.notEqual(p, 0, `${memory ? 'fixed' : 'grown'}: malloc(100) on a 4 GiB memory`);
        assert.equal(h.x.heap_status(), 1);
        const top = h.malloc(0x7000_0000);
        assert.notEqual(top, 0, 'a 1.75 GiB block fits');
        assert.ok(top + 0x7000_0000 <= 2 ** 32 - 4096, `block ends at ${(top + 0x7000_0000).toString(16)}`);
        assert.equal(h.x.try_free(top), 0);
      }
    });
  }
});

describe('requests that do not fit near the top of the address space', () => {
  // Found by an adversarial run: "does it fit?" computed as start + size
  // wrapped past 2^32, so a block that did not fit was handed out running
  // past the end of the memory (or at a low address over the stack and the
  // owner tag). Every answer must be 0 or a block inside the memory, and no
  // live block may change.
  const check = (h, live, label) => {
    const end = h.memory.buffer.byteLength;
    const m = h.u8();
    for (const [p] of live) assert.equal(m[p], 0x77, `${label}: live block at ${p.toString(16)} changed`);
    for (let i = 0; i < 4; i++) {
      const q = h.malloc(4096);
      if (!q) continue;
      assert.ok(q >= 17408 && q + 4096 <= end, `${label}: malloc(4096) = ${q.toString(16)}, outside the heap`);
      assert.ok(!live.some(([p, s]) => q < p + s && p < q + 4096), `${label}: malloc(4096) = ${q.toString(16)} overlaps a live block`);
    }
  };
  // a fixed memory of `pages` pages, or null (the test skipped) where the engine cannot
  const fixedMemory = (t, pages) => {
    try {
      return new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (e) {
      t.skip(`this engine cannot allocate ${pages} pages: ${e.message}`);
      return null;
    }
  };
  const fill = (h, sizes) => {
    const live = [];
    for (const s of sizes) for (let i = 0; i < 300; i++) { const p = h.malloc(s); if (!p) break; live.push([p, s]); }
    for (const [p] of live) h.u8()[p] = 0x77;
    return live;
  };
  for (const [backend, file] of Object.entries(BACKENDS)) {
    if (backend === 'wee_alloc') continue; // its aligned path asks the memory for fresh pages
    test(`${backend}: a 2 GiB aligned_alloc above 2.25 GiB of a 40000-page memory`, (t) => {
      const memory = fixedMemory(t, 40000);
      if (!memory) return;
      const h = instantiate(file, { memory });
      const live = fill(h, [0x7ff0_0000, 0x1000_0000]);
      const p = h.x.aligned_alloc(16, 0x7ff0_0000) >>> 0;
      assert.ok(p === 0 || p + 0x7ff0_0000 <= memory.buffer.byteLength, `aligned_alloc = ${p.toString(16)}, past the end`);
      check(h, live, backend);
    });
    test(`${backend}: a sequence that ran talc's search past 4 GiB`, (t) => {
      const memory = fixedMemory(t, 65536);
      if (!memory) return;
      const h = instantiate(file, { memory });
      const live = [];
      const take = (p, s) => { if (p) live.push([p >>> 0, s]), (h.u8()[p >>> 0] = 0x77); };
      for (const n of [0x7ff00000, 0x7ff00000, 0xd391, 0xf358, 0xac11, 0xd4af, 0x3c97]) take(h.malloc(n), n);
      take(h.x.aligned_alloc(0x10, 0x2cbc), 0x2cbc);
      for (const n of [0x876b, 0x3ccd, 0x7a92, 0x82c2]) take(h.malloc(n), n);
      take(h.x.aligned_alloc(0x800, 0x1027f), 0x1027f);
      take(h.malloc(0xd938), 0xd938);
      take(h.malloc(0xafd7), 0xafd7);
      const p = h.malloc(0x17ae32);
      assert.ok(p === 0 || p + 0x17ae32 <= 2 ** 32 - 4096, `malloc = ${p.toString(16)}, past the end`);
      assert.deepEqual([...new Uint32Array(memory.buffer, 512, 4)].slice(3), [0], 'the owner tag is intact');
      check(h, live, backend);
    });
    test(`${backend}: large alignments in a full 4 GiB memory`, (t) => {
      const memory = fixedMemory(t, 65536);
      if (!memory) return;
      const h = instantiate(file, { memory });
      const live = fill(h, [0x7ff0_0000, 0x7ff0_0000, 1 << 24, 1 << 20, 65536, 4096, 256]);
      for (const align of [65536, 8192, 2048, 512]) {
        const p = h.x.aligned_alloc(align, 8) >>> 0;
        assert.ok(p === 0 || (p % align === 0 && p + 8 <= 2 ** 32 - 4096), `aligned_alloc(${align}, 8) = ${p.toString(16)}`);
        if (p) live.push([p, 8]), (h.u8()[p] = 0x77);
      }
      check(h, live, backend);
    });
  }
});
