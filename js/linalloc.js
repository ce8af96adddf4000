// linalloc loader: loads the drop-in allocator module in browsers and Node,
// and wraps it in a `Heap` with always-fresh views, copy helpers, records
// and clear errors. Hand-written, dependency-free ES module.
//
// Hot paths (`malloc`/`free`, the view getters) do one comparison and one
// call; everything else is kept out of them.

import { ABI, ABI_EXPORTS, CHECKED_EXPORTS, exportSignature, hasWasmMagic, moduleLayout, readOwnerTag, staticRegion } from './wasm-info.js';

export { ABI_EXPORTS };

/** Bytes in one WebAssembly page. */
export const PAGE_SIZE = 65536;
/** Most pages a wasm32 memory can have (4 GiB). */
export const MAX_PAGES = 65536;

const IS_NODE = typeof process === 'object' && process.versions != null && process.versions.node != null;

// ---------------------------------------------------------------- errors

/** Base class of every error the loader throws; `code` is stable. */
export class LinallocError extends Error {
  /**
   * @param {string} message what happened and what to do
   * @param {string} code stable machine-readable code
   * @param {object} [details] extra facts (sizes, URLs, names)
   */
  constructor(message, code, details = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    Object.assign(this, details);
  }
}

/** The module could not be fetched, read, compiled, or is not a linalloc module. */
export class LoadError extends LinallocError {}

/** The module needs imports that were not provided. */
export class LinkError extends LinallocError {}

/** The memory is too small for the module, or its limits are inconsistent. */
export class MemoryError extends LinallocError {}

/** A helper could not allocate: the memory cannot grow any further. */
export class OutOfMemoryError extends LinallocError {}

/** A `Record` was used after `free()`. */
export class UseAfterFreeError extends LinallocError {}

/** Checked build: a block was freed twice. */
export class DoubleFreeError extends LinallocError {}

/** Checked build: free/realloc/dealloc of something that is not a live block start, or dealloc with the wrong size/align. */
export class InvalidFreeError extends LinallocError {}

/** Checked build: a block's canary or header was overwritten (buffer overflow or stray write). */
export class HeapCorruptionError extends LinallocError {}

// ---------------------------------------------------------------- fetching

let warnedMime = false;
let warnedMaximum = false;
const warn = (msg) => (typeof console !== 'undefined' ? console.warn(`linalloc: ${msg}`) : undefined);

function describeBytes(bytes) {
  const head = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 40)).replace(/[^\x20-\x7e]/g, '.');
  return `first bytes: ${head || '(empty)'} ("${text}")`;
}

/** Throws a LoadError unless `bytes` compile; returns the module. */
async function compileBytes(bytes, where) {
  if (!hasWasmMagic(bytes)) {
    const html = /^\s*</.test(new TextDecoder().decode(bytes.subarray(0, 64)));
    throw new LoadError(
      `${where} is not a WebAssembly module${html ? ' (it looks like an HTML page: a wrong URL or an error page from the server?)' : ''}; ${describeBytes(bytes)}. ` +
        'Check the URL and that the server sends the .wasm file itself.',
      'NOT_WASM',
      { url: where, firstBytes: bytes.slice(0, 16) },
    );
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new LoadError(`${where} is a damaged or unsupported WebAssembly module (${e.message}). Rebuild it or download it again.`, 'INVALID_WASM', {
      url: where,
      cause: e,
    });
  }
}

function toBytes(source) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return null;
}

async function readNodeFile(url) {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(url));
  } catch (e) {
    const path = url instanceof URL ? decodeURIComponent(url.pathname) : url;
    throw new LoadError(`could not read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}. Check the path (run \`make build\` to create dist/*.wasm).`, 'NOT_FOUND', {
      url: String(url),
      cause: e,
    });
  }
}

async function compileResponse(responsePromise, where) {
  let response;
  try {
    response = await responsePromise;
  } catch (e) {
    throw new LoadError(`could not fetch ${where}: ${e.message}. Check the URL and that the server is running.`, 'FETCH_FAILED', { url: where, cause: e });
  }
  const url = response.url || where;
  if (!response.ok) {
    throw new LoadError(`fetching ${url} failed with HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}. Check the URL and that the file is deployed.`, 'HTTP_ERROR', {
      url,
      status: response.status,
    });
  }
  const type = (response.headers.get('content-type') || '').split(';')[0].trim();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    const spare = response.clone(); // to explain a failure with the bytes themselves
    try {
      const module = await WebAssembly.compileStreaming(response);
      return { module, bytes: null, spare, url };
    } catch {
      return { module: await compileBytes(new Uint8Array(await spare.arrayBuffer()), url), bytes: null, spare: null, url };
    }
  }
  if (!warnedMime) {
    warnedMime = true;
    warn(`${url} was served as "${type || 'no content type'}", not application/wasm; compiling without streaming. Configure the server to send application/wasm for .wasm files.`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { module: await compileBytes(bytes, url), bytes, spare: null, url };
}

/**
 * Compiles any supported source. Returns `{ module, bytes, url }` where
 * `bytes` may be null (streamed); `moreBytes()` reads them when needed.
 */
export async function compileSource(source) {
  if (source instanceof WebAssembly.Module) return { module: source, bytes: null, url: '(WebAssembly.Module)' };
  const bytes = toBytes(source);
  if (bytes) return { module: await compileBytes(bytes, '(bytes)'), bytes, url: '(bytes)' };
  if (typeof Response !== 'undefined' && (source instanceof Response || (source && typeof source.then === 'function'))) {
    return compileResponse(source, '(Response)');
  }
  if (typeof source === 'string' || source instanceof URL) {
    if (IS_NODE) {
      const s = String(source);
      if (source instanceof URL ? source.protocol === 'file:' : !/^[a-z][a-z0-9+.-]*:/i.test(s) || s.startsWith('file:')) {
        const target = source instanceof URL || s.startsWith('file:') ? new URL(s) : s;
        const fileBytes = await readNodeFile(target);
        return { module: await compileBytes(fileBytes, s), bytes: fileBytes, url: s };
      }
    }
    const url = String(source);
    return compileResponse(fetch(url), url);
  }
  throw new TypeError(`linalloc: cannot load from ${Object.prototype.toString.call(source)}; pass a URL or path, a Response, bytes (ArrayBuffer or typed array) or a WebAssembly.Module`);
}

async function bytesOf(compiled) {
  if (compiled.bytes) return compiled.bytes;
  if (compiled.spare) {
    compiled.bytes = new Uint8Array(await compiled.spare.arrayBuffer());
    compiled.spare = null;
  }
  return compiled.bytes;
}

/** The module's layout read from its bytes (cached); a LoadError when they are malformed. */
async function layoutOf(compiled) {
  if (compiled.layout) return compiled.layout;
  const bytes = (await bytesOf(compiled)) ?? EMPTY;
  try {
    compiled.layout = moduleLayout(bytes);
  } catch (e) {
    throw new LoadError(`${compiled.url ?? compiled.name} has a damaged section (${e.message}); the engine accepted it, but linalloc cannot read its imports or custom sections. Rebuild the module.`, 'BAD_SECTION', {
      url: compiled.url,
      cause: e,
    });
  }
  return compiled.layout;
}

// ---------------------------------------------------------------- memory

/**
 * Creates a memory of `initial` pages with `maximum` pages; when the engine
 * refuses to reserve that much (some 32-bit and mobile browsers), retries
 * with smaller maxima and warns once.
 */
export function createMemory(initial, maximum = MAX_PAGES) {
  checkPages('initial', initial);
  checkPages('maximum', maximum);
  if (maximum < initial) {
    throw new MemoryError(`maximum (${maximum} pages) is below initial (${initial} pages); pass a maximum of at least ${initial}.`, 'BAD_LIMITS', { initial, maximum });
  }
  for (let max = maximum; ; max = Math.max(initial, max >>> 1)) {
    try {
      const memory = new WebAssembly.Memory({ initial, maximum: max });
      if (max !== maximum && !warnedMaximum) {
        warnedMaximum = true;
        warn(`this engine could not reserve a memory with maximum ${maximum} pages; using maximum ${max} pages (${(max * PAGE_SIZE) / 2 ** 20} MiB).`);
      }
      return { memory, maximum: max };
    } catch (e) {
      if (max === initial) {
        throw new MemoryError(`the engine refused a memory of ${initial} pages (${e.message}). Use a smaller initial size.`, 'MEMORY_REFUSED', { initial, maximum, cause: e });
      }
    }
  }
}

function checkPages(what, n) {
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGES) {
    throw new RangeError(`linalloc: ${what} must be a whole number of 64 KiB pages between 0 and ${MAX_PAGES}, got ${n}`);
  }
}

