// Loading the allocator: options, checking that a module is a linalloc
// allocator, finding or creating its memory, claiming that memory for one
// heap, and instantiating it into a Heap.

import { ABI, ABI_EXPORTS, CHECKED_EXPORTS, THREADS_ABI } from './abi.js';
import { LinallocError, LinkError, LoadError, MemoryError, coded, describe, hex } from './errors.js';
import { compileSource, layoutOf } from './fetch.js';
import { Heap } from './heap.js';
import { INTERNAL } from './internal.js';
import { MAX_PAGES, PAGE_SIZE, createMemory, notIsolated, sharedMemoryWorks } from './memory.js';
import { isSharedBuffer } from './views.js';
import { exportSignature, readOwnerTag, staticRegion } from './wasm-info.js';

/** The options of `load()`. */
const LOAD_OPTIONS = ['memory', 'initial', 'maximum', 'track', 'imports', 'checked', 'reserve', 'shared'];
/** The options only `linkModules()` takes, on top of those of `load()`. */
const LINK_OPTIONS = ['heap', 'allocator', 'stackSize', 'wasi'];

let defaultLoad = null;

// The bundled drop-in files beside `js/` (literal `new URL(…, import.meta.url)`
// so bundlers can see and copy them).
/** URL of the bundled default allocator, dist/linalloc.wasm. */
export const bundled = () => new URL('../dist/linalloc.wasm', import.meta.url);
const bundledChecked = () => new URL('../dist/linalloc-checked.wasm', import.meta.url);
const bundledThreads = () => new URL('../dist/linalloc-mt.wasm', import.meta.url);

/**
 * Loads the allocator module and returns a ready `Heap`.
 *
 * @param {string|URL|Response|Promise<Response>|ArrayBuffer|ArrayBufferView|WebAssembly.Module} [source]
 *   defaults to `dist/linalloc.wasm` next to this file's folder
 * @param {object} [options]
 * @param {WebAssembly.Memory} [options.memory] a caller-created memory, used as is
 * @param {number} [options.initial] pages of the memory the loader creates (default: the module's minimum, at least 2)
 * @param {number} [options.maximum] its maximum in pages (default 65536 = 4 GiB)
 * @param {boolean} [options.track] remember live blocks allocated through the helpers
 * @param {number} [options.reserve] bytes at the start of the memory to keep out of the heap (your own region; the heap starts above it)
 * @param {object} [options.imports] extra imports for modules that need them
 * @param {boolean} [options.checked] load the checked build (dist/linalloc-checked.wasm):
 *   misuse throws DoubleFreeError, InvalidFreeError or HeapCorruptionError
 * @param {boolean} [options.shared] a shared memory for workers, and the threads
 *   build (dist/linalloc-mt.wasm) unless `source` names another; see `heap.workerInit()`
 * @returns {Promise<Heap>}
 */
export function load(source, options) {
  if (source === undefined && options?.checked) source = bundledChecked();
  if (source === undefined && (options?.shared || isShared(options?.memory))) source = bundledThreads();
  if (source === undefined && options === undefined) {
    // Idempotent: the default heap is loaded once.
    if (defaultLoad === null) {
      defaultLoad = loadUncached(bundled(), {});
      defaultLoad.catch(() => (defaultLoad = null)); // a failed load may be retried
    }
    return defaultLoad;
  }
  return loadUncached(source ?? bundled(), options ?? {});
}

async function loadUncached(source, options) {
  checkLoadOptions(options, LOAD_OPTIONS);
  const compiled = await compileSource(source);
  if (options.checked && !isCheckedModule(compiled.module)) {
    throw new LoadError(`${compiled.url} is not the checked build, but { checked: true } asks for it. Leave out the source (load(undefined, { checked: true }) loads dist/linalloc-checked.wasm), pass that file, or drop checked.`, 'NOT_CHECKED_BUILD', { url: compiled.url });
  }
  return startHeap(compiled, options, 0);
}

/**
 * A TypeError (`code` UNKNOWN_OPTION or BAD_OPTION) for options `load`
 * (`known`: LOAD_OPTIONS) or `linkModules` (the default: those and
 * LINK_OPTIONS) does not accept.
 */
