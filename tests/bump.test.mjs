// The bump build (dist/linalloc-bump.wasm): an arena with the whole ABI and
// heap_reset. Raw exports and the loader, on growable and fixed memories.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { load } from '../js/linalloc.js';
import { instantiate, Rng, Shadow } from './helpers/support.mjs';

const FILE = 'linalloc-bump.wasm';
const bytes = () => readFileSync(new URL(`../dist/${FILE}`, import.meta.url));

describe('bump build', () => {
  test('random allocations keep their bytes, never overlap, stats exact; reset frees all', () => {
    for (const seed of [1, 0xC0FFEE, 0x5EED]) {
      const h = instantiate(FILE, { initial: 2, maximum: 2048 });
      const rng = new Rng(seed);
      const shadow = new Shadow(h.u8, `seed ${seed}`);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 3000; i++) {
          const r = rng.below(10);
          const ptrs = [...shadow.live.keys()];
          if (r < 6 || ptrs.length === 0) {
            const size = rng.below(r === 0 ? 20000 : 300);
            const align = r === 1 ? 1 << (3 + rng.below(10)) : 8;
            const p = (align > 8 ? h.x.aligned_alloc(align, size) : h.x.malloc(size)) >>> 0;
            shadow.add(p, size, rng.next() & 0xff, align);
          } else if (r < 9) {
            const p = ptrs[rng.below(ptrs.length)];
            shadow.verify(p);
            assert.equal(h.x.try_free(p), 0);
            shadow.live.delete(p);
          } else {
            const p = ptrs[rng.below(ptrs.length)];
            const b = shadow.live.get(p);
            shadow.verify(p);
            const size = 1 + rng.below(5000);
            const q = h.x.realloc(p, size) >>> 0;
            assert.notEqual(q, 0);
            shadow.live.delete(p);
            const keep = Math.min(size, b.size);
            const m = h.u8();
            for (let k = 0; k < keep; k++) assert.equal(m[q + k], (b.tag + k) & 0xff, `seed ${seed}: realloc lost byte ${k}`);
            shadow.add(q, size, b.tag, 8);
          }
        }
        shadow.checkDisjoint();
        shadow.verifyAll();
        assert.equal(h.x.stats_live_allocations(), shadow.live.size);
        assert.equal(h.x.stats_in_use_bytes() >>> 0, [...shadow.live.values()].reduce((a, b) => a + b.size, 0));
        const old = [...shadow.live.keys()];
        h.x.heap_reset();
        assert.equal(h.x.stats_live_allocations(), 0);
        assert.equal(h.x.stats_in_use_bytes(), 0);
        for (const p of old.slice(0, 50)) {
          assert.equal(h.x.heap_block_size(p) >>> 0, 0xffffffff, 'a block from before the reset is not live');
          assert.notEqual(h.x.try_free(p), 0, 'a free after the reset is refused');
        }
        assert.equal(h.x.stats_live_allocations(), 0);
        shadow.live.clear();
      }
    }
  });

  test('a fixed memory fills, fails cleanly, and refills to the same count after reset', () => {
    for (const pages of [1, 2, 17]) {
      const h = instantiate(FILE, { initial: pages, maximum: pages });
      const count = () => {
        let n = 0;
        while (h.x.malloc(1000) !== 0) n++;
        return n;
      };
      const first = count();
      assert.ok(first * 1008 >= (pages * 65536 - 17408) * 0.95, `${pages} pages: only ${first} blocks`);
      assert.ok(h.x.stats_failed_allocations() >= 1);
      h.x.heap_reset();
      assert.equal(count(), first, `${pages} pages: after reset`);
      assert.equal(h.memory.buffer.byteLength, pages * 65536, 'a fixed memory never grows');
    }
  });

  test('frames stop growing the memory however often someone else grew it', () => {
    // Each of the first frame's blocks needs new pages, and someone else
    // grows the memory after each, so the arena's regions lie apart. Later
    // frames must refill all of them (it once remembered only 8).
    for (const regions of [4, 12, 30]) {
      const h = instantiate(FILE, { initial: 2, maximum: 4096 });
      const pages = [];
      for (let frame = 0; frame < 5; frame++) {
        const shadow = new Shadow(h.u8, `${regions} regions, frame ${frame}`);
        for (let i = 0; i < regions; i++) {
          const p = h.x.malloc(100_000) >>> 0;
          assert.notEqual(p, 0);
          shadow.add(p, 100_000, frame * 1000 + i);
          if (frame === 0) h.memory.grow(1);
        }
        shadow.verifyAll();
        shadow.checkDisjoint();
        h.x.heap_reset();
        pages.push(h.memory.buffer.byteLength / 65536);
      }
      assert.ok(pages.every((n) => n === pages[0]), `${regions} regions, pages per frame: ${pages}`);
    }
  });

  test('the most recent block grows in place; a double free is refused', () => {
    const h = instantiate(FILE, { initial: 1, maximum: 256 });
    let p = h.x.malloc(16);
    const first = p;
    for (let size = 32; size <= 1 << 20; size *= 2) p = h.x.realloc(p, size);
    assert.equal(p, first, 'never moved');
    assert.equal(h.x.try_free(p), 0);
    assert.equal(h.x.try_free(p), 2, 'double free');
    assert.equal(h.x.stats_invalid_frees(), 1);
  });

  test('loader: heap.reset() on the bump build, a LinallocError (NOT_BUMP_BUILD) on others', async () => {
    const heap = await load(bytes());
    assert.equal(heap.build, 'bump');
    const r = heap.createRecord(1, 2, 3);
    assert.equal(r.id, 1);
    heap.reset();
    assert.equal(heap.stats().liveAllocations, 0);
    assert.throws(() => heap.free(r.ptr), { name: 'InvalidFreeError', code: 'INVALID_FREE' }, 'a pointer from before the reset');
    const other = await load(readFileSync(new URL('../dist/linalloc.wasm', import.meta.url)));
    other.malloc(8);
    assert.throws(() => other.reset(), { name: 'LinallocError', code: 'NOT_BUMP_BUILD', message: /bump build.*lin/ });
  });
});
