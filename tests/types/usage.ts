// Every member docs/LOADER.md documents, used as a TypeScript user would:
// tests/types.test.mjs compiles this with `tsc --strict` against
// js/linalloc.d.ts (no casts, no `any`), then runs the output in Node, so
// the types cannot drift from the runtime. It also checks that every name
// LOADER.md documents and every public member of the runtime appears here.
import {
  load, attach, linkModules, compileSource, createMemory, checkImports,
  Heap, RecordView, PAGE_SIZE, MAX_PAGES, ABI_EXPORTS, WORKER_STACK,
  LinallocError, LoadError, LinkError, MemoryError, OutOfMemoryError, UseAfterFreeError,
  DoubleFreeError, InvalidFreeError, HeapCorruptionError,
} from '../../js/linalloc.js';
import type { LoadOptions, LinkOptions, HeapStats, LiveBlock, RecordJSON, Region, WorkerInit, Source, Exports, WasmFunction, LinkedInstance, WasiLike } from '../../js/linalloc.js';
import * as lin from '../../js/linalloc.js';

const here = (f: string): URL => new URL(f, import.meta.url);
const DIST = '../../dist/';
function ok(cond: boolean, what: string): void {
  if (!cond) throw new Error(`usage.ts: ${what}`);
}
/** Runs `f`, which must throw an error of class `E`; returns it. */
function throws<E extends Error>(E: abstract new (...args: never[]) => E, f: () => unknown): E {
  try {
    f();
  } catch (e) {
    if (e instanceof E) return e;
    throw e;
  }
  throw new Error(`usage.ts: expected ${E.name}`);
}
async function rejects<E extends Error>(E: abstract new (...args: never[]) => E, p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof E) return e;
    throw e;
  }
  throw new Error(`usage.ts: expected ${E.name}`);
}

