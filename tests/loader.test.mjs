// The JS loader (js/linalloc.js) on the real dist/linalloc.wasm, in Node:
// every API call, every error class provoked for real, views across growth.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  load, Heap, Record, LinallocError, LoadError, LinkError, MemoryError, OutOfMemoryError, UseAfterFreeError, InvalidFreeError, PAGE_SIZE,
} from '../js/linalloc.js';
import { serve } from '../scripts/serve.mjs';
import { DIST } from './helpers/support.mjs';

const WASM = readFileSync(DIST + 'linalloc.wasm');

/** A minimal module that imports env.memory plus `extra` imports, exports nothing. */
function moduleWithImports(extra) {
  const name = (s) => [s.length, ...new TextEncoder().encode(s)];
  const entries = [[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]];
  for (const [mod, field] of extra) entries.push([...name(mod), ...name(field), 0x00, 0x00]); // func, type 0
  const types = [0x01, 0x60, 0x00, 0x00]; // one type: () -> ()
  const imports = [entries.length, ...entries.flat()];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, types.length, ...types, 2, imports.length, ...imports]);
}

let server;
before(async () => {
  server = await serve();
});
after(() => server.close());

describe('load()', () => {
  test('default source, idempotent', async () => {
    const a = await load();
    const b = await load();
    assert.equal(a, b);
    assert.ok(a instanceof Heap);
  });

  test('every source kind: path, file URL, http URL, Response, Promise<Response>, bytes, ArrayBuffer, Module', async () => {
    const sources = [
      DIST + 'linalloc.wasm',
      pathToFileURL(DIST + 'linalloc.wasm'),
      pathToFileURL(DIST + 'linalloc.wasm').href,
      `${server.url}dist/linalloc.wasm`,
      new URL(`${server.url}dist/linalloc-dlmalloc.wasm`),
      await fetch(`${server.url}dist/linalloc.wasm`),
      fetch(`${server.url}dist/linalloc-wee.wasm`),
      WASM,
      WASM.buffer.slice(WASM.byteOffset, WASM.byteOffset + WASM.byteLength),
      new WebAssembly.Module(WASM),
    ];
    for (const s of sources) {
      const heap = await load(s);
      const p = heap.malloc(100);
      assert.ok(p > 0 && p % 8 === 0, `malloc through ${s}`);
      heap.free(p);
      assert.equal(heap.stats().liveAllocations, 0);
    }
  });

  test('a caller memory is used as is; initial/maximum shape the loader-made one', async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 256 });
    const heap = await load(WASM, { memory });
    assert.equal(heap.memory, memory);
    const made = await load(WASM, { initial: 5, maximum: 9 });
    assert.equal(made.stats().pages, 5);
    assert.equal(made.malloc(9 * PAGE_SIZE), 0, 'cannot grow past maximum 9');
    assert.notEqual(made.malloc(4 * PAGE_SIZE), 0, 'the 5 pages it was given are the heap');
    assert.equal(made.stats().pages, 5);
  });

  test('an engine that refuses to reserve 4 GiB: the loader halves the maximum and warns once', async () => {
    // Some 32-bit and mobile browsers refuse large maxima; V8 on 64-bit does
    // not, so that refusal is simulated by wrapping the constructor.
    const Real = WebAssembly.Memory;
    const warnings = [];
    const warn = console.warn;
    console.warn = (m) => warnings.push(m);
    function Refusing(desc) {
      if ((desc.maximum ?? 0) > 16384) throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      return new Real(desc);
    }
    Refusing.prototype = Real.prototype;
    WebAssembly.Memory = Refusing;
    try {
      const a = await load(WASM);
      const b = await load(WASM, { maximum: 40000 });
      assert.equal(a.maximumPages, 16384);
      assert.equal(b.maximumPages, 10000, '40000 -> 20000 -> 10000');
      assert.ok(a.malloc(1000) > 0);
    } finally {
      WebAssembly.Memory = Real;
      console.warn = warn;
    }
    assert.equal(warnings.length, 1, 'warned once');
    assert.match(warnings[0], /could not reserve a memory with maximum 65536 pages; using maximum 16384 pages \(1024 MiB\)/);
  });

  test('wrong MIME type: falls back to arrayBuffer + instantiate with one warning', async () => {
    const plain = await serve({ wasmType: 'application/octet-stream' });
    const warnings = [];
    const orig = console.warn;
    console.warn = (m) => warnings.push(m);
    try {
      const h1 = await load(`${plain.url}dist/linalloc.wasm`);
      const h2 = await load(`${plain.url}dist/linalloc.wasm`);
      assert.ok(h1.malloc(8) && h2.malloc(8));
    } finally {
      console.warn = orig;
      await plain.close();
    }
    assert.equal(warnings.length, 1, 'warned once');
    assert.match(warnings[0], /application\/octet-stream.*application\/wasm/);
  });
});