// ---------------------------------------------------------------- linking

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

// ---------------------------------------------------------------- load

let defaultLoad = null;

// The bundled drop-in files beside `js/` (literal `new URL(…, import.meta.url)`
// so bundlers can see and copy them).
const bundled = () => new URL('../dist/linalloc.wasm', import.meta.url);
const bundledChecked = () => new URL('../dist/linalloc-checked.wasm', import.meta.url);

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
 * @returns {Promise<Heap>}
 */
export function load(source, options) {
  if (source === undefined && options?.checked) source = bundledChecked();
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
  checkLoadOptions(options);
  return startHeap(await compileSource(source), options, 0);
}

function checkLoadOptions(options) {
  const known = ['memory', 'initial', 'maximum', 'track', 'imports', 'checked', 'reserve', 'shared', 'heap', 'allocator', 'stackSize'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw new TypeError(`linalloc: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; valid options: ${known.join(', ')}`);
  if (options.shared) throw new LinallocError('shared memory needs the threads build, which is not available yet; omit `shared`.', 'UNSUPPORTED');
  if (options.memory !== undefined && !(options.memory instanceof WebAssembly.Memory)) {
    throw new TypeError('linalloc: options.memory must be a WebAssembly.Memory');
  }
}

/**
 * Instantiates a compiled allocator against the caller's memory or a new one
 * of at least `neededPages` pages, and wraps it in a Heap.
 */
async function startHeap(compiled, options, neededPages) {
  const { module } = compiled;
  checkAbi(compiled, await layoutOf(compiled));
  const memImport = WebAssembly.Module.imports(module).find((i) => i.kind === 'memory');
  if (!memImport || memImport.module !== 'env' || memImport.name !== 'memory') {
    throw new LoadError(`${compiled.url} does not import its memory as env.memory, so its heap would not live in a memory you can share or see. Load dist/linalloc*.wasm, or link your module with --import-memory.`, 'NO_MEMORY_IMPORT', { url: compiled.url });
  }
  const limits = compiled.layout.memory;
  const minimum = limits?.initial ?? 0;
  let memory = options.memory;
  let maximum = null;
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
  } else {
    const initial = options.initial ?? Math.max(2, minimum, neededPages);
    if (initial < Math.max(minimum, neededPages)) {
      const need = Math.max(minimum, neededPages);
      throw new MemoryError(`initial ${initial} pages is below the minimum of ${need} pages${neededPages > minimum ? " the linked modules' static data needs" : ''}; pass initial >= ${need}.`, 'MEMORY_TOO_SMALL', { pages: initial, minimum: need });
    }
    ({ memory, maximum } = createMemory(initial, options.maximum ?? MAX_PAGES));
  }

  refuseSecondHeap(memory, compiled.url);
  const imports = { ...(options.imports || {}) };
  imports.env = { ...(imports.env || {}), memory };
  checkImports(module, imports, compiled.url);
  let instance;
  try {
    instance = await WebAssembly.instantiate(module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError && memImport) {
      const lim = compiled.layout.memory;
      const pages = memory.buffer.byteLength / PAGE_SIZE;
      if (lim && pages < lim.initial) {
        throw new MemoryError(`the memory has ${pages} pages but ${compiled.url} needs at least ${lim.initial}.`, 'MEMORY_TOO_SMALL', { pages, minimum: lim.initial });
      }
      throw new LinkError(`${compiled.url} could not be linked: ${e.message}`, 'LINK_FAILED', { cause: e });
    }
    throw new LinallocError(`${compiled.url} failed while starting: ${e.message}`, 'START_FAILED', { cause: e });
  }
  claimMemory(instance.exports, memory, maximum, options, compiled.url);
  const heap = new Heap(instance, memory, maximum);
  heap._regions.push({ module: compiled.name ?? 'linalloc', start: 0, end: Math.max(minimum * PAGE_SIZE, staticEnd(compiled)) });
  if (options.track) heap.tracking = true;
  return heap;
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
  if (reserve >>> 0 !== reserve) throw new TypeError(`linalloc: options.reserve must be a number of bytes from 0 to 4294967295, got ${reserve}`);
  if (x.heap_reserve(reserve) !== 1) {
    if (x.heap_status() === 2) refuseSecondHeap(memory, url);
    throw new MemoryError(`could not reserve the first ${reserve} bytes of the memory for you: the memory cannot grow to ${reserve} bytes. Pass a larger memory or a smaller reserve.`, 'RESERVE_FAILED', { reserve });
  }
  const tag = readOwnerTag(memory.buffer);
  if (tag && (tag.build & 0xff) === 3 && maximum !== null && maximum * PAGE_SIZE <= memory.buffer.byteLength) {
    throw new LoadError(`${url} is the wee_alloc build, which only uses pages it grows itself, and this memory cannot grow (initial = maximum = ${maximum} pages): every malloc would return 0. Use the default build (dist/linalloc.wasm) for fixed memories.`, 'WEE_FIXED_MEMORY', { url });
  }
}