export function checkLoadOptions(options, known = [...LOAD_OPTIONS, ...LINK_OPTIONS]) {
  if (options === null || typeof options !== 'object') {
    throw coded(new TypeError(`linalloc: options must be an object such as { initial: 16 }, got ${options === null ? 'null' : typeof options}`), 'BAD_OPTION');
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) {
    const linkOnly = unknown.filter((k) => LINK_OPTIONS.includes(k));
    const hint = linkOnly.length ? ` (${linkOnly.join(', ')}: option${linkOnly.length > 1 ? 's' : ''} of linkModules(), not load())` : '';
    throw coded(new TypeError(`linalloc: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}${hint}; valid options: ${known.join(', ')}`), 'UNKNOWN_OPTION');
  }
  if (options.shared && options.checked) throw coded(new TypeError('linalloc: the checked build is single-threaded; `checked` and `shared` cannot be combined'), 'BAD_OPTION');
  if (options.memory !== undefined && !(options.memory instanceof WebAssembly.Memory)) {
    throw coded(new TypeError('linalloc: options.memory must be a WebAssembly.Memory'), 'BAD_OPTION');
  }
}

/** True when `module` exports the checked build's extra functions. */
const isCheckedModule = (module) => {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return CHECKED_EXPORTS.every((n) => names.has(n));
};

/**
 * Instantiates a compiled allocator against the caller's memory or a new one
 * of at least `neededPages` pages, and wraps it in a Heap.
 */
export async function startHeap(compiled, options, neededPages) {
  checkAbi(compiled, await layoutOf(compiled));
  const memImport = WebAssembly.Module.imports(compiled.module).find((i) => i.kind === 'memory');
  if (!memImport || memImport.module !== 'env' || memImport.name !== 'memory') {
    throw new LoadError(`${compiled.url} does not import its memory as env.memory, so its heap would not live in a memory you can share or see. Load dist/linalloc*.wasm, or link your module with --import-memory.`, 'NO_MEMORY_IMPORT', { url: compiled.url });
  }
  const minimum = compiled.layout.memory?.initial ?? 0;
  checkSharing(compiled, options);
  const { memory, maximum } = memoryFor(compiled, options, neededPages);
  refuseSecondHeap(memory, compiled.url);
  const instance = await instantiateAllocator(compiled, memory, options);
  try {
    claimMemory(instance.exports, memory, maximum, options, compiled.url);
  } catch (e) {
    // a damaged module can trap in its first call
    if (e instanceof WebAssembly.RuntimeError) throw new LoadError(`${compiled.url} trapped while claiming its memory (${e.message}): it exports linalloc's ABI but does not behave like a linalloc build. Is the file damaged? Rebuild it or download it again.`, 'START_FAILED', { url: compiled.url, cause: e });
    throw e;
  }
  const heap = new Heap(instance, memory, maximum);
  heap[INTERNAL].module = compiled.module;
  heap[INTERNAL].regions.push({ module: compiled.name ?? 'linalloc', start: 0, end: Math.max(minimum * PAGE_SIZE, staticEnd(compiled)) });
  if (options.track) heap.tracking = true;
  return heap;
}

/**
 * The memory for a new heap: the caller's (checked against the module's
 * minimum and `neededPages`) or a new one; `{ memory, maximum }`, the
 * maximum in pages null when the caller made the memory.
 */
function memoryFor(compiled, options, neededPages) {
  const limits = compiled.layout.memory;
  const minimum = limits?.initial ?? 0;
  const memory = options.memory;
  if (memory) {
    const pages = memory.buffer.byteLength / PAGE_SIZE;
    if (limits && pages < minimum) {
      throw new MemoryError(`the memory passed has ${pages} page${pages === 1 ? '' : 's'} but ${compiled.url} needs at least ${minimum}; create it with new WebAssembly.Memory({ initial: ${minimum} }) or more.`, 'MEMORY_TOO_SMALL', {
        pages,
        minimum,
      });
    }
    if (pages < neededPages) {
      throw new MemoryError(`the memory passed has ${pages} pages but the linked modules' static data needs ${neededPages} initial pages; create it with new WebAssembly.Memory({ initial: ${neededPages} }) or more.`, 'MEMORY_TOO_SMALL', {
        pages,
        minimum: neededPages,
      });
    }
    return { memory, maximum: null };
  }
  const need = Math.max(minimum, neededPages);
  const initial = options.initial ?? Math.max(2, need);
  if (initial < need) {
    throw new MemoryError(`initial ${initial} pages is below the minimum of ${need} pages${neededPages > minimum ? " the linked modules' static data needs" : ''}; pass initial >= ${need}.`, 'MEMORY_TOO_SMALL', { pages: initial, minimum: need });
  }
  return createMemory(initial, options.maximum ?? MAX_PAGES, moduleShared(compiled));
}