describe('errors', () => {
  test('LoadError: HTTP 404 names the URL and status', async () => {
    const url = `${server.url}dist/missing.wasm`;
    await assert.rejects(load(url), (e) => e instanceof LoadError && e instanceof LinallocError && e.code === 'HTTP_ERROR' && e.status === 404 && e.message.includes(url));
  });

  test('LoadError: missing file on disk', async () => {
    await assert.rejects(load('./no/such/file.wasm'), (e) => e instanceof LoadError && e.code === 'NOT_FOUND' && /no such file/.test(e.message));
  });

  test('LoadError: an HTML page served instead of wasm is recognised and shown', async () => {
    const html = await serve({ wasmType: 'text/html' });
    const orig = console.warn;
    console.warn = () => {};
    try {
      // examples/plain/index.html is HTML; fetch it where a .wasm is expected
      await assert.rejects(load(`${html.url}examples/plain/index.html`), (e) => e instanceof LoadError && e.code === 'NOT_WASM' && /HTML page/.test(e.message) && /3c 21 64 6f/.test(e.message));
    } finally {
      console.warn = orig;
      await html.close();
    }
  });

  test('LoadError: damaged module bytes', async () => {
    const bad = WASM.slice(0, WASM.length >> 1);
    await assert.rejects(load(bad), (e) => e instanceof LoadError && e.code === 'INVALID_WASM');
  });

  test('LoadError: a valid module that is not linalloc lists the missing exports', async () => {
    await assert.rejects(load(moduleWithImports([])), (e) => e instanceof LoadError && e.code === 'NOT_LINALLOC' && e.missing.includes('malloc') && /malloc, free/.test(e.message));
  });

  test('LinkError: names each missing import as module.name and kind', async () => {
    const { checkImports } = await import('../js/linalloc.js');
    const mod = new WebAssembly.Module(moduleWithImports([['env', 'abort'], ['wasi', 'fd_write']]));
    assert.throws(
      () => checkImports(mod, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }, 'app.wasm'),
      (e) => e instanceof LinkError && e.code === 'MISSING_IMPORT' && /env\.abort \(function\)/.test(e.message) && /wasi\.fd_write \(function\)/.test(e.message) && !/requires a callable/.test(e.message) && e.missing.length === 2,
    );
  });

  test('MemoryError: a passed memory below the module minimum, and maximum < initial', async () => {
    await assert.rejects(load(WASM, { memory: new WebAssembly.Memory({ initial: 0 }) }), (e) => e instanceof MemoryError && e.code === 'MEMORY_TOO_SMALL' && e.pages === 0 && e.minimum === 1 && /at least 1/.test(e.message));
    await assert.rejects(load(WASM, { initial: 10, maximum: 4 }), (e) => e instanceof MemoryError && e.code === 'BAD_LIMITS' && /maximum \(4 pages\) is below initial \(10 pages\)/.test(e.message));
    await assert.rejects(load(WASM, { initial: 0 }), (e) => e instanceof MemoryError && /minimum of 1/.test(e.message));
  });

  test('OutOfMemoryError from helpers (raw malloc returns 0) with size, pages, maximum and stats', async () => {
    const heap = await load(WASM, { initial: 2, maximum: 4 });
    assert.equal(heap.malloc(10 * PAGE_SIZE), 0, 'raw malloc returns 0 like C');
    assert.throws(() => heap.writeBytes(new Uint8Array(10 * PAGE_SIZE)), (e) => e instanceof OutOfMemoryError && e.code === 'OUT_OF_MEMORY' && e.size === 10 * PAGE_SIZE && e.maximum === 4 && e.stats.failedAllocations === 2 && /maximum 4 pages/.test(e.message));
    const recs = [];
    assert.throws(() => { for (;;) recs.push(heap.createRecord(1, 2, 3)); }, OutOfMemoryError);
    assert.ok(recs.length > 1000);
  });

  test('UseAfterFreeError for Record methods after free()', async () => {
    const heap = await load(WASM);
    const r = heap.createRecord(1, 2, 3);
    r.free();
    assert.equal(r.ptr, 0);
    for (const use of [() => r.id, () => r.x, () => r.y, () => { r.x = 1; }, () => r.toJSON(), () => r.free()]) {
      assert.throws(use, (e) => e instanceof UseAfterFreeError && e.code === 'USE_AFTER_FREE');
    }
    assert.equal(heap.stats().liveAllocations, 0, 'the second free() did not reach the allocator');
  });

  test('API misuse: TypeError/RangeError saying what was expected, nothing allocated', async () => {
    const heap = await load(WASM);
    const before = heap.stats();
    for (const v of [-1, 1.5, NaN, 2 ** 32, Infinity]) assert.throws(() => heap.malloc(v), (e) => e instanceof RangeError && /whole number from 0 to 4294967295/.test(e.message));
    for (const v of ['8', null, undefined, {}]) assert.throws(() => heap.malloc(v), (e) => e instanceof TypeError && /must be a number/.test(e.message));
    assert.throws(() => heap.free(-8), (e) => e instanceof InvalidFreeError && e.code === 'INVALID_FREE' && /ptr >>> 0/.test(e.message), 'a negative pointer is no block');
    assert.throws(() => heap.calloc(1, -1), RangeError);
    assert.throws(() => heap.realloc(0, 0.5), RangeError);
    assert.throws(() => heap.alignedAlloc('16', 8), TypeError);
    assert.throws(() => heap.writeString(42), TypeError);
    assert.throws(() => heap.writeArray([1, 2]), TypeError);
    assert.throws(() => heap.readBytes(heap.memory.buffer.byteLength - 2, 10), RangeError);
    await assert.rejects(load(WASM, { memory: {} }), TypeError);
    await assert.rejects(load(42), TypeError);
    assert.deepEqual(heap.stats(), before);
  });
});