async function heapApi(): Promise<void> {
  const heap: Heap = await load();
  ok(heap === (await load()), 'load() without arguments returns the same heap');
  const p: number = heap.malloc(32);
  const q: number = heap.calloc(4, 8);
  const r2: number = heap.realloc(q, 64);
  const a: number = heap.alignedAlloc(64, 100);
  ok(p > 0 && r2 > 0 && a % 64 === 0, 'allocation');
  ok(heap.blockSize(p) === 32 && heap.blockSize(p + 8) === null, 'blockSize');
  const start: number | null = heap.heapStart;
  const reserved: number = heap.reserved;
  const build: string | null = heap.build;
  ok(start !== null && start > 0 && reserved >= 0 && build === 'lin', `heapStart ${start}, reserved ${reserved}, build ${build}`);
  ok(heap.reserveBelowHeap(16) === true, 'reserveBelowHeap below the heap start');
  // views: typed as the engine's typed arrays, never stale
  heap.u8[p] = 1; heap.i8[p + 1] = -1; heap.u16[(p >>> 1) + 1] = 2; heap.i16[(p >>> 1) + 2] = -2;
  heap.u32[(p >>> 2) + 4] = 3; heap.i32[(p >>> 2) + 5] = -3; heap.f32[(p >>> 2) + 6] = 0.5; heap.f64[(p >>> 3) + 1] = 0.25;
  ok(heap.dataView.getUint8(p) === 1 && heap.HEAPU8[p] === 1 && heap.HEAP8[p + 1] === -1, 'u8/i8/dataView');
  ok(heap.HEAPU16[(p >>> 1) + 1] === 2 && heap.HEAP16[(p >>> 1) + 2] === -2 && heap.HEAPU32[(p >>> 2) + 4] === 3, 'u16/i16/u32');
  ok(heap.HEAP32[(p >>> 2) + 5] === -3 && heap.HEAPF32[(p >>> 2) + 6] === 0.5 && heap.HEAPF64[(p >>> 3) + 1] === 0.25, 'i32/f32/f64');
  const e: number = heap._malloc(8);
  heap._free(e);
  // copy helpers
  const b: number = heap.writeBytes(new Uint8Array([1, 2, 3]));
  const bytes: Uint8Array = heap.readBytes(b, 3);
  const s: number = heap.writeString('héllo');
  const str: string = heap.readString(s);
  const arr: number = heap.writeArray(new Float64Array([1.5, 2.5]));
  const back: Float64Array = heap.readArray(Float64Array, arr, 2);
  ok(bytes[2] === 3 && str === 'héllo' && heap.readString(s, 1) === 'h' && back[1] === 2.5, 'copy helpers');
  // records: RecordView, not TypeScript's Record<K, V>, which stays usable
  const rec: RecordView = heap.createRecord(1, 0.5, 2.25);
  rec.x += 1; rec.y = -1; rec.id = 7;
  const json: RecordJSON = rec.toJSON();
  const again: RecordView = heap.record(rec.ptr);
  const byName: Record<string, number> = { id: again.id, x: again.x, y: again.y };
  ok(json.id === 7 && byName.x === 1.5 && json.ptr === rec.ptr, 'records');
  const old: lin.Record = rec; // the deprecated name still works, as type and value
  ok(lin.Record === RecordView && old instanceof lin.Record, 'Record is an alias of RecordView');
  rec.free();
  const uaf = throws(UseAfterFreeError, () => rec.x);
  ok(uaf.code === 'USE_AFTER_FREE' && uaf instanceof LinallocError, 'UseAfterFreeError');
  // exports are callable without a cast
  const x: Exports = heap.exports;
  const fn: WasmFunction = x.stats_live_allocations;
  ok(typeof fn() === 'number' && heap.exports.heap_block_size(p) === 32, 'exports');
  const st: HeapStats = heap.stats();
  ok(st.inUseBytes > 0 && st.peakInUseBytes >= st.inUseBytes && st.liveAllocations > 0 && st.totalAllocations > 0, 'stats');
  ok(st.failedAllocations >= 0 && st.heapBytes >= 0 && st.invalidFrees >= 0 && st.corruptions >= 0 && st.memoryBytes === st.pages * PAGE_SIZE, 'stats');
  ok(heap.memory instanceof WebAssembly.Memory && heap.startPages > 0 && heap.maximumPages === MAX_PAGES, 'memory');
  const regions: Region[] = heap.regions;
  ok(regions.every((g) => g.start <= g.end && typeof g.module === 'string' && !g.sideModule), 'regions');
  ok(!heap.checked && !heap.shared, 'flags');
  heap.check(); // a no-op on release builds
  heap.tracking = true;
  const t: number = heap.malloc(40);
  const blocks: LiveBlock[] = heap.liveBlocks();
  ok(blocks.length === 1 && blocks[0].ptr === t && blocks[0].size === 40 && typeof blocks[0].stack === 'string', 'liveBlocks');
  heap.tracking = false;
  for (const ptr of [p, r2, a, b, s, arr, t]) heap.free(ptr);
  throws(Error, () => heap.reset()); // only the bump build resets
  const bump = await load(here(DIST + 'linalloc-bump.wasm'));
  bump.malloc(100);
  bump.reset();
  ok(bump.stats().liveAllocations === 0, 'reset');
}

async function options(): Promise<void> {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 64 });
  const opts: LoadOptions = { memory, reserve: 32 * 1024, track: true, imports: {} };
  const heap = await load(here(DIST + 'linalloc-dlmalloc.wasm'), opts);
  ok(heap.memory === memory && heap.reserved >= 32 * 1024 && heap.tracking && heap.build === 'dlmalloc', 'memory, reserve, track');
  const small = await load(here(DIST + 'linalloc-talc.wasm'), { initial: 2, maximum: 3 });
  ok(small.maximumPages === 3 && small.startPages === 2, 'initial, maximum');
  const oom = throws(OutOfMemoryError, () => small.writeBytes(new Uint8Array(4 * PAGE_SIZE)));
  ok(oom.code === 'OUT_OF_MEMORY' && oom.size > 0 && oom.pages > 0 && oom.maximum === 3 && oom.stats.failedAllocations > 0, 'OutOfMemoryError');
  const fixed = new WebAssembly.Memory({ initial: 2, maximum: 2 });
  const me = await rejects(MemoryError, load(here(DIST + 'linalloc.wasm'), { memory: fixed, reserve: 4 * PAGE_SIZE }));
  ok(me.code === 'RESERVE_FAILED', `MemoryError ${me.code}`);
  const tiny = await rejects(MemoryError, load(here(DIST + 'linalloc.wasm'), { initial: 4, maximum: 2 }));
  ok(tiny.code === 'BAD_LIMITS' && tiny.initial === 4 && tiny.maximum === 2 && (tiny.pages ?? tiny.minimum ?? 0) >= 0, 'MemoryError fields');
  const le = await rejects(LoadError, load(here('no-such-file.wasm')));
  ok(le.code === 'NOT_FOUND' && (le.url === undefined || typeof le.url === 'string') && (le.status ?? 0) >= 0 && (le.missing ?? []).length >= 0, `LoadError ${le.code}`);
  const { memory: m2, maximum } = createMemory(2, 16);
  ok(m2.buffer.byteLength === 2 * PAGE_SIZE && maximum === 16, 'createMemory');
}

