// One error family (issue 23): every misuse the loader reports is a
// LinallocError subclass with a stable code, and a bad argument a TypeError
// or RangeError with a code too; each message says what happened and what
// to do. Every code the loader can throw is in docs/LOADER.md's table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load, linkModules, LinallocError, LoadError, InvalidFreeError, DoubleFreeError } from '../js/linalloc.js';
import { FAULTS } from '../js/abi.js';
import { DIST, BACKENDS, CHECKED } from './helpers/support.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RELEASE = { ...BACKENDS, bump: 'linalloc-bump.wasm' };
const invalidFree = (ptr) => (e) =>
  e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && Object.is(e.ptr, ptr) &&
  /nothing was freed/.test(e.message) && /Pass exactly what malloc returned/.test(e.message);

describe('stray frees are InvalidFreeError, on every build', () => {
  for (const [backend, file] of Object.entries(RELEASE)) {
    test(`${backend}: free and realloc of a pointer that is no live block`, async () => {
      const heap = await load(DIST + file);
      const p = heap.malloc(40);
      const size = heap.memory.buffer.byteLength;
      const before = heap.stats();
      for (const bad of [p + 4, p + 3, 17, 0xfffffff8, size + 8, -8, 2 ** 32, 0.5, NaN]) {
        assert.throws(() => heap.free(bad), invalidFree(bad), `free(${bad})`);
        if (bad !== 17) assert.throws(() => heap.realloc(bad, 64), invalidFree(bad), `realloc(${bad}, 64)`);
      }
      assert.throws(() => heap.realloc(p + 4, 0), invalidFree(p + 4), 'realloc(p, 0) frees, so it refuses as free does');
      assert.equal(heap.stats().liveAllocations, before.liveAllocations, 'nothing was freed');
      assert.equal(heap.blockSize(p), 40);
      const q = heap.malloc(16);
      heap.free(q);
      assert.throws(() => heap.free(q), (e) => e instanceof DoubleFreeError && e.code === 'DOUBLE_FREE' && e.ptr === q);
      for (const notANumber of ['8', undefined, null, {}]) assert.throws(() => heap.free(notANumber), { name: 'TypeError', code: 'BAD_POINTER' });
      heap.free(p);
    });
  }

  test('checked: wild pointers out of range (beyond the memory, ≥ 2³², negative) are InvalidFreeError too', async () => {
    const heap = await load(undefined, { checked: true });
    const p = heap.malloc(24);
    for (const bad of [heap.memory.buffer.byteLength + 4096, 0xfffffff8, 0xffffffff, 2 ** 32 + 8, -8, -(2 ** 31), 1.5]) {
      assert.throws(() => heap.free(bad), (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && Object.is(e.ptr, bad), `free(${bad})`);
      assert.throws(() => heap.realloc(bad, 8), (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE', `realloc(${bad}, 8)`);
    }
    heap.free(p);
    assert.equal(heap.stats().liveAllocations, 0);
  });
});

describe('options', () => {
  test('load(source, { checked: true }) with a build that is not the checked one refuses: NOT_CHECKED_BUILD', async () => {
    for (const file of Object.values(RELEASE)) {
      await assert.rejects(load(DIST + file, { checked: true }), (e) =>
        e instanceof LoadError && e.code === 'NOT_CHECKED_BUILD' && e.message.includes(file) &&
        /load\(undefined, \{ checked: true \}\)/.test(e.message));
    }
    const explicit = await load(DIST + CHECKED, { checked: true });
    assert.equal(explicit.checked, true);
    const compiled = await load(new WebAssembly.Module(readFileSync(DIST + CHECKED)), { checked: true });
    assert.equal(compiled.build, 'checked');
  });

  test('unknown options are refused naming the valid ones; linkModules-only options say so', async () => {
    const unknown = (name, also) => (e) =>
      e instanceof TypeError && e.code === 'UNKNOWN_OPTION' && e.message.includes(`unknown option ${name}`) &&
      /valid options: memory, initial, maximum, track/.test(e.message) && (!also || also.test(e.message));
    await assert.rejects(load(undefined, { maximun: 16 }), unknown('maximun'));
    for (const k of ['stackSize', 'allocator', 'heap']) {
      await assert.rejects(load(undefined, { [k]: 1 }), unknown(k, /of linkModules\(\), not load\(\)/), k);
      await assert.rejects(load(DIST + 'linalloc.wasm', { [k]: 1 }), unknown(k), k);
    }
    await assert.rejects(load(undefined, 5), { name: 'TypeError', code: 'BAD_OPTION' });
    await assert.rejects(load(undefined, { shared: true, checked: true }), { name: 'TypeError', code: 'BAD_OPTION' });
    await assert.rejects(load(undefined, { memory: {} }), { name: 'TypeError', code: 'BAD_OPTION' });
    // linkModules still takes them
    const { heap } = await linkModules({ linalloc: DIST + 'linalloc.wasm' }, { stackSize: 65536, allocator: 'linalloc' });
    assert.ok(heap.malloc(8) > 0);
  });
});

describe('arguments', () => {
  test('malloc(undefined) and friends say what they got; each a TypeError/RangeError with a code', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    const got = [
      [undefined, /got undefined \(a missing argument\?\)$/],
      [null, /got null$/],
      ['8', /got the string "8"$/],
      [{}, /got an object$/],
      [[8], /got an array$/],
      [true, /got boolean true$/],
    ];
    for (const [v, message] of got) {
      const said = (e) => e instanceof TypeError && e.code === 'BAD_SIZE' && message.test(e.message) && !/undefined undefined/.test(e.message);
      assert.throws(() => heap.malloc(v), said, String(v));
    }
    assert.throws(() => heap.calloc(1, -1), { name: 'RangeError', code: 'BAD_SIZE' });
    assert.throws(() => heap.blockSize(-1), { name: 'RangeError', code: 'BAD_POINTER' });
    assert.throws(() => heap.readString('x'), { name: 'TypeError', code: 'BAD_POINTER' });
    const end = heap.memory.buffer.byteLength;
    for (const [call, name, code] of [
      [() => heap.writeString(42), 'TypeError', 'BAD_ARGUMENT'],
      [() => heap.writeBytes('abc'), 'TypeError', 'BAD_ARGUMENT'],
      [() => heap.writeArray([1, 2]), 'TypeError', 'BAD_ARGUMENT'],
      [() => heap.readArray(Array, 8, 1), 'TypeError', 'BAD_ARGUMENT'],
      [() => heap.readArray(Float64Array, 4, 1), 'RangeError', 'BAD_POINTER'],
      [() => heap.readBytes(end - 2, 10), 'RangeError', 'OUT_OF_BOUNDS'],
    ]) assert.throws(call, { name, code }, String(call));
    heap.u8.fill(1, end - 16, end);
    assert.throws(() => heap.readString(end - 16), { name: 'RangeError', code: 'OUT_OF_BOUNDS', message: /no NUL terminator .* pass the length/ });
    await assert.rejects(load(42), { name: 'TypeError', code: 'BAD_SOURCE', message: /cannot load from number 42/ });
    await assert.rejects(load(DIST + 'linalloc.wasm', { reserve: '1' }), { name: 'TypeError', code: 'BAD_OPTION', message: /got the string "1"/ });
    assert.equal(heap.stats().totalAllocations, 0, 'nothing allocated');
  });

  test('record fields are checked like sizes: createRecord(1, \'a\', {}) and rec.x = \'a\' throw, nothing stored or allocated', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    assert.throws(() => heap.createRecord(1, 'a', {}), { name: 'TypeError', code: 'BAD_FIELD', message: /field x must be a number, got the string "a"/ });
    assert.throws(() => heap.createRecord(1, 0, {}), { name: 'TypeError', code: 'BAD_FIELD', message: /field y must be a number, got an object/ });
    assert.throws(() => heap.createRecord(1, 8n, 0), { name: 'TypeError', code: 'BAD_FIELD', message: /got the bigint 8n \(pass Number\(value\)\)/ });
    assert.throws(() => heap.createRecord('1', 0, 0), { name: 'TypeError', code: 'BAD_SIZE', message: /record id must be a number, got the string "1"/ });
    assert.throws(() => heap.createRecord(-1, 0, 0), { name: 'RangeError', code: 'BAD_SIZE' });
    assert.equal(heap.stats().totalAllocations, 0);
    const r = heap.createRecord(1, 2, 3);
    assert.throws(() => { r.x = 'a'; }, { code: 'BAD_FIELD' });
    assert.throws(() => { r.y = undefined; }, { code: 'BAD_FIELD' });
    assert.throws(() => { r.id = -1; }, { code: 'BAD_SIZE' });
    assert.throws(() => { r.id = '2'; }, { code: 'BAD_SIZE' });
    assert.deepEqual(r.toJSON(), { ptr: r.ptr, id: 1, x: 2, y: 3 }, 'nothing stored');
    r.x = NaN; // a number: stored as such
    assert.ok(Number.isNaN(r.x));
    r.free();
  });

  test('record(ptr) of something that is no record: NOT_A_RECORD (0 included); reset() on a build without it: NOT_BUMP_BUILD', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    const small = heap.malloc(8);
    for (const [ptr, message] of [[0, /not the start of a live block/], [small, /only 8 bytes/], [small + 8, /not the start of a live block/]]) {
      assert.throws(() => heap.record(ptr), (e) =>
        e instanceof LinallocError && e.code === 'NOT_A_RECORD' && e.ptr === ptr && message.test(e.message) && /createRecord/.test(e.message));
    }
    assert.throws(() => heap.reset(), (e) => e instanceof LinallocError && e.code === 'NOT_BUMP_BUILD' && /linalloc-bump\.wasm/.test(e.message));
  });

  test('liveBlocks() without tracking throws NOT_TRACKING saying to load with track (it returned [] silently)', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    heap.malloc(8);
    assert.throws(() => heap.liveBlocks(), (e) => e instanceof LinallocError && e.code === 'NOT_TRACKING' && /\{ track: true \}/.test(e.message));
    heap.tracking = true;
    const p = heap.malloc(8);
    assert.deepEqual(heap.liveBlocks().map((b) => b.ptr), [p], 'blocks allocated while tracking');
  });
});

