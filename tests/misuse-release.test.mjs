// Misuse the release builds must survive: what an adversarial run against
// dist/ found (stale pointers after many arena resets, a false out of
// memory after JavaScript grew the memory, a write through a dangling
// pointer that made the heap hand out memory it does not own, one build's
// instantiation overwriting another's static data, a double free reported
// as a stray pointer, the largest request the docs promise). Each test
// failed on the build before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BACKENDS, DIST, compiled, instantiate } from './helpers/support.mjs';
import { danglingRuns } from './helpers/dangling-fuzz.mjs';
import { report } from './helpers/report.mjs';

const RELEASE = { ...BACKENDS, bump: 'linalloc-bump.wasm' };
const PAGE = 65536;

/** An instance of the threads build on a shared memory (its own thread only). */
function instantiateShared(initial, maximum) {
  const memory = new WebAssembly.Memory({ initial, maximum, shared: true });
  return instantiate('linalloc-mt.wasm', { memory });
}

test('bump: a pointer from before a reset stays refused after 2^22 + 2 resets (the key period)', () => {
  const h = instantiate(RELEASE.bump, { initial: 4, maximum: 4 });
  const stale = h.malloc(40);
  const kept = h.malloc(8);
  assert.ok(stale && kept);
  const { heap_reset: reset, heap_block_size: size } = h.x;
  const NONE = 0xffffffff;
  for (let e = 1; e <= (1 << 22) + 2; e++) {
    reset();
    // the header of `stale` is never overwritten: only the epoch tells it apart
    if (size(stale) >>> 0 !== NONE) assert.fail(`reset ${e}: the block from before the first reset is live again`);
  }
  assert.equal(h.x.try_free(stale), 1, 'a stale free is refused');
  assert.deepEqual([h.stats().live, h.stats().inUse], [0, 0]);
  const a = h.malloc(40);
  const b = h.malloc(8);
  assert.equal(a, stale, 'the arena starts again at its first block');
  assert.ok(b >= a + 40, 'the next block lies after the live one');
});

for (const [name, file] of [...Object.entries(RELEASE), ['mt', 'linalloc-mt.wasm']]) {
  if (name === 'wee_alloc') continue; // grows pages of its own only: nothing is shared with the caller's
  test(`${name}: no false out of memory when JavaScript grew the memory before the first large request`, () => {
    const h = name === 'mt' ? instantiateShared(16, 1024) : instantiate(file, { initial: 16, maximum: 1024 });
    // the heap starts on a call that takes no pages (an overflowing calloc)
    assert.equal(h.x.calloc(0x10000, 0x10001) >>> 0, 0);
    h.memory.grow(1); // JavaScript's page, after the caller's 16
    const p = h.malloc(1 << 20);
    assert.notEqual(p, 0, 'malloc(1 MiB) failed with 1008 pages left to grow');
    assert.ok(p >= 17 * PAGE || p + (1 << 20) <= 16 * PAGE, `block ${p} over the page JavaScript grew`);
    h.u8().fill(1, p, p + (1 << 20));
    assert.equal(h.x.try_free(p), 0);
  });
}

// The default and threads builds (and the arena, which keeps no links in
// freed memory) never hand out memory twice or outside the heap, and never
// trap, whatever one dangling write did. The builds over dlmalloc, talc and
// wee_alloc follow those crates' own free lists, which linalloc does not
// check (their figures are reported, not asserted: docs/RELIABILITY.md).
const figures = {};
for (const [name, file] of [['lin', RELEASE.lin], ['mt', 'linalloc-mt.wasm'], ['bump', RELEASE.bump]]) {
  test(`${name}: writes through dangling pointers never hand out memory outside the heap or twice, never trap or hang`, async () => {
    // at least 40 programs (4 s), each watched for hangs
    const sum = await danglingRuns(file, { seed: 0x5eed, seconds: 4, limit: 20 });
    assert.ok(sum.runs >= 40, `only ${sum.runs} programs`);
    assert.deepEqual([sum.traps, sum.outside, sum.overlaps, sum.hangs], [0, 0, 0, 0], JSON.stringify(sum));
    assert.ok(sum.writes > 1000, `only ${sum.writes} dangling writes`);
    if (name !== 'bump') assert.ok(sum.corruptions > 0, 'no damaged link was ever found: the writes missed the links');
    figures[name] = sum;
    report('dangling', figures);
  });
}