/** True for a memory backed by a SharedArrayBuffer. */
export const isShared = (memory) => memory instanceof WebAssembly.Memory && isSharedBuffer(memory.buffer);

/**
 * True when the module imports a shared memory: read from its bytes, or,
 * for a WebAssembly.Module given without them, told by the threads build's
 * own export.
 */
const moduleShared = (compiled) =>
  compiled.layout.memory?.shared ?? WebAssembly.Module.exports(compiled.module).some((e) => Object.hasOwn(THREADS_ABI, e.name));

/**
 * A LoadError unless the module and the memory agree on sharing (the threads
 * build needs a shared memory, the others an unshared one); a MemoryError
 * where a shared memory cannot be shared (a page not cross-origin isolated).
 */
function checkSharing(compiled, options) {
  const threads = moduleShared(compiled);
  const wantShared = options.memory ? isShared(options.memory) : Boolean(options.shared);
  if (wantShared && !sharedMemoryWorks()) throw notIsolated();
  if (threads !== wantShared) throw sharingError(compiled.url, wantShared);
}

/** The LoadError for module `url` on a memory that is (`shared`) or is not shared, against what the module needs. */
function sharingError(url, shared) {
  if (shared) {
    return new LoadError(`${url} is single-threaded and cannot use a shared memory. Load the threads build, dist/linalloc-mt.wasm (load(undefined, { shared: true }) does).`, 'NOT_THREADS_BUILD', { url });
  }
  return new LoadError(`${url} is the threads build: it needs a shared memory. Pass { shared: true } (or a memory created with shared: true and a maximum), or load dist/linalloc.wasm for one thread.`, 'NEEDS_SHARED_MEMORY', { url });
}

/** Instantiates the allocator with `memory` as env.memory and the user's imports; the loader's errors on failure. */
async function instantiateAllocator(compiled, memory, options) {
  const imports = { ...(options.imports || {}) };
  imports.env = { ...(imports.env || {}), memory };
  checkImports(compiled.module, imports, compiled.url);
  try {
    return await WebAssembly.instantiate(compiled.module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) {
      const lim = compiled.layout.memory;
      const pages = memory.buffer.byteLength / PAGE_SIZE;
      if (lim && pages < lim.initial) {
        throw new MemoryError(`the memory has ${pages} pages but ${compiled.url} needs at least ${lim.initial}.`, 'MEMORY_TOO_SMALL', { pages, minimum: lim.initial });
      }
      // a WebAssembly.Module comes without the bytes that tell its memory's limits
      if (/\bshared\b/i.test(e.message)) throw sharingError(compiled.url, isShared(memory));
      if (!lim && /smaller than|initial|minimum/i.test(e.message)) {
        throw new MemoryError(`the memory has ${pages} pages, fewer than ${compiled.url} needs (${e.message}); pass a larger memory or initial.`, 'MEMORY_TOO_SMALL', { pages });
      }
      throw new LinkError(`${compiled.url} could not be linked: ${e.message}`, 'LINK_FAILED', { cause: e });
    }
    throw new LinallocError(`${compiled.url} failed while starting: ${e.message}`, 'START_FAILED', { cause: e });
  }
}

/** A LoadError unless the module exports the whole ABI with the right kinds and signatures. */
function checkAbi(compiled, layout) {
  const kinds = new Map(WebAssembly.Module.exports(compiled.module).map((e) => [e.name, e.kind]));
  const missing = ABI_EXPORTS.filter((n) => !kinds.has(n));
  const wrong = ABI_EXPORTS.filter((n) => kinds.has(n) && kinds.get(n) !== 'function').map((n) => `${n} is a ${kinds.get(n)}, not a function`);
  if (compiled.bytes) {
    for (const n of ABI_EXPORTS) {
      const sig = kinds.get(n) === 'function' ? exportSignature(layout, n) : ABI[n];
      if (sig !== null && sig !== ABI[n]) wrong.push(`${n} has signature (${sig}), expected (${ABI[n]})`);
    }
  }
  if (missing.length || wrong.length) {
    const what = [missing.length ? `it lacks the exports ${missing.join(', ')}` : '', ...wrong].filter(Boolean).join('; ');
    throw new LoadError(`${compiled.url} is a WebAssembly module but not a linalloc allocator: ${what}. Load dist/linalloc*.wasm (of this version).`, 'NOT_LINALLOC', {
      url: compiled.url,
      missing,
      wrong,
    });
  }
}