async function checkedBuild(): Promise<void> {
  const heap = await load(undefined, { checked: true, track: true });
  ok(heap.checked, 'checked');
  const p = heap.malloc(16);
  heap.free(p);
  const df = throws(DoubleFreeError, () => heap.free(p));
  ok(df.code === 'DOUBLE_FREE' && df.ptr === p && df.size >= 0 && df.at >= 0 && typeof df.allocationStack === 'string', 'DoubleFreeError');
  const q = heap.malloc(16);
  const inv = throws(InvalidFreeError, () => heap.free(q + 8));
  ok(inv.code === 'INVALID_FREE' && inv.ptr >= 0, `InvalidFreeError ${inv.code}`);
  heap.u8[q + 16] ^= 0xff; // one byte past the block
  const hc = throws(HeapCorruptionError, () => heap.check());
  ok(hc.code === 'OVERFLOW' && hc.ptr === q && hc.at === q + 16, `HeapCorruptionError ${hc.code}`);
}

async function linking(): Promise<void> {
  const sources: { [key: string]: Source } = { linalloc: here(DIST + 'linalloc.wasm'), app: here('../../examples/link/strtab.wasm') };
  const opts: LinkOptions = { stackSize: 65536, allocator: 'linalloc' };
  // WASI clients get a WASI instance (node:wasi's in Node); typed here, run by tests/link*.test.mjs
  const wasi: WasiLike = { wasiImport: {}, start: () => 0, initialize: () => undefined };
  const withWasi: LinkOptions = { wasi: { app: wasi } };
  ok(typeof withWasi.wasi === 'object', 'wasi');
  const { heap, instances, regions } = await linkModules(sources, opts);
  const app: LinkedInstance = instances.app;
  const table: number = app.exports.st_new(16); // the documented use: call a client's export directly
  const word = heap.writeString('word');
  ok(instances.app.exports.st_intern(table, word) === instances.app.exports.st_intern(table, word), 'linked calls');
  ok(instances.linalloc.exports.malloc === heap.exports.malloc && regions.some((g) => g.module === 'app'), 'regions');
  const { module, bytes, url } = await compileSource(here('../../examples/link/strtab.wasm'));
  ok(module instanceof WebAssembly.Module && (bytes === null || bytes.length > 0) && typeof url === 'string', 'compileSource');
  const le = throws(LinkError, () => checkImports(module, { env: {} }, 'strtab'));
  ok(le.code === 'MISSING_IMPORT' && (le.missing ?? []).some((m) => m.module === 'env' && typeof m.name === 'string' && m.kind.length > 0), 'LinkError');
  const more = await linkModules({ pic: here('../../examples/link/strtab-pic.wasm') }, { heap }); // a side module, into the running heap
  ok(more.heap === heap && more.instances.pic.exports.st_new(8) > 0, 'link into a running heap');
}

async function threads(): Promise<void> {
  const heap = await load(undefined, { shared: true, initial: 2, maximum: 256 });
  ok(heap.shared && heap.build !== null, 'shared');
  const init: WorkerInit = heap.workerInit(); // posted to a worker in real use
  ok(init.linalloc === 'worker' && init.module instanceof WebAssembly.Module && init.memory === heap.memory && init.stack > 0 && init.stackSize === WORKER_STACK && init.maximum === 256, 'workerInit');
  const there: Heap = attach(init); // in the worker
  const r = there.createRecord(9, 1, 2);
  ok(heap.record(r.ptr).id === 9, 'one heap, two instances');
  r.free();
  heap.workerDone(init);
}

async function main(): Promise<void> {
  ok(ABI_EXPORTS.includes('malloc') && MAX_PAGES === 65536, 'constants');
  const base: LinallocError = new LinallocError('message', 'CODE');
  ok(base.code === 'CODE' && base instanceof Error, 'LinallocError');
  await heapApi();
  await options();
  await checkedBuild();
  await linking();
  await threads();
  console.log('usage.ts: ok');
}

main().catch((e: unknown) => {
  console.error(e);
  throw e;
});