test('lin: a write into a freed record never makes createRecord return memory it does not own', () => {
  const h = instantiate(RELEASE.lin, { initial: 2, maximum: 64 });
  const recs = Array.from({ length: 8 }, (_, i) => h.x.createRecord(i, i, i) >>> 0);
  h.x.deleteRecord(recs[3]);
  // the freed record's first word: its link on the quick list
  new DataView(h.memory.buffer).setUint32(recs[3], 18232, true);
  const a = h.x.createRecord(100, 0, 0) >>> 0;
  const b = h.x.createRecord(101, 0, 0) >>> 0;
  const c = h.x.createRecord(102, 0, 0) >>> 0;
  for (const p of [a, b, c]) {
    assert.ok(p > 17408, `record at ${p}: below the heap (512 is the owner tag)`);
    for (const q of recs) if (q !== recs[3]) assert.ok(p + 24 <= q || q + 24 <= p, `record ${p} over the live record ${q}`);
  }
  assert.equal(h.x.stats_corruptions(), 1, 'the damaged link is counted');
  assert.equal(h.x.heap_status(), 1, 'the heap still runs');
  for (const p of [a, b, c, ...recs.filter((q) => q !== recs[3])]) assert.equal(h.x.try_free(p), 0);
});

test('every build with static data keeps it apart from every other build\'s: instantiating one never overwrites another', () => {
  const spans = [];
  for (const file of [...Object.values(RELEASE), 'linalloc-checked.wasm', 'linalloc-mt.wasm']) {
    const bytes = readFileSync(DIST + file);
    for (const seg of dataSegments(bytes)) {
      for (const o of spans) {
        assert.ok(seg.end <= o.start || o.end <= seg.start, `${file}'s data [${seg.start}, ${seg.end}) overlaps ${o.file}'s [${o.start}, ${o.end})`);
      }
      spans.push({ file, ...seg });
    }
  }
  // the finding itself: wee_alloc's vtables survive every other build
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 1024 });
  const wee = new WebAssembly.Instance(compiled(RELEASE.wee_alloc), { env: { memory } }).exports;
  const p = wee.malloc(100) >>> 0;
  for (const file of [...Object.values(RELEASE), 'linalloc-checked.wasm']) new WebAssembly.Instance(compiled(file), { env: { memory } });
  assert.equal(wee.try_free(p), 0);
  assert.notEqual(wee.malloc(3000) >>> 0, 0, 'the wee heap runs on');
});

/** Active data segments of a module: `{ start, end }` (passive ones are written by no instantiation). */
function dataSegments(bytes) {
  const out = [];
  let i = 8;
  const leb = () => {
    let r = 0;
    let s = 0;
    let x;
    do {
      x = bytes[i++];
      r |= (x & 0x7f) << s;
      s += 7;
    } while (x & 0x80);
    return r >>> 0;
  };
  while (i < bytes.length) {
    const id = bytes[i++];
    const len = leb();
    const end = i + len;
    if (id === 11) {
      for (let n = leb(); n > 0; n--) {
        const flag = leb();
        let start = null;
        if (flag === 0) {
          i++; // i32.const
          start = leb();
          i++; // end
        }
        const size = leb();
        if (start !== null) out.push({ start, end: start + size });
        i += size;
      }
    }
    i = end;
  }
  return out;
}

for (const name of ['dlmalloc', 'talc', 'lin', 'bump', 'wee_alloc']) {
  test(`${name}: a second free of a block of any size is reported as a double free (2), not a stray pointer`, () => {
    const h = instantiate(RELEASE[name], { initial: 2, maximum: 1024 });
    const keep = h.malloc(64);
    for (const n of [8, 100, 129, 200, 1000, 5000, 300000]) {
      for (const between of [false, true]) {
        // between live blocks, the freed block is a free chunk of its own,
        // whose links the backend writes over the header
        const p = h.malloc(n);
        const after = between ? h.malloc(16) : 0;
        assert.equal(h.x.try_free(p), 0);
        assert.equal(h.x.try_free(p), 2, `${n} bytes${between ? ' between live blocks' : ''}`);
        if (after) assert.equal(h.x.try_free(after), 0);
        if (name === 'bump') h.malloc(8); // the arena's top moved back over the freed block
      }
      // two freed among live ones: each a free chunk on the backend's lists
      const ps = Array.from({ length: 6 }, () => h.malloc(n));
      assert.equal(h.x.try_free(ps[1]) + h.x.try_free(ps[3]), 0);
      assert.deepEqual([h.x.try_free(ps[3]), h.x.try_free(ps[1])], [2, 2], `${n} bytes among live blocks`);
      for (const q of [ps[0], ps[2], ps[4], ps[5]]) assert.equal(h.x.try_free(q), 0);
    }
    assert.equal(h.x.try_free(keep), 0);
  });
}