function staticEnd(compiled) {
  const r = compiled.layout && staticRegion(compiled.layout);
  return r ? r.end : 0;
}

// ---------------------------------------------------------------- runtime linking

const hex = (n) => `0x${n.toString(16)}`;
const pageUp = (n) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const EMPTY = new Uint8Array(0);

/**
 * Links modules that need `malloc`/`free` (C, Rust, …) against the linalloc
 * allocator in one shared memory. All sources are fetched and compiled in
 * parallel, then instantiated with the allocator first.
 *
 * Imports are resolved from, in order: `options.imports`, the allocator's
 * exports (for module `env`), and the other modules' exports (by module name,
 * or any module for `env`). Circular imports go through JS trampolines bound
 * after instantiation, so declaration order does not matter.
 *
 * Fixed-layout modules keep their static data where they were linked
 * (`--global-base`); the loader sizes or checks the memory so it fits below
 * the heap and refuses overlaps. Position-independent side modules
 * (`dylink.0`) get their data block and stack from linalloc itself, so they
 * can be linked at any time, also into an existing heap (`options.heap`).
 *
 * @param {Record<string, Source>} modules names -> sources; the allocator is
 *   `modules.linalloc` (default: the bundled dist/linalloc.wasm)
 * @param {object} [options] `memory`, `initial`, `maximum`, `track` (as for `load`),
 *   `imports` (user functions by module name), `heap` (link into a running Heap),
 *   `allocator` (the allocator's key, default 'linalloc'), `stackSize` (bytes of
 *   stack for each side module, default 65536)
 * @returns {Promise<{ heap: Heap, instances: Record<string, WebAssembly.Instance>, regions: object[] }>}
 */
