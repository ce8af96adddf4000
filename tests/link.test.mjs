// Runtime linking: C (fixed-layout and position-independent) and Rust client
// modules linked against each backend's real dist/*.wasm at load time.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { linkModules, load, LinkError, LoadError, MemoryError, PAGE_SIZE } from '../js/linalloc.js';
import { serve } from '../scripts/serve.mjs';
import { BACKENDS, DIST } from './helpers/support.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STRTAB = ROOT + 'examples/link/strtab.wasm';
const STRTAB_PIC = ROOT + 'examples/link/strtab-pic.wasm';
const RUST = ROOT + 'examples/link/rust-client.wasm';
const PING = ROOT + 'build/tests/fixtures/ping.wasm';
const PONG = ROOT + 'build/tests/fixtures/pong.wasm';
const GOT_DATA = ROOT + 'build/tests/fixtures/got_data.wasm';
const GOT_USER = ROOT + 'build/tests/fixtures/got_user.wasm';
const GOT_WEAK = ROOT + 'build/tests/fixtures/got_weak.wasm';
const GOT_HOOK = ROOT + 'build/tests/fixtures/got_hook.wasm';

const checksum = (u8, start, end) => {
  let h = 2166136261;
  for (let i = start; i < end; i++) h = Math.imul(h ^ u8[i], 16777619);
  return h >>> 0;
};

/** Interns 2 000 strings (with repeats) through a strtab client and checks every id. */
function exerciseStrtab(heap, x) {
  const t = x.st_new(97) >>> 0;
  assert.notEqual(t, 0);
  const ids = new Map();
  for (let i = 0; i < 2000; i++) {
    const word = `w${(i * 7919) % 1500}`;
    const p = heap.writeString(word);
    const id = x.st_intern(t, p) >>> 0;
    heap.free(p);
    if (ids.has(word)) assert.equal(id, ids.get(word), `same id for ${word}`);
    else ids.set(word, id);
  }
  assert.equal(x.st_count(t), ids.size);
  for (const [word, id] of ids) assert.equal(heap.readString(x.st_lookup(t, id) >>> 0), word);
  const a = heap.writeString('usr');
  const b = heap.writeString('lib');
  const pid = x.st_intern_path(t, a, b);
  assert.equal(heap.readString(x.st_lookup(t, pid) >>> 0), 'usr/lib', 'stack buffer in the client works');
  heap.free(a);
  heap.free(b);
  assert.equal(heap.readString(x.st_banner() >>> 0), "strtab 1.0: interned strings in linalloc's heap");
  return t;
}

for (const [backend, file] of Object.entries(BACKENDS)) {
  describe(`linking against ${backend}`, () => {
    test('fixed-layout C, side-module C and Rust clients: results, stats, static regions intact', async () => {
      const { heap, instances, regions } = await linkModules({
        linalloc: DIST + file, strtab: STRTAB, pic: STRTAB_PIC, rust: RUST,
      });
      const base = heap.stats();
      // C clients: their malloc'ed nodes show up in linalloc's stats
      const tables = {};
      for (const k of ['strtab', 'pic']) {
        const before = heap.stats().liveAllocations;
        tables[k] = exerciseStrtab(heap, instances[k].exports);
        assert.ok(heap.stats().liveAllocations - before > 1500, `${k}: allocations made by C are counted`);
      }
      // Rust client: Vec/String in linalloc's heap
      const r = instances.rust.exports;
      const text = heap.writeString('pear apple fig apple kiwi pear');
      const out = r.sorted_words(text, 30) >>> 0;
      assert.equal(heap.readString(out), 'apple, fig, kiwi, pear');
      assert.equal(r.fib_sum(40), 165580140);
      heap.free(out);
      heap.free(text);

      // Snapshot every static region, then ≥ 10 000 allocations and ≥ 100 growths
      const snap = regions.filter((g) => g.module !== 'linalloc').map((g) => [g, checksum(heap.u8, g.start, g.end)]);
      assert.ok(snap.length >= 3, 'strtab, rust and the side module have regions');
      const blocks = [];
      const startPages = heap.stats().pages;
      for (let i = 0; blocks.length < 10_000 || heap.stats().pages < startPages + 100; i++) {
        const p = heap.malloc(i % 50 === 0 ? 30_000 : 1 + (i % 700));
        assert.notEqual(p, 0);
        for (const [g] of snap) assert.ok(p + 1 <= g.start || p >= g.end, `block ${p} inside ${g.module}'s region`);
        heap.u8.fill(0xcc, p, p + 1 + (i % 700));
        blocks.push(p);
      }
      for (const [g, sum] of snap) assert.equal(checksum(heap.u8, g.start, g.end), sum, `${g.module}'s static region changed`);
      blocks.forEach((p) => heap.free(p));

      // the clients still work after all that, and free everything they allocated
      for (const k of ['strtab', 'pic']) {
        const x = instances[k].exports;
        assert.equal(heap.readString(x.st_lookup(tables[k], 1) >>> 0), 'w0');
        x.st_free(tables[k]);
      }
      assert.equal(heap.stats().liveAllocations, base.liveAllocations, 'every client block freed');
      assert.equal(heap.stats().inUseBytes, base.inUseBytes);
    });

    test('circular imports resolve in both declaration orders', async () => {
      for (const order of [{ ping: PING, pong: PONG }, { pong: PONG, ping: PING }]) {
        const { instances } = await linkModules({ linalloc: DIST + file, ...order });
        assert.equal(instances.ping.exports.ping(5), 23);
        assert.equal(instances.pong.exports.pong(5), 32);
        assert.equal(instances.ping.exports.ping_calls() + instances.pong.exports.pong_calls(), 12);
      }
    });
  });
}