/** One heap per memory: a LoadError when another linalloc heap already owns `memory`. */
function refuseSecondHeap(memory, url) {
  const tag = readOwnerTag(memory.buffer);
  if (!tag) return;
  const started = tag.heapStart !== null ? `started at ${hex(tag.heapStart)}` : 'not started yet';
  throw new LoadError(
    `this memory already has a linalloc heap (${tag.name}, ${started}); loading ${url} on it as well would give one memory two heaps. ` +
      'Use the Heap you already have (linkModules(..., { heap }) links more modules into it), or pass a fresh memory.',
    'HEAP_EXISTS',
    { build: tag.build, heapStart: tag.heapStart },
  );
}

/** Claims `memory` for the new instance's build (and `options.reserve` bytes below its heap) before anything allocates. */
function claimMemory(x, memory, maximum, options, url) {
  const reserve = options.reserve ?? 0;
  if (reserve >>> 0 !== reserve) throw coded(new TypeError(`linalloc: options.reserve must be a number of bytes from 0 to 4294967295, got ${describe(reserve)}`), 'BAD_OPTION');
  if (x.heap_reserve(reserve) !== 1) {
    if (x.heap_status() === 2) refuseSecondHeap(memory, url);
    throw new MemoryError(`could not reserve the first ${reserve} bytes of the memory for you: the memory cannot grow to ${reserve} bytes. Pass a larger memory or a smaller reserve.`, 'RESERVE_FAILED', { reserve });
  }
  const tag = readOwnerTag(memory.buffer);
  const grows = tag && (tag.build & 0xff) === 3 ? canGrow(x, memory, maximum) : true;
  if (!grows) {
    const pages = memory.buffer.byteLength / PAGE_SIZE;
    const why = grows === false ? `${pages} pages, its maximum` : `memory.grow failed at ${pages} pages`;
    throw new LoadError(`${url} is the wee_alloc build, which only uses pages it grows itself, and this memory cannot grow (${why}): every malloc would return 0. Use the default build (dist/linalloc.wasm) for fixed memories.`, 'WEE_FIXED_MEMORY', { url });
  }
}

/**
 * Whether the wee_alloc build (exports `x`) can grow `memory`: false when
 * the maximum is known (ours, or the engine's `memory.type()`) and reached;
 * else tried with one allocation, freed again (it grows the memory by pages
 * wee_alloc keeps): null when that failed.
 */
function canGrow(x, memory, maximum) {
  const max = maximum ?? (typeof memory.type === 'function' ? memory.type().maximum : undefined);
  if (max !== undefined) return max * PAGE_SIZE > memory.buffer.byteLength;
  const p = x.malloc(1) >>> 0;
  if (p === 0) return null;
  x.free(p);
  return true;
}

/** End of a fixed-layout module's static region (data and stack), or 0. */
export function staticEnd(compiled) {
  const r = compiled.layout && staticRegion(compiled.layout);
  return r ? r.end : 0;
}

function describeImport(i) {
  return `${i.module}.${i.name} (${i.kind})`;
}

/**
 * Checks that `imports` satisfies every import of `module`; throws the
 * loader's LinkError naming each missing one.
 */
export function checkImports(module, imports, what = 'the module') {
  const missing = [];
  for (const i of WebAssembly.Module.imports(module)) {
    const v = imports[i.module]?.[i.name];
    const ok =
      i.kind === 'function' ? typeof v === 'function'
      : i.kind === 'memory' ? v instanceof WebAssembly.Memory
      : i.kind === 'table' ? v instanceof WebAssembly.Table
      : i.kind === 'global' ? v instanceof WebAssembly.Global || typeof v === 'number' || typeof v === 'bigint'
      : v !== undefined;
    if (!ok) missing.push(i);
  }
  if (missing.length) {
    const provided = Object.entries(imports).flatMap(([m, o]) => Object.keys(o || {}).map((n) => `${m}.${n}`));
    throw new LinkError(
      `${what} needs ${missing.length} import${missing.length > 1 ? 's' : ''} that ${missing.length > 1 ? 'were' : 'was'} not provided: ${missing.map(describeImport).join(', ')}. ` +
        `Provided: ${provided.join(', ') || 'nothing'}. Pass the missing ones in options.imports, e.g. { imports: { ${missing[0].module}: { ${missing[0].name}: ... } } }.`,
      'MISSING_IMPORT',
      { missing: missing.map((i) => ({ module: i.module, name: i.name, kind: i.kind })) },
    );
  }
}