export async function linkModules(modules, options = {}) {
  if (!modules || typeof modules !== 'object') throw new TypeError('linalloc: linkModules expects an object mapping names to module sources');
  checkLoadOptions(options);
  const allocName = options.allocator ?? 'linalloc';
  const existing = options.heap ?? null;
  if (existing && !(existing instanceof Heap)) throw new TypeError('linalloc: options.heap must be a Heap from load() or linkModules()');
  const entries = Object.entries(modules).filter(([name]) => !(existing && name === allocName));
  if (!existing && !entries.some(([name]) => name === allocName)) entries.unshift([allocName, bundled()]);

  // 1. fetch + compile everything in parallel
  const all = await Promise.all(
    entries.map(async ([name, source]) => {
      const c = await compileSource(source);
      c.name = name;
      await layoutOf(c);
      c.imports = WebAssembly.Module.imports(c.module);
      c.exportNames = new Set(WebAssembly.Module.exports(c.module).map((e) => e.name));
      c.pic = c.layout.dylink !== null || c.imports.some((i) => i.name === '__memory_base');
      c.hasBytes = c.bytes !== null;
      return c;
    }),
  );
  const byName = new Map(all.map((c) => [c.name, c]));
  const allocator = byName.get(allocName) ?? null;
  const clients = all.filter((c) => c !== allocator);

  // 2. static regions of fixed-layout modules: no overlaps, below the heap
  const regions = existing ? [...existing._regions] : [{ module: allocName, start: 0, end: 0 }];
  if (allocator) {
    const min = allocator.layout.memory?.initial ?? 1;
    regions[0].end = Math.max(min * PAGE_SIZE, staticEnd(allocator));
  }
  let neededPages = 0;
  for (const c of clients) {
    if (c.pic) continue;
    if (!c.hasBytes && c.imports.some((i) => i.kind === 'memory')) {
      throw new LinkError(`${c.name}: a compiled WebAssembly.Module does not show where its static data lies; pass its URL or bytes instead.`, 'NEED_BYTES', { module: c.name });
    }
    const r = staticRegion(c.layout);
    neededPages = Math.max(neededPages, c.layout.memory?.initial ?? 0);
    if (!r) continue;
    for (const o of regions) {
      if (r.start < o.end && o.start < r.end) {
        const base = pageUp(Math.max(...regions.map((x) => x.end), r.end));
        throw new LinkError(
          `${c.name}: its static region [${hex(r.start)}, ${hex(r.end)}) overlaps ${o.module}'s [${hex(o.start)}, ${hex(o.end)}). ` +
            `Relink ${c.name} at a free address, e.g. wasm-ld --global-base=${base}, or build it as a side module (-fPIC -shared).`,
          'OVERLAP',
          { module: c.name, region: r, other: o, suggestedGlobalBase: base },
        );
      }
    }
    if (existing && !existing.reserveBelowHeap(r.end)) {
      throw new LinkError(
        `${c.name}: its static region [${hex(r.start)}, ${hex(r.end)}) lies in memory the running heap owns (from ${hex(existing.heapStart)} on). ` +
          'A fixed-layout module must be linked together with the allocator, before the heap grows; or build it as a side module (-fPIC -shared), which can be linked at any time.',
        'OVERLAPS_HEAP',
        { module: c.name, region: r },
      );
    }
    regions.push({ module: c.name, start: r.start, end: r.end });
    neededPages = Math.max(neededPages, Math.ceil(r.end / PAGE_SIZE));
  }

  // 3. every import must resolve before anything is instantiated
  const userImports = options.imports || {};
  const allocExports = () => (existing ?? heap).exports;
  const resolve = (c, imp) => {
    const user = userImports[imp.module]?.[imp.name];
    if (user !== undefined) return { user };
    if ((imp.module === 'env' || imp.module === allocName) && (existing || allocator?.exportNames.has(imp.name))) {
      if (existing ? typeof existing.exports[imp.name] === 'function' : true) return { alloc: imp.name };
    }
    const named = byName.get(imp.module);
    if (named && named !== allocator && named.exportNames.has(imp.name)) return { provider: named };
    if (imp.module === 'env') {
      const p = clients.find((o) => o !== c && o.exportNames.has(imp.name));
      if (p) return { provider: p };
    }
    return null;
  };
  const PIC_GLOBALS = new Set(['__memory_base', '__table_base', '__stack_pointer']);
  const missing = [];
  for (const c of clients) {
    for (const imp of c.imports) {
      if (imp.kind === 'memory' || (imp.kind === 'table' && imp.name === '__indirect_function_table')) continue;
      if (imp.kind === 'global' && c.pic && (PIC_GLOBALS.has(imp.name) || imp.module === 'GOT.mem' || imp.module === 'GOT.func')) {
        if (imp.module === 'GOT.func' && !resolve(c, { module: 'env', name: imp.name })) missing.push(`${c.name}: ${imp.module}.${imp.name} (global; no module exports a function ${imp.name})`);
        continue;
      }
      if (!resolve(c, imp)) missing.push(`${c.name}: ${imp.module}.${imp.name} (${imp.kind})`);
    }
  }
  if (missing.length) {
    const available = [...(allocator ? allocator.exportNames : Object.keys(existing.exports)).values()].map((n) => `${allocName}.${n}`);
    for (const c of clients) for (const n of c.exportNames) available.push(`${c.name}.${n}`);
    throw new LinkError(
      `${missing.length} import${missing.length > 1 ? 's are' : ' is'} not provided by any module or options.imports: ${missing.join('; ')}. ` +
        `Available: ${available.join(', ')}. Pass JS functions in options.imports, e.g. { imports: { env: { name: (...) => ... } } }.`,
      'MISSING_IMPORT',
      { missing },
    );
  }

  // 4. the allocator first (it owns the memory), then the clients
  const heap = existing ?? (await startHeap(allocator, options, neededPages));
  if (!existing) {
    regions[0] = heap._regions[0];
    // the heap starts above every fixed-layout module's static data
    const top = Math.max(0, ...regions.slice(1).map((r) => r.end));
    if (!heap.reserveBelowHeap(top)) throw new LinkError(`could not keep [0, ${hex(top)}) out of the heap for the modules' static data (the memory cannot grow that far).`, 'RESERVE_FAILED', { end: top });
  }
  const memory = heap.memory;
  for (const r of regions.slice(existing ? existing._regions.length : 1)) heap._regions.push(r);
  const instances = { [allocName]: existing ? { exports: heap.exports } : null };
  let table = existing?._table ?? null;
  const getTable = () => (table ??= heap._table = new WebAssembly.Table({ initial: 0, element: 'anyfunc' }));
  const stackSize = options.stackSize ?? 65536;
  const trampolines = [];
  const lateGot = [];

  const functionFor = (c, imp) => {
    const r = resolve(c, imp);
    if (r.user !== undefined) return r.user;
    if (r.alloc) return heap.exports[r.alloc];
    const inst = instances[r.provider.name];
    if (inst) return inst.exports[imp.name];
    const t = (...args) => {
      if (!t.target) throw new LinkError(`${c.name} called ${imp.module}.${imp.name} before ${r.provider.name} was instantiated (a start function calling into a module that imports from it).`, 'NOT_READY');
      return t.target(...args);
    };
    trampolines.push({ t, provider: r.provider.name, name: imp.name });
    return t;
  };

  const pending = new Set(clients);
  while (pending.size) {
    // prefer a module whose providers are all instantiated; a cycle takes trampolines
    const ready =
      [...pending].find((c) => c.imports.every((imp) => {
        if (imp.kind !== 'function') return true;
        const r = resolve(c, imp);
        return !r.provider || instances[r.provider.name];
      })) ?? pending.values().next().value;
    pending.delete(ready);
    instances[ready.name] = await instantiateClient(ready);
  }
  for (const { t, provider, name } of trampolines) t.target = instances[provider].exports[name];
  for (const fill of lateGot) fill();
  for (const c of clients) finishClient(c, instances[c.name]);
  if (!existing) instances[allocName] = { exports: heap.exports };
  return { heap, instances, regions: heap._regions.slice() };

  async function instantiateClient(c) {
    const imports = {};
    const put = (mod, name, v) => ((imports[mod] ??= {})[name] = v);
    let pic = null;
    if (c.pic) {
      const info = c.layout.dylink ?? { memorySize: 0, memoryAlign: 0, tableSize: 0, tableAlign: 0 };
      const align = Math.max(8, 2 ** info.memoryAlign);
      const memoryBase = info.memorySize ? heap.alignedAlloc(align, info.memorySize) : 0;
      if (info.memorySize && memoryBase === 0) throw heap._oom(info.memorySize);
      if (memoryBase) heap.u8.fill(0, memoryBase, memoryBase + info.memorySize);
      const t = getTable();
      const tableBase = t.length;
      if (info.tableSize) t.grow(info.tableSize);
      pic = { memoryBase, tableBase, size: info.memorySize, got: [] };
      c.picInfo = pic;
      heap._regions.push({ module: c.name, start: memoryBase, end: memoryBase + info.memorySize, sideModule: true });
    }
    for (const imp of c.imports) {
      if (imp.kind === 'memory') put(imp.module, imp.name, memory);
      else if (imp.kind === 'table' && imp.name === '__indirect_function_table') put(imp.module, imp.name, getTable());
      else if (pic && imp.kind === 'global' && imp.name === '__memory_base') put(imp.module, imp.name, new WebAssembly.Global({ value: 'i32', mutable: false }, pic.memoryBase));
      else if (pic && imp.kind === 'global' && imp.name === '__table_base') put(imp.module, imp.name, new WebAssembly.Global({ value: 'i32', mutable: false }, pic.tableBase));
      else if (pic && imp.kind === 'global' && imp.name === '__stack_pointer') {
        const stack = heap.alignedAlloc(16, stackSize);
        if (stack === 0) throw heap._oom(stackSize);
        put(imp.module, imp.name, new WebAssembly.Global({ value: 'i32', mutable: true }, stack + stackSize));
      } else if (pic && imp.kind === 'global' && (imp.module === 'GOT.func' || imp.module === 'GOT.mem')) {
        const g = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
        put(imp.module, imp.name, g);
        pic.got.push({ kind: imp.module, name: imp.name, g });
      } else if (imp.kind === 'function') put(imp.module, imp.name, functionFor(c, imp));
      else put(imp.module, imp.name, userImports[imp.module]?.[imp.name]);
    }
    if (pic) {
      for (const e of pic.got) {
        if (e.kind === 'GOT.func') {
          const fill = () => {
            const fn = functionFor(c, { module: 'env', name: e.name, kind: 'function' });
            const t = getTable();
            e.g.value = t.length;
            t.grow(1, fn);
          };
          const r = resolve(c, { module: 'env', name: e.name });
          if (r.alloc || (r.provider && instances[r.provider.name])) fill();
          else lateGot.push(fill);
        } else {
          lateGot.push(() => {
            for (const o of clients) {
              const v = instances[o.name]?.exports[e.name];
              if (v instanceof WebAssembly.Global) {
                e.g.value = (o.picInfo?.memoryBase ?? 0) + v.value;
                return;
              }
            }
            throw new LinkError(`${c.name}: GOT.mem.${e.name}: no module exports the data symbol ${e.name}.`, 'MISSING_IMPORT', { missing: [`GOT.mem.${e.name}`] });
          });
        }
      }
    }
    try {
      return await WebAssembly.instantiate(c.module, imports);
    } catch (e) {
      if (e instanceof WebAssembly.LinkError) {
        throw new LinkError(`${c.name} could not be linked: ${e.message}. Check that imported functions have the signatures the providers export.`, 'LINK_FAILED', { module: c.name, cause: e });
      }
      throw new LinallocError(`${c.name} failed while starting: ${e.message}`, 'START_FAILED', { module: c.name, cause: e });
    }
  }

  function finishClient(c, inst) {
    const x = inst.exports;
    if (c.pic && typeof x.__wasm_apply_data_relocs === 'function') x.__wasm_apply_data_relocs();
    if (typeof x._initialize === 'function') x._initialize();
    else if (typeof x.__wasm_call_ctors === 'function') x.__wasm_call_ctors();
  }
}