describe('Heap', () => {
  test('malloc/calloc/realloc/alignedAlloc/free return unsigned pointers with C semantics', async () => {
    const heap = await load(WASM);
    const p = heap.malloc(10);
    heap.u8.set([1, 2, 3], p);
    const q = heap.realloc(p, 100_000);
    assert.deepEqual([...heap.u8.subarray(q, q + 3)], [1, 2, 3]);
    const z = heap.calloc(10, 10);
    assert.ok(heap.u8.subarray(z, z + 100).every((b) => b === 0));
    const a = heap.alignedAlloc(4096, 10);
    assert.equal(a % 4096, 0);
    assert.equal(heap.alignedAlloc(3, 10), 0);
    assert.equal(heap.realloc(q, 0), 0);
    heap.free(z);
    heap.free(a);
    heap.free(0);
    assert.equal(heap.stats().liveAllocations, 0);
  });

  test('bytes, strings, arrays round-trip', async () => {
    const heap = await load(WASM);
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const pb = heap.writeBytes(bytes);
    const copy = heap.readBytes(pb, 4);
    assert.deepEqual(copy, bytes);
    heap.u8[pb] = 9;
    assert.equal(copy[0], 0, 'readBytes returns a copy');
    const text = 'héllo, wörld 🌍';
    const ps = heap.writeString(text);
    assert.equal(heap.readString(ps), text);
    assert.equal(heap.readString(ps, 5), 'hé' + 'll');
    assert.equal(heap.u8[ps + new TextEncoder().encode(text).length], 0, 'NUL-terminated');
    for (const arr of [new Float64Array([1.5, -2, Math.PI]), new Int32Array([-1, 2, 3]), new Uint16Array([1, 65535]), new Float32Array([0.5])]) {
      const pa = heap.writeArray(arr);
      assert.equal(pa % arr.BYTES_PER_ELEMENT, 0);
      assert.deepEqual(heap.readArray(arr.constructor, pa, arr.length), arr);
    }
  });

  test('records: fields, setters, toJSON, record(ptr), survive growth', async () => {
    const heap = await load(WASM, { initial: 2 });
    const r = heap.createRecord(7, 1.25, -2.5);
    assert.ok(r instanceof Record);
    assert.deepEqual(r.toJSON(), { ptr: r.ptr, id: 7, x: 1.25, y: -2.5 });
    r.id = 8; r.x = 3; r.y = 4;
    const dv = heap.dataView;
    assert.deepEqual([dv.getUint32(r.ptr, true), dv.getFloat64(r.ptr + 8, true), dv.getFloat64(r.ptr + 16, true)], [8, 3, 4]);
    const alias = heap.record(r.ptr);
    assert.equal(alias.x, 3);
    const buf = heap.memory.buffer;
    heap.malloc(64 * PAGE_SIZE);
    assert.equal(buf.byteLength, 0, 'the memory grew and detached the old buffer');
    assert.deepEqual(r.toJSON(), { ptr: r.ptr, id: 8, x: 3, y: 4 });
  });

  test('views stay valid across 1000 growths; emscripten aliases are fresh too', async () => {
    const heap = await load(WASM, { initial: 2 });
    const p = heap.malloc(8);
    heap.f64[p / 8] = 42.5;
    let grown = 0;
    let last = heap.memory.buffer;
    for (let i = 0; grown < 1000; i++) {
      assert.ok(i < 5000, 'memory stopped growing');
      heap.malloc(PAGE_SIZE); // needs fresh pages
      if (heap.memory.buffer !== last) { grown++; last = heap.memory.buffer; }
      const views = [heap.u8, heap.i8, heap.u16, heap.i16, heap.i32, heap.u32, heap.f32, heap.f64, heap.dataView, heap.HEAP8, heap.HEAPU8, heap.HEAP16, heap.HEAPU16, heap.HEAP32, heap.HEAPU32, heap.HEAPF32, heap.HEAPF64];
      for (const v of views) assert.equal(v.buffer, heap.memory.buffer, 'view is over the current buffer');
      assert.equal(heap.f64[p / 8], 42.5);
      assert.equal(heap.HEAPF64[p / 8], 42.5);
    }
    assert.ok(grown >= 1000, `memory grew ${grown} times`);
    const q = heap._malloc(16);
    assert.ok(q > 0);
    heap._free(q);
  });

  test('pointers above 2 GiB are positive and the helpers read and write there', async () => {
    const heap = await load(WASM, { initial: 2, maximum: 65536 });
    const fill = [];
    while (heap.memory.buffer.byteLength < 2 ** 31 + PAGE_SIZE) fill.push(heap.malloc(0x0ff0_0000));
    const p = heap.writeString('above 2 GiB');
    assert.ok(p > 2 ** 31, `pointer ${p}`);
    assert.equal(heap.readString(p), 'above 2 GiB');
    const r = heap.createRecord(0xfffffffe, 1e300, -1e-300);
    assert.ok(r.ptr > 2 ** 31);
    assert.deepEqual(r.toJSON(), { ptr: r.ptr, id: 0xfffffffe, x: 1e300, y: -1e-300 });
    const a = heap.writeArray(new Float64Array([7, 8]));
    assert.deepEqual([...heap.readArray(Float64Array, a, 2)], [7, 8]);
    heap.free(p);
    r.free();
  });

  test('stats() and tracking: liveBlocks with sizes and allocation stacks', async () => {
    const heap = await load(WASM, { track: true });
    assert.equal(heap.tracking, true);
    const p = heap.malloc(100);
    const r = heap.createRecord(1, 2, 3);
    const s = heap.writeString('abc');
    const blocks = heap.liveBlocks();
    assert.deepEqual(blocks.map((b) => [b.ptr, b.size]).sort((a, b) => a[0] - b[0]), [[p, 100], [r.ptr, 24], [s, 4]].sort((a, b) => a[0] - b[0]));
    assert.match(blocks[0].stack, /loader\.test\.mjs/);
    heap.free(p);
    r.free();
    assert.deepEqual(heap.liveBlocks().map((b) => b.ptr), [s]);
    const st = heap.stats();
    assert.deepEqual(Object.keys(st).sort(), ['corruptions', 'failedAllocations', 'heapBytes', 'inUseBytes', 'invalidFrees', 'liveAllocations', 'memoryBytes', 'pages', 'peakInUseBytes', 'totalAllocations']);
    assert.equal(st.inUseBytes, 4);
    assert.equal(st.memoryBytes, st.pages * PAGE_SIZE);
    heap.tracking = false;
    assert.throws(() => heap.liveBlocks(), (e) => e instanceof LinallocError && e.code === 'NOT_TRACKING' && /track: true/.test(e.message), 'no silent [] without tracking');
  });
});