describe('side modules with GOT entries', () => {
  for (const order of [{ gotData: GOT_DATA, gotUser: GOT_USER }, { gotUser: GOT_USER, gotData: GOT_DATA }]) {
    test(`GOT.func (an imported function's address) and GOT.mem (another module's data), order ${Object.keys(order).join(', ')}`, async () => {
      const { heap, instances } = await linkModules(order);
      const u = instances.gotUser.exports;
      const before = heap.stats().liveAllocations;
      const p = u.make_block() >>> 0;
      assert.equal(heap.stats().liveAllocations, before + 1);
      u.free_through_pointer(p); // calls linalloc's free through the table slot from GOT.func.free
      assert.equal(heap.stats().liveAllocations, before);
      assert.equal(u.bump_shared(), 42, 'GOT.mem.shared_counter points at gotData\'s variable');
      assert.equal(instances.gotData.exports.counter_value(), 42, 'both modules see one variable');
      const data = heap.regions.find((r) => r.module === 'gotData');
      const addr = data.start + instances.gotData.exports.shared_counter.value;
      assert.equal(heap.dataView.getInt32(addr, true), 42, 'the variable lives in the data block linalloc allocated');
    });
  }
});

describe('weak undefined symbols of side modules', () => {
  test('alone, a weak function and a weak variable bind to null (0, the null table slot); a call to the function is named', async () => {
    const { instances } = await linkModules({ weak: GOT_WEAK });
    const x = instances.weak.exports;
    assert.equal(x.has_hook(), 0, 'the weak function\'s address is 0');
    assert.equal(x.has_data(), 0, 'the weak variable\'s address is 0');
    assert.equal(x.run(5), 5);
    assert.throws(() => x.call_unchecked(1), (e) => e instanceof LinkError && e.code === 'WEAK_UNDEFINED' && /optional_hook/.test(e.message));
  });

  for (const order of [{ weak: GOT_WEAK, hook: GOT_HOOK }, { hook: GOT_HOOK, weak: GOT_WEAK }]) {
    test(`with a module defining them, they bind to its definitions (order ${Object.keys(order).join(', ')})`, async () => {
      const { instances } = await linkModules(order);
      const x = instances.weak.exports;
      assert.equal(x.has_hook(), 1);
      assert.equal(x.has_data(), 1);
      assert.equal(x.run(5), 5 + 50 + 1000);
      assert.equal(x.call_unchecked(2), 20);
    });
  }
});