// ---------------------------------------------------------------- heap

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) throw new Error('linalloc: typed-array views need a little-endian host, like WebAssembly memory');

function badSize(what, value) {
  if (typeof value !== 'number') return new TypeError(`linalloc: ${what} must be a number of bytes, got ${typeof value} ${JSON.stringify(value)}`);
  return new RangeError(`linalloc: ${what} must be a whole number from 0 to 4294967295, got ${value}`);
}

function notABlock(ptr) {
  return new RangeError(`linalloc: ${ptr} is not a block of this heap that is live (freed already — a double free —, misaligned, outside its pages, or not the start of a block; a pointer from another heap?); nothing was freed`);
}

function doubleFree(ptr) {
  return new DoubleFreeError(`double free of block ${ptr} (0x${ptr.toString(16)}): it was freed already, and this second free was refused (nothing was freed). Free each block once; set the pointer to 0 after freeing.`, 'DOUBLE_FREE', { ptr });
}

function badPtr(value) {
  if (typeof value !== 'number') return new TypeError(`linalloc: pointer must be a number, got ${typeof value} ${JSON.stringify(value)}`);
  return new RangeError(`linalloc: pointer must be a whole number from 0 to 4294967295 (use ptr >>> 0 on raw export results), got ${value}`);
}

/**
 * A loaded allocator: its exports, its memory, fresh views and helpers.
 * Pointers are unsigned numbers, so addresses above 2 GiB are positive.
 */
export class Heap {
  #x;
  #memory;
  #maximum;
  #buffer = null;
  #u8 = null;
  #i8 = null;
  #u16 = null;
  #i16 = null;
  #i32 = null;
  #u32 = null;
  #f32 = null;
  #f64 = null;
  #dv = null;
  #tracked = null; // Map ptr -> { size, site }
  #freedSites = null; // checked + tracking: recently freed ptr -> { size, site }
  #raw; // the instance's own exports (unwrapped)
  #startPages;
  /** @internal static regions of the allocator and linked modules */
  _regions = [];
  /** @internal the function table shared by linked side modules */
  _table = null;

  /**
   * Wraps an instantiated linalloc module. Prefer `load()`.
   * @param {WebAssembly.Instance} instance
   * @param {WebAssembly.Memory} memory the memory it imported
   * @param {number|null} [maximum] the memory's maximum in pages, when known
   */
  constructor(instance, memory, maximum = null) {
    this.#x = CHECKED_EXPORTS.every((n) => typeof instance.exports[n] === 'function') ? checkedExports(instance.exports, this) : instance.exports;
    this.#memory = memory;
    this.#raw = instance.exports;
    this.#maximum = maximum;
    this.#startPages = memory.buffer.byteLength / PAGE_SIZE;
    /** emscripten-style alias of `malloc`. */
    this._malloc = (size) => this.malloc(size);
    /** emscripten-style alias of `free`. */
    this._free = (ptr) => this.free(ptr);
  }

  /** The raw exports of the module. */
  get exports() {
    return this.#x;
  }

  /** The `WebAssembly.Memory` the heap lives in. */
  get memory() {
    return this.#memory;
  }

  /**
   * Memory size in pages when this Heap was created. The heap owns the pages
   * from `heapStart` up to the memory's end at its first allocation, and the
   * pages it grows later; pages grown by others stay theirs.
   */
  get startPages() {
    return this.#startPages;
  }