describe('messages', () => {
  test('a missing file says where the builds are for npm users and clones, and how relative paths resolve; no "make build"', async () => {
    await assert.rejects(load('dist/linalloc-nope.wasm'), (e) => {
      assert.ok(e instanceof LoadError && e.code === 'NOT_FOUND', e.message);
      assert.match(e.message, /could not read dist\/linalloc-nope\.wasm: no such file/);
      assert.match(e.message, /node_modules\/linalloc\/dist\/ when installed from npm/);
      assert.match(e.message, /import\.meta\.resolve\('linalloc\/dist\/linalloc-mt\.wasm'\)/);
      assert.match(e.message, new RegExp(`current directory \\(${process.cwd().replace(/[/\\]/g, '.')}\\)`));
      assert.doesNotMatch(e.message, /make build/);
      return true;
    });
    await assert.rejects(load(ROOT + 'no/such/app.wasm'), (e) =>
      e.code === 'NOT_FOUND' && /Check the path\.$/.test(e.message) && !/linalloc's builds|current directory|make build/.test(e.message));
  });

  test('allocation stacks start at the caller: no loader frames (Tracker.add, Heap.malloc, writeString)', async () => {
    const heap = await load(undefined, { checked: true, track: true });
    const p = heap.malloc(40);
    const s = heap.writeString('abc');
    const r = heap.createRecord(1, 2, 3);
    for (const b of heap.liveBlocks()) {
      const [head, first] = b.stack.split('\n');
      assert.match(head, /allocated here/);
      assert.match(first, /errors\.test\.mjs/, `block ${b.ptr}: the first frame is the caller's: ${first}`);
      assert.doesNotMatch(b.stack, /js\/(heap|tracking|heap-data)\.js/);
    }
    heap.free(p);
    assert.throws(() => heap.free(p), (e) => {
      const frames = e.message.split('allocated at:\n')[1].split('\n');
      assert.match(frames[0], /errors\.test\.mjs/, frames[0]);
      assert.doesNotMatch(e.message, /Tracker\.add|Heap\.malloc/);
      assert.match(e.allocationStack.split('\n')[1], /errors\.test\.mjs/);
      return true;
    });
    heap.free(s);
    r.free();
  });

  test('SIZE_MISMATCH suggests track: true only when tracking is off', async () => {
    for (const track of [false, true]) {
      const heap = await load(undefined, { checked: true, track });
      const p = heap.exports.alloc(100, 64) >>> 0;
      assert.throws(() => heap.exports.dealloc(p, 99, 64), (e) => {
        assert.equal(e.code, 'SIZE_MISMATCH');
        if (track) {
          assert.doesNotMatch(e.message, /track: true/);
          assert.match(e.message, /not allocated through this Heap's methods, so tracking has no stack for it/);
        } else {
          assert.match(e.message, /load with \{ track: true \} to see where it was allocated/);
        }
        return true;
      });
    }
  });
});

test('wee_alloc on a caller-made fixed memory is refused: WEE_FIXED_MEMORY (every malloc would return 0)', async () => {
  const fixed = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  await assert.rejects(load(DIST + 'linalloc-wee.wasm', { memory: fixed }), (e) =>
    e instanceof LoadError && e.code === 'WEE_FIXED_MEMORY' && /cannot grow \((4 pages, its maximum|memory\.grow failed at 4 pages)\)/.test(e.message) &&
    /dist\/linalloc\.wasm/.test(e.message));
  assert.equal(fixed.buffer.byteLength, 4 * 65536, 'the fixed memory is untouched');
  const growable = await load(DIST + 'linalloc-wee.wasm', { memory: new WebAssembly.Memory({ initial: 4, maximum: 64 }) });
  const p = growable.malloc(1000);
  assert.ok(p > 0);
  assert.equal(growable.stats().liveAllocations, 1, 'the probe allocation was freed again');
  const unbounded = await load(DIST + 'linalloc-wee.wasm', { memory: new WebAssembly.Memory({ initial: 4 }) });
  assert.ok(unbounded.malloc(1000) > 0);
});

describe('docs/LOADER.md', () => {
  // every code the loader's modules pass to an error: `, 'CODE'` then `,` or `)`
  const CODE = /,\s*'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)'\s*[,)]/g;
  const thrown = new Set(Object.keys(FAULTS));
  for (const f of readdirSync(ROOT + 'js').filter((n) => n.endsWith('.js'))) {
    for (const [, code] of readFileSync(`${ROOT}js/${f}`, 'utf8').matchAll(CODE)) thrown.add(code);
  }
  const doc = readFileSync(ROOT + 'docs/LOADER.md', 'utf8');
  const start = doc.indexOf('\n## Errors\n');
  const table = doc.slice(start, doc.indexOf('\n## ', start + 1));
  // the codes in each row's first cell
  const firstCells = [...table.matchAll(/^\|.*$/gm)].map(([row]) => row.split('|')[1]);
  const documented = new Set(firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])));

  test('the error table lists every code the loader can throw, and none it cannot', () => {
    assert.ok(thrown.size > 40 && thrown.has('HEAP_FAILED') && thrown.has('OUT_OF_MEMORY') && thrown.has('OVERFLOW'), `the scan found ${[...thrown]}`);
    assert.deepEqual([...thrown].filter((c) => !documented.has(c)).sort(), [], 'codes thrown but missing from the table in docs/LOADER.md');
    assert.deepEqual([...documented].filter((c) => !thrown.has(c)).sort(), [], 'codes in the table that nothing throws');
  });
});