describe('linking errors', () => {
  const importing = (names) => {
    // a module importing env.memory, env.free (i32) -> () and the given env functions () -> ()
    const name = (s) => [s.length, ...new TextEncoder().encode(s)];
    const entries = [
      [...name('env'), ...name('memory'), 0x02, 0x00, 0x01],
      [...name('env'), ...name('free'), 0x00, 0x01],
      ...names.map((n) => [...name('env'), ...name(n), 0x00, 0x00]),
    ];
    const imports = [entries.length, ...entries.flat()];
    const types = [2, 0x60, 0, 0, 0x60, 1, 0x7f, 0];
    return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, types.length, ...types, 2, imports.length, ...imports]);
  };

  test('a missing import is named, with what is available, before anything is instantiated', async () => {
    await assert.rejects(linkModules({ app: importing(['abort', 'log_line']) }), (e) => {
      assert.ok(e instanceof LinkError, e.message);
      assert.equal(e.code, 'MISSING_IMPORT');
      assert.match(e.message, /app: env\.abort \(function\)/);
      assert.match(e.message, /app: env\.log_line \(function\)/);
      assert.doesNotMatch(e.message, /env\.free/);
      assert.match(e.message, /Available: .*linalloc\.malloc/);
      return true;
    });
    const { instances } = await linkModules({ app: importing(['abort']) }, { imports: { env: { abort: () => {} } } });
    assert.ok(instances.app);
  });

  test('overlapping static regions are refused with a --global-base to use', async () => {
    await assert.rejects(linkModules({ a: STRTAB, b: STRTAB }), (e) => e instanceof LinkError && e.code === 'OVERLAP' && /b: its static region \[0x10000, 0x14040\) overlaps a's/.test(e.message) && /--global-base=131072/.test(e.message));
  });

  test("a fixed-layout module needing more initial pages than the caller's memory offers", async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 100 });
    await assert.rejects(linkModules({ rust: RUST }, { memory }), (e) => e instanceof MemoryError && e.code === 'MEMORY_TOO_SMALL' && /has 2 pages/.test(e.message) && e.minimum === 5);
  });

  test('options.allocator names an entry of modules; another build is chosen by passing it under that name', async () => {
    await assert.rejects(linkModules({ strtab: STRTAB }, { allocator: DIST + 'linalloc-dlmalloc.wasm' }), (e) => e instanceof TypeError && /names the entry of modules/.test(e.message) && /linkModules\(\{ linalloc:/.test(e.message));
    const { heap } = await linkModules({ linalloc: DIST + 'linalloc-dlmalloc.wasm', strtab: STRTAB });
    assert.equal(heap.build, 'dlmalloc');
    const { heap: named } = await linkModules({ alloc: DIST + 'linalloc-dlmalloc.wasm', strtab: STRTAB }, { allocator: 'alloc' });
    assert.equal(named.build, 'dlmalloc');
  });

  test('a malformed module', async () => {
    const bad = readFileSync(STRTAB).subarray(0, 100);
    await assert.rejects(linkModules({ app: bad }), (e) => e instanceof LoadError && e.code === 'INVALID_WASM');
  });

  test('fixed-layout modules link into a loaded heap before its first allocation, are refused after; a side module links at any time', async () => {
    const early = await load(DIST + 'linalloc.wasm');
    const before = await linkModules({ strtab: STRTAB }, { heap: early });
    before.instances.strtab.exports.st_free(exerciseStrtab(early, before.instances.strtab.exports));
    assert.ok(early.heapStart >= early.regions.find((r) => r.module === 'strtab').end, 'the heap starts above strtab');
    const heap = await load(DIST + 'linalloc.wasm');
    const big = heap.malloc(50 * PAGE_SIZE);
    assert.ok(big);
    // the heap owns everything from its start: both fixed clients would land inside it
    for (const client of [{ rust: RUST }, { strtab: STRTAB }]) {
      await assert.rejects(linkModules(client, { heap }), (e) => e instanceof LinkError && e.code === 'OVERLAPS_HEAP' && /the running heap owns/.test(e.message) && /side module/.test(e.message));
    }
    const { instances } = await linkModules({ pic: STRTAB_PIC }, { heap });
    const t = exerciseStrtab(heap, instances.pic.exports);
    instances.pic.exports.st_free(t);
    const second = await linkModules({ pic2: STRTAB_PIC }, { heap });
    const t2 = exerciseStrtab(heap, second.instances.pic2.exports);
    second.instances.pic2.exports.st_free(t2);
    heap.free(big);
    const side = heap.regions.filter((r) => r.sideModule);
    assert.equal(side.length, 2);
    assert.ok(side[0].end <= side[1].start || side[1].end <= side[0].start, 'side modules got distinct data blocks');
  });
});

describe('fetching', () => {
  let slow;
  before(async () => { slow = await serve({ delayMs: 300 }); });
  after(() => slow.close());

  test('modules are fetched in parallel: three 300 ms responses take well under their sum', async () => {
    const t0 = performance.now();
    const { instances } = await linkModules({
      linalloc: `${slow.url}dist/linalloc.wasm`, strtab: `${slow.url}examples/link/strtab.wasm`, rust: `${slow.url}examples/link/rust-client.wasm`,
    });
    const elapsed = performance.now() - t0;
    assert.ok(instances.strtab && instances.rust);
    const ratio = elapsed / (3 * 300);
    assert.ok(ratio < 0.67, `took ${elapsed.toFixed(0)} ms = ${ratio.toFixed(2)} of the serial sum`);
  });
});