  /**
   * Address where this heap's memory starts (its state, then its blocks), or
   * null before the first allocation. Below it: the module's stack and static
   * data, and whatever was reserved.
   */
  get heapStart() {
    return readOwnerTag(this.#memory.buffer)?.heapStart ?? null;
  }

  /** Bytes at the start of the memory kept out of the heap (`load`'s `reserve`, linked modules' static data). */
  get reserved() {
    return readOwnerTag(this.#memory.buffer)?.reserve ?? 0;
  }

  /** Name of the build that owns this memory's heap, e.g. `talc` or `dlmalloc (checked)`. */
  get build() {
    return readOwnerTag(this.#memory.buffer)?.name ?? null;
  }

  /**
   * Keeps `[0, end)` out of the heap: true when it is reserved now (only
   * possible before the first allocation) or already below the heap's start.
   */
  reserveBelowHeap(end) {
    if (end >>> 0 !== end) throw badSize('end', end);
    if (this.#raw.heap_reserve(end) === 1) return true;
    const start = this.heapStart;
    return start !== null && end <= start;
  }

  /** Requested size of the live block at `ptr`, or null when `ptr` is not the start of a live block. */
  blockSize(ptr) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    const n = this.#raw.heap_block_size(ptr) >>> 0;
    return n === 0xffffffff ? null : n;
  }

  /** The memory's maximum in pages, when known (null for a caller's memory). */
  get maximumPages() {
    return this.#maximum;
  }

  // -- allocation (hot path: one check, one call)

  /** `size` bytes aligned to 8; returns the pointer, or 0 when out of memory (like C). */
  malloc(size) {
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = this.#x.malloc(size) >>> 0;
    if (this.#tracked !== null && p !== 0) this.#track(p, size);
    return p;
  }

  /**
   * Frees a block; 0 does nothing. A pointer that cannot be a block of this
   * heap (misaligned, outside its pages, not a block start) throws a
   * RangeError and nothing is freed.
   */
  free(ptr) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    const refused = this.#x.try_free(ptr);
    if (refused !== 0) throw refused === 2 ? doubleFree(ptr) : notABlock(ptr);
    if (this.#tracked !== null) this.#forgetTracked(ptr);
  }

  /** `n * size` zeroed bytes, or 0 (also on overflow). */
  calloc(n, size) {
    if (n >>> 0 !== n) throw badSize('n', n);
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = this.#x.calloc(n, size) >>> 0;
    if (this.#tracked !== null && p !== 0) this.#track(p, n * size);
    return p;
  }

  /** C `realloc`; on failure returns 0 and `ptr` stays valid. */
  realloc(ptr, size) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    if (size >>> 0 !== size) throw badSize('size', size);
    const refused = ptr !== 0 ? this.#x.stats_invalid_frees() : 0;
    const p = this.#x.realloc(ptr, size) >>> 0;
    if (p === 0 && ptr !== 0 && this.#x.stats_invalid_frees() !== refused) throw notABlock(ptr);
    if (this.#tracked !== null && (p !== 0 || size === 0)) {
      this.#forgetTracked(ptr);
      if (p !== 0) this.#track(p, size);
    }
    return p;
  }

  /** `size` bytes aligned to `align` (a power of two up to 65536), or 0. */
  alignedAlloc(align, size) {
    if (align >>> 0 !== align) throw badSize('align', align);
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = this.#x.aligned_alloc(align, size) >>> 0;
    if (this.#tracked !== null && p !== 0) this.#track(p, size);
    return p;
  }

  // -- views, rebuilt whenever memory.grow replaced the buffer

  // memory.grow detaches the old buffer of a non-shared memory, so a cached
  // buffer with byteLength 0 is stale. Checking that is much cheaper than
  // the `memory.buffer` accessor, which is only called when it changed.
  // (A shared memory never detaches: the threads build must compare identity.)
  #fresh() {
    const cached = this.#buffer;
    if (cached !== null && cached.byteLength !== 0) return cached;
    const b = this.#memory.buffer;
    this.#buffer = b;
    this.#u8 = this.#i8 = this.#u16 = this.#i16 = this.#i32 = this.#u32 = this.#f32 = this.#f64 = this.#dv = null;
    return b;
  }

  /** Uint8Array over the whole memory, never stale. */
  get u8() {
    const b = this.#fresh();
    return (this.#u8 ??= new Uint8Array(b));
  }
  /** Int8Array over the whole memory, never stale. */
  get i8() {
    const b = this.#fresh();
    return (this.#i8 ??= new Int8Array(b));
  }
  /** Uint16Array over the whole memory, never stale. */
  get u16() {
    const b = this.#fresh();
    return (this.#u16 ??= new Uint16Array(b));
  }
  /** Int16Array over the whole memory, never stale. */
  get i16() {
    const b = this.#fresh();
    return (this.#i16 ??= new Int16Array(b));
  }
  /** Int32Array over the whole memory, never stale. */
  get i32() {
    const b = this.#fresh();
    return (this.#i32 ??= new Int32Array(b));
  }
  /** Uint32Array over the whole memory, never stale. */
  get u32() {
    const b = this.#fresh();
    return (this.#u32 ??= new Uint32Array(b));
  }
  /** Float32Array over the whole memory, never stale. */
  get f32() {
    const b = this.#fresh();
    return (this.#f32 ??= new Float32Array(b));
  }
  /** Float64Array over the whole memory, never stale. */
  get f64() {
    const b = this.#fresh();
    return (this.#f64 ??= new Float64Array(b));
  }
  /** DataView over the whole memory, never stale. */
  get dataView() {
    const b = this.#fresh();
    return (this.#dv ??= new DataView(b));
  }

  // emscripten-style aliases (always fresh)
  /** Alias of `i8`. */ get HEAP8() { return this.i8; }
  /** Alias of `u8`. */ get HEAPU8() { return this.u8; }
  /** Alias of `i16`. */ get HEAP16() { return this.i16; }
  /** Alias of `u16`. */ get HEAPU16() { return this.u16; }
  /** Alias of `i32`. */ get HEAP32() { return this.i32; }
  /** Alias of `u32`. */ get HEAPU32() { return this.u32; }
  /** Alias of `f32`. */ get HEAPF32() { return this.f32; }
  /** Alias of `f64`. */ get HEAPF64() { return this.f64; }

  // -- copy helpers (throw OutOfMemoryError instead of returning 0)

  #mustAlloc(size, align = 8) {
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = (align === 8 ? this.#x.malloc(size) : this.#x.aligned_alloc(align, size)) >>> 0;
    if (p === 0) throw this.#oom(size);
    if (this.#tracked !== null) this.#track(p, size);
    return p;
  }

  #oom(size) {
    const pages = this.#memory.buffer.byteLength / PAGE_SIZE;
    const max = this.#maximum ?? 'unknown (memory passed by the caller)';
    if ((readOwnerTag(this.#memory.buffer)?.build & 0xff) === 3) {
      return new OutOfMemoryError(
        `could not allocate ${size} bytes: the wee_alloc build only uses pages it grows itself (never the ${this.#startPages} pages the memory started with), and memory.grow failed at ${pages} pages (maximum ${max}). Use the default build (dist/linalloc.wasm), or a memory with a larger maximum.`,
        'OUT_OF_MEMORY',
        { size, pages, maximum: this.#maximum, stats: this.stats() },
      );
    }
    return new OutOfMemoryError(
      `could not allocate ${size} bytes: the memory has ${pages} pages (${pages * PAGE_SIZE} bytes) and maximum ${max} pages, and memory.grow failed. ` +
        'Free blocks you no longer need, or load with a larger `maximum`.',
      'OUT_OF_MEMORY',
      { size, pages, maximum: this.#maximum, stats: this.stats() },
    );
  }

  #range(ptr, len) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    if (len >>> 0 !== len) throw badSize('length', len);
    if (ptr + len > this.#fresh().byteLength) {
      throw new RangeError(`linalloc: range ${ptr}..${ptr + len} is outside the memory (${this.#buffer.byteLength} bytes)`);
    }
  }

  /** Copies `bytes` into a new block; returns its pointer. */
  writeBytes(bytes) {
    let src = toBytes(bytes);
    if (!src) throw new TypeError('linalloc: writeBytes expects an ArrayBuffer or a typed array');
    // a view onto this memory would be detached if the allocation grows it
    if (src.buffer === this.#memory.buffer) src = src.slice();
    const p = this.#mustAlloc(src.length);
    this.u8.set(src, p);
    return p;
  }

  /** A copy of `len` bytes at `ptr`. */
  readBytes(ptr, len) {
    this.#range(ptr, len);
    return this.u8.slice(ptr, ptr + len);
  }

  /** Writes `str` as NUL-terminated UTF-8 into a new block; returns its pointer. */
  writeString(str) {
    if (typeof str !== 'string') throw new TypeError(`linalloc: writeString expects a string, got ${typeof str}`);
    const encoded = new TextEncoder().encode(str);
    const p = this.#mustAlloc(encoded.length + 1);
    const m = this.u8;
    m.set(encoded, p);
    m[p + encoded.length] = 0;
    return p;
  }

  /** Reads UTF-8 at `ptr`: `len` bytes, or up to the first NUL when `len` is omitted. */
  readString(ptr, len) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    const m = this.u8;
    let end;
    if (len === undefined) {
      end = m.indexOf(0, ptr);
      if (end < 0) throw new RangeError(`linalloc: no NUL terminator after ${ptr}`);
    } else {
      this.#range(ptr, len);
      end = ptr + len;
    }
    return new TextDecoder().decode(m.subarray(ptr, end));
  }

  /** Copies a typed array into a new block aligned for its element type; returns its pointer. */
  writeArray(array) {
    if (!ArrayBuffer.isView(array) || array instanceof DataView) throw new TypeError('linalloc: writeArray expects a typed array');
    let src = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    // a view onto this memory would be detached if the allocation grows it
    if (src.buffer === this.#memory.buffer) src = src.slice();
    const p = this.#mustAlloc(array.byteLength, Math.max(8, array.BYTES_PER_ELEMENT));
    this.u8.set(src, p);
    return p;
  }

  /** A copy of `length` elements of `Type` (e.g. `Float64Array`) at `ptr`. */
  readArray(Type, ptr, length) {
    if (typeof Type !== 'function' || !Type.BYTES_PER_ELEMENT) throw new TypeError('linalloc: readArray expects a typed array constructor such as Float64Array');
    if (length >>> 0 !== length) throw badSize('length', length);
    this.#range(ptr, length * Type.BYTES_PER_ELEMENT);
    if (ptr % Type.BYTES_PER_ELEMENT !== 0) throw new RangeError(`linalloc: ${Type.name} at ${ptr} is not aligned to ${Type.BYTES_PER_ELEMENT}`);
    return new Type(this.#buffer.slice(ptr, ptr + length * Type.BYTES_PER_ELEMENT));
  }

  // -- records

  /** Allocates an ID/X/Y record; throws OutOfMemoryError when the heap is full. */
  createRecord(id, x, y) {
    if (id >>> 0 !== id) throw new RangeError(`linalloc: record id must be a whole number from 0 to 4294967295, got ${id}`);
    const p = this.#x.createRecord(id, x, y) >>> 0;
    if (p === 0) throw this.#oom(24);
    if (this.#tracked !== null) this.#track(p, 24);
    return new Record(this, p);
  }

  /** Wraps an existing record pointer; a RangeError unless `ptr` is a live block of at least 24 bytes. */
  record(ptr) {
    if (ptr >>> 0 !== ptr || ptr === 0) throw badPtr(ptr);
    const size = this.blockSize(ptr);
    if (size === null || size < 24) {
      throw new RangeError(`linalloc: ${ptr} is not a record: ${size === null ? 'not the start of a live block (freed, or not from this heap)' : `a live block of only ${size} bytes`}; records come from heap.createRecord() or the createRecord export.`);
    }
    return new Record(this, ptr);
  }

  // -- stats and tracking

  /** Heap counters and memory size. */
  stats() {
    const x = this.#x;
    const memoryBytes = this.#memory.buffer.byteLength;
    return {
      inUseBytes: x.stats_in_use_bytes() >>> 0,
      peakInUseBytes: x.stats_peak_in_use_bytes() >>> 0,
      liveAllocations: x.stats_live_allocations() >>> 0,
      totalAllocations: x.stats_total_allocations() >>> 0,
      failedAllocations: x.stats_failed_allocations() >>> 0,
      heapBytes: x.stats_heap_bytes() >>> 0,
      invalidFrees: x.stats_invalid_frees() >>> 0,
      memoryBytes,
      pages: memoryBytes / PAGE_SIZE,
    };
  }

  /** When true, blocks allocated through this Heap are remembered (see `liveBlocks`). */
  get tracking() {
    return this.#tracked !== null;
  }
  set tracking(on) {
    this.#tracked = on ? (this.#tracked ?? new Map()) : null;
  }

  /** True for the checked build. */
  get checked() {
    return typeof this.#x.heap_check === 'function';
  }

  /**
   * Checked build: verifies every live block's header and canary; throws a
   * HeapCorruptionError naming the first damaged block. Release build: no-op.
   */
  check() {
    if (!this.checked) return;
    const code = this.#x.heap_check();
    if (code !== 0) throw this._fault();
  }

  /** @internal the error for the fault the checked module just recorded */
  _fault() {
    const x = this.#raw;
    const code = x.checked_error_code();
    const ptr = x.checked_error_ptr() >>> 0;
    let size = x.checked_error_size() >>> 0;
    const at = x.checked_error_at() >>> 0;
    x.checked_error_clear();
    const site = this.#tracked?.get(ptr) ?? this.#freedSites?.get(ptr);
    if (!size && site) size = site.size;
    return faultError(code, { ptr, size, at, site });
  }

  #forgetTracked(ptr) {
    const b = this.#tracked.get(ptr);
    if (b === undefined) return;
    this.#tracked.delete(ptr);
    if (this.checked) {
      // remember recent frees, so a double free can name the allocation site
      this.#freedSites ??= new Map();
      this.#freedSites.set(ptr, b);
      if (this.#freedSites.size > 4096) this.#freedSites.delete(this.#freedSites.keys().next().value);
    }
  }

  #track(ptr, size) {
    // V8 and SpiderMonkey capture frames here but format `.stack` lazily.
    this.#tracked.set(ptr, { size, site: new Error('allocated here') });
  }

  /** Live blocks allocated through this Heap while tracking: `[{ ptr, size, stack }]`, by address. */
  liveBlocks() {
    if (this.#tracked === null) return [];
    return [...this.#tracked].map(([ptr, b]) => ({ ptr, size: b.size, get stack() { return b.site.stack; } })).sort((a, b) => a.ptr - b.ptr);
  }

  /** @internal an OutOfMemoryError for `size` bytes */
  _oom(size) {
    return this.#oom(size);
  }

  /** Static regions of the allocator and the modules linked into this heap: `[{ module, start, end }]`. */
  get regions() {
    return this._regions.map((r) => ({ ...r }));
  }

  /** @internal used by Record */
  _forget(ptr) {
    if (this.#tracked !== null) this.#forgetTracked(ptr);
  }
}


/**
 * The LinallocError for checked-build fault `code` (see src/checked/fault.rs)
 * about block `ptr` of `size` bytes, first damaged byte `at`, allocated at `site`.
 */
function faultError(code, { ptr, size, at, site }) {
  const where = site ? `\nallocated at:\n${site.site.stack?.split('\n').slice(1).join('\n')}` : ' (load with { track: true } to see where it was allocated)';
  const block = `block ${ptr} (${hex(ptr)}${size ? `, ${size} bytes` : ''})`;
  const byte = at ? ` (first damaged byte at ${hex(at)})` : '';
  const details = { ptr, size, at, allocationStack: site?.site.stack };
  switch (code) {
    case 1: return new DoubleFreeError(`double free of ${block}: it was freed already and not handed out since. Free each block once; set the pointer to 0 after freeing.${where}`, 'DOUBLE_FREE', details);
    case 2: return new InvalidFreeError(`free of ${ptr} (${hex(ptr)}), which is not the start of a live block (an interior, misaligned or foreign pointer, static data, or — after a reported overrun — a block whose guard and record were overwritten). Pass exactly what malloc returned.`, 'INVALID_FREE', details);
    case 3: return new HeapCorruptionError(`buffer overflow: bytes after the end of ${block} were overwritten${byte}. Check the writes into this block against its size. The block is retired (never reused).${where}`, 'OVERFLOW', details);
    case 4: return new HeapCorruptionError(`buffer underflow: the 16 bytes in front of ${block} were overwritten${byte}: a write before the block's start (a negative index), or an overrun from the block below it. The block is retired (never reused).${where}`, 'UNDERFLOW', details);
    case 5: return new InvalidFreeError(`dealloc of ${block} with a size or alignment other than the allocation's. Pass the size and align used with alloc.${where}`, 'SIZE_MISMATCH', details);
    case 6: return new HeapCorruptionError(`write after free: freed memory at ${hex(ptr)} was written${byte} after it was freed: a write through a dangling pointer (or an overrun from the block below it). That memory is retired (never reused).`, 'WRITE_AFTER_FREE', details);
    case 7: return new HeapCorruptionError(`the checked heap's own metadata at ${hex(ptr)} was overwritten${byte}, probably by an overrun from a block below it: the damaged entries were dropped (the blocks they described can no longer be freed). Run heap.check() after suspicious writes to find the overrun.`, 'METADATA_CORRUPT', details);
    default: return null;
  }
}

/**
 * The checked build's exports, each turning the module's fault trap into the
 * matching LinallocError (raw calls through `heap.exports` get them too).
 */
function checkedExports(raw, heap) {
  const out = {};
  for (const [name, v] of Object.entries(raw)) {
    if (typeof v !== 'function' || name.startsWith('checked_error_')) {
      out[name] = v;
      continue;
    }
    out[name] = (...args) => {
      try {
        return v(...args);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          const fault = heap._fault();
          if (fault) throw fault;
        }
        throw e;
      }
    };
  }
  return Object.freeze(out);
}

/** An ID/X/Y record in wasm memory; fields read through fresh views. */
export class Record {
  #heap;
  #ptr;

  /** @param {Heap} heap @param {number} ptr */
  constructor(heap, ptr) {
    this.#heap = heap;
    this.#ptr = ptr;
  }

  #p() {
    const p = this.#ptr;
    if (p === 0) throw new UseAfterFreeError('this record was freed; create a new one with heap.createRecord().', 'USE_AFTER_FREE');
    return p;
  }

  /** Address of the record (0 after `free()`). */
  get ptr() {
    return this.#ptr;
  }
  /** u32 at offset 0. */
  get id() {
    return this.#heap.u32[this.#p() >>> 2];
  }
  set id(v) {
    this.#heap.u32[this.#p() >>> 2] = v;
  }
  /** f64 at offset 8. */
  get x() {
    return this.#heap.f64[(this.#p() >>> 3) + 1];
  }
  set x(v) {
    this.#heap.f64[(this.#p() >>> 3) + 1] = v;
  }
  /** f64 at offset 16. */
  get y() {
    return this.#heap.f64[(this.#p() >>> 3) + 2];
  }
  set y(v) {
    this.#heap.f64[(this.#p() >>> 3) + 2] = v;
  }
  /** `{ ptr, id, x, y }` */
  toJSON() {
    return { ptr: this.#p(), id: this.id, x: this.x, y: this.y };
  }
  /** Frees the record; any later use throws UseAfterFreeError. */
  free() {
    const p = this.#p();
    this.#ptr = 0;
    this.#heap._forget(p);
    this.#heap.exports.deleteRecord(p);
  }
}