test('the largest request the docs allow, 2 GiB - 128 KiB - 1 bytes, can succeed; one byte more fails without growing', () => {
  const design = readFileSync(new URL('../docs/DESIGN.md', import.meta.url), 'utf8');
  assert.match(design, /Requests of more than 2 GiB − 128 KiB − 1 bytes \(0x7FFDFFFF\) fail/);
  const h = instantiate(RELEASE.lin, { initial: 1, maximum: 65536 });
  const before = h.memory.buffer.byteLength;
  assert.equal(h.malloc(0x7ffe0000), 0);
  assert.ok(h.memory.buffer.byteLength - before <= PAGE, 'a refused request grows nothing (the heap state may take a page)');
  const p = h.malloc(0x7ffdffff);
  assert.notEqual(p, 0);
  assert.equal(h.x.heap_block_size(p) >>> 0, 0x7ffdffff);
  assert.equal(h.x.try_free(p), 0);
});

// What a second adversarial run found after the fixes above (each reproduced
// first, then fixed).

test('lin: a free list made circular through a dangling pointer is dropped once and counted once, not walked on every failing request', () => {
  const h = instantiate(RELEASE.lin, { initial: 64, maximum: 64 });
  const a = h.malloc(4200);
  h.malloc(8);
  const b = h.malloc(4200);
  h.malloc(8);
  for (let n = 1 << 22; n >= 8; n >>= 1) while (h.malloc(n)) {} // the memory is full
  assert.equal(h.x.try_free(a) + h.x.try_free(b), 0); // two free 4208-byte blocks on one list
  new DataView(h.memory.buffer).setUint32(a - 4, a - 8, true); // a's next link: a itself
  for (let i = 0; i < 5; i++) assert.equal(h.malloc(6000), 0);
  assert.equal(h.x.stats_corruptions(), 1, 'the list was dropped at the first walk, and counted once');
});

test('bump: a write in front of the first block (into the arena\'s state) never makes malloc return memory below the heap', () => {
  const h = instantiate(RELEASE.bump, { initial: 2, maximum: 2 });
  const first = h.malloc(40);
  const heapStart = new DataView(h.memory.buffer).getUint32(520, true);
  for (let back = 4; back <= first - heapStart; back += 4) {
    const g = instantiate(RELEASE.bump, { initial: 2, maximum: 2 });
    const f = g.malloc(40);
    for (const v of [0, 16, 24, 512, f + 4096, 0xffffff00]) {
      new DataView(g.memory.buffer).setUint32(f - back, v >>> 0, true);
      for (const p of [g.malloc(100), g.x.createRecord(1, 2, 3) >>> 0]) {
        assert.ok(p === 0 || p >= f + 40, `a write of ${v} at ${back} bytes in front of the first block: a block at ${p}`);
      }
    }
  }
});

test('bump: with its first region\'s link overwritten, a pointer from before a reset stays refused across the epoch\'s wrap', () => {
  const h = instantiate(RELEASE.bump, { initial: 2, maximum: 2 });
  const stale = h.malloc(40);
  h.malloc(8);
  new DataView(h.memory.buffer).setUint32(stale - 16, 0, true); // the region link's seal
  for (let e = 0; e < 1 << 22; e++) h.x.heap_reset();
  assert.equal(h.x.try_free(stale), 1);
  assert.deepEqual([h.stats().live, h.stats().inUse], [0, 0]);
  assert.ok(h.x.stats_corruptions() >= 1, 'the damaged link is counted');
});

test('talc: a second free of a small over-aligned block of 20 bytes or more is a double free (2); below 20 bytes it has no room for the mark', () => {
  const h = instantiate(RELEASE.talc, { initial: 4, maximum: 64 });
  for (const [align, n] of [[16, 20], [16, 24], [32, 8], [64, 40], [16, 200]]) {
    h.malloc(64);
    const p = h.x.aligned_alloc(align, n) >>> 0;
    h.malloc(64);
    assert.equal(h.x.try_free(p), 0);
    assert.equal(h.x.try_free(p), 2, `aligned_alloc(${align}, ${n})`);
  }
});

test('lin: a listed block whose link does not point back is retired with its list, counted once', () => {
  const h = instantiate(RELEASE.lin, { initial: 3, maximum: 3 });
  const ps = [];
  for (let p; (p = h.malloc(1000)); ) ps.push(p);
  for (let n = 512; n >= 8; n >>= 1) for (let p; (p = h.malloc(n)); ) ps.push(p);
  assert.equal(h.x.try_free(ps[5]), 0); // on its list, between live blocks
  new DataView(h.memory.buffer).setUint32(ps[5] - 4, ps[1] - 8, true); // its next link: a block that does not link back
  assert.equal(h.malloc(1000), 0, 'the damaged block is not handed out');
  assert.equal(h.malloc(1000), 0);
  assert.equal(h.x.stats_corruptions(), 1);
});
