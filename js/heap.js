// The Heap class: a loaded allocator's exports and memory, and allocation.
// Its typed-array views that are never stale are its base class (views.js);
// copy helpers, records, tracking and the checked build's faults live in
// their own modules; the Heap calls them.
//
// Hot paths (`malloc`/`free`, the view getters) do one comparison and one
// call; everything else is kept out of them. A trap out of any call (the
// heap's memory was damaged) becomes a HeapCorruptionError, and from then on
// every call throws one without entering the module (`#fail`).

import { LOCK, readStats } from './abi.js';
import { checkedExports, isCheckedBuild, takeFault } from './checked.js';
import { LinallocError, badField, badPtr, badSize, doubleFree, failedExports, failedCall, heapFailure, markFailed, notABlock, stoppedMidCall } from './errors.js';
import { readArray, readBytes, readString, writeArray, writeBytes, writeString } from './heap-data.js';
import { INTERNAL } from './internal.js';
import { PAGE_SIZE, outOfMemory } from './memory.js';
import { RECORD_SIZE, Record, recordAt } from './record.js';
import { Tracker } from './tracking.js';
import { workerDone, workerInit } from './threads.js';
import { MemoryViews, isSharedBuffer } from './views.js';
import { readOwnerTag } from './wasm-info.js';

/**
 * A loaded allocator: its exports, its memory, fresh views and helpers.
 * Pointers are unsigned numbers, so addresses above 2 GiB are positive.
 */
// The lock word of the threads build, as an Int32Array index, and its mark.
const LOCK_WORD = LOCK.address >> 2;
const FAILED = LOCK.failed;
// The exports of a heap that stopped half-way, until `#fail` has made its error.
const DEAD = new Proxy(Object.freeze({}), { get: () => failedCall });
// `#halted` when another thread had marked the heap failed first.
const FAILED_BEFORE = Symbol('failed before');

export class Heap extends MemoryViews {
  #x; // the exports (the checked build's wrapped to throw named errors)
  // the two hot exports, read once (one property load less per call)
  #malloc;
  #tryFree;
  #raw; // the instance's own exports (unwrapped)
  #memory;
  #maximum;
  #startPages;
  #shared; // a SharedArrayBuffer memory (threads build)
  // What happens at once when a call stops half-way (a trap, or the stack
  // running out inside it) is written out at each call site, without a
  // single call: a stack overflow inside a heap call is caught near the
  // limit, where calling anything (`#fail` included) overflows again. A
  // shared heap's lock word is marked failed there, so no thread spins on
  // it (found by an adversarial run: the threads build hung after a stack
  // overflow inside malloc), and the hot paths stop entering the module.
  #plain; // not the checked build, whose wrapped exports throw its named faults
  #lock = null; // the lock word's Int32Array (threads build)
  #halted = null; // the error that stopped a call half-way (FAILED_BEFORE: another thread's)
  #tracked = null; // the Tracker while tracking, else null (checked on every allocation)
  #tracker = null; // the Tracker once tracking was on: it keeps recently freed sites

  /**
   * Wraps an instantiated linalloc module. Prefer `load()`.
   * @param {WebAssembly.Instance} instance
   * @param {WebAssembly.Memory} memory the memory it imported
   * @param {number|null} [maximum] the memory's maximum in pages, when known
   */
  constructor(instance, memory, maximum = null) {
    super(memory);
    // package-private state for the loader's modules (js/internal.js)
    Object.defineProperty(this, INTERNAL, {
      value: {
        regions: [],
        table: null,
        module: null, // the compiled allocator (workerInit posts it)
        oom: (size) => outOfMemory(this, size),
        fault: () => this.#fault(),
        // a linked module's call stopped half-way: the heap's own failure
        fail: (e) => this.#fail(e),
        call: (name, a, b) => this.#call(name, a, b),
        forget: (ptr) => {
          if (this.#tracked !== null) this.#tracked.forget(ptr);
        },
      },
    });
    this.#raw = instance.exports;
    this.#x = isCheckedBuild(this.#raw) ? checkedExports(this.#raw, this) : this.#raw;
    this.#malloc = this.#x.malloc;
    this.#tryFree = this.#x.try_free;
    this.#memory = memory;
    this.#shared = isSharedBuffer(memory.buffer);
    if (this.#shared) this.#lock = new Int32Array(memory.buffer, 0, LOCK_WORD + 1);
    this.#plain = this.#x === this.#raw;
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

  /** Name of the build that owns this memory's heap, e.g. `lin`, `dlmalloc` or `checked`. */
  get build() {
    return readOwnerTag(this.#memory.buffer)?.name ?? null;
  }

  /** The memory's maximum in pages, when known (null for a caller's memory). */
  get maximumPages() {
    return this.#maximum;
  }

  /** Static regions of the allocator and the modules linked into this heap: `[{ module, start, end }]`. */
  get regions() {
    return this[INTERNAL].regions.map((r) => ({ ...r }));
  }

  /**
   * Keeps `[0, end)` out of the heap: true when it is reserved now (only
   * possible before the first allocation) or already below the heap's start.
   */
  reserveBelowHeap(end) {
    if (end >>> 0 !== end) throw badSize('end', end);
    if (this.#call('heap_reserve', end) === 1) return true;
    const start = this.heapStart;
    return start !== null && end <= start;
  }

  /** Requested size of the live block at `ptr`, or null when `ptr` is not the start of a live block. */
  blockSize(ptr) {
    if (ptr >>> 0 !== ptr) throw badPtr(ptr);
    const n = this.#call('heap_block_size', ptr) >>> 0;
    return n === 0xffffffff ? null : n;
  }

  // -- allocation (hot path: one check, one call)

  /** `size` bytes aligned to 8; returns the pointer, or 0 when out of memory (like C). */
  malloc(size) {
    if (size >>> 0 !== size) throw badSize('size', size);
    let p;
    try {
      p = this.#malloc(size) >>> 0;
    } catch (e) {
      // inline, no call (see #halted)
      if (this.#plain && this.#halted === null && (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)) {
        this.#halted = this.#lock !== null && this.#lock[LOCK_WORD] === FAILED ? FAILED_BEFORE : e;
        if (this.#lock !== null) this.#lock[LOCK_WORD] = FAILED;
        this.#malloc = this.#tryFree = failedCall;
        this.#x = DEAD;
      }
      throw this.#fail(e);
    }
    if (this.#tracked !== null && p !== 0) this.#tracked.add(p, size);
    return p;
  }

  /**
   * Frees a block; 0 does nothing. A pointer that cannot be a block of this
   * heap (misaligned, outside its pages, not a block start, not a u32) throws
   * an InvalidFreeError, a block freed already a DoubleFreeError, and
   * nothing is freed.
   */
  free(ptr) {
    if (ptr >>> 0 !== ptr) throw typeof ptr === 'number' ? notABlock(ptr) : badPtr(ptr);
    let refused;
    try {
      refused = this.#tryFree(ptr);
    } catch (e) {
      // inline, no call (see #halted)
      if (this.#plain && this.#halted === null && (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)) {
        this.#halted = this.#lock !== null && this.#lock[LOCK_WORD] === FAILED ? FAILED_BEFORE : e;
        if (this.#lock !== null) this.#lock[LOCK_WORD] = FAILED;
        this.#malloc = this.#tryFree = failedCall;
        this.#x = DEAD;
      }
      throw this.#fail(e);
    }
    if (refused !== 0) throw refused === 2 ? doubleFree(ptr) : notABlock(ptr);
    if (this.#tracked !== null) this.#tracked.forget(ptr);
  }

  /**
   * Bump build only (dist/linalloc-bump.wasm): frees every block at once.
   * Pointers from before the reset are refused afterwards; Records made
   * before it must not be used.
   */
  reset() {
    if (typeof this.#raw.heap_reset !== 'function') {
      throw new LinallocError(`heap.reset() needs the bump build (dist/linalloc-bump.wasm); this heap is ${this.build ?? 'not started'}: free its blocks one by one`, 'NOT_BUMP_BUILD');
    }
    this.#call('heap_reset');
    if (this.#tracked !== null) this.#tracked.live.clear();
  }

  /** `n * size` zeroed bytes, or 0 (also on overflow). */
  calloc(n, size) {
    if (n >>> 0 !== n) throw badSize('n', n);
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = this.#call('calloc', n, size) >>> 0;
    if (this.#tracked !== null && p !== 0) this.#tracked.add(p, n * size);
    return p;
  }

  /** C `realloc`; on failure returns 0 and `ptr` stays valid. */
  realloc(ptr, size) {
    if (ptr >>> 0 !== ptr) throw typeof ptr === 'number' ? notABlock(ptr) : badPtr(ptr);
    if (size >>> 0 !== size) throw badSize('size', size);
    if (size === 0 && ptr !== 0) {
      // C's realloc(p, 0) frees p: refused pointers throw as free does
      this.free(ptr);
      return 0;
    }
    const p = this.#call('realloc', ptr, size) >>> 0;
    // 0 for a live block is out of memory (the block stays); for anything
    // else the pointer was refused. (Not a counter compared before and
    // after: other threads change the counters of a shared heap.)
    if (p === 0 && ptr !== 0 && size !== 0 && this.blockSize(ptr) === null) throw notABlock(ptr);
    if (this.#tracked !== null && (p !== 0 || size === 0)) {
      this.#tracked.forget(ptr);
      if (p !== 0) this.#tracked.add(p, size);
    }
    return p;
  }

  /** `size` bytes aligned to `align` (a power of two up to 65536), or 0. */
  alignedAlloc(align, size) {
    if (align >>> 0 !== align) throw badSize('align', align);
    if (size >>> 0 !== size) throw badSize('size', size);
    const p = this.#call('aligned_alloc', align, size) >>> 0;
    if (this.#tracked !== null && p !== 0) this.#tracked.add(p, size);
    return p;
  }

  // -- views (js/views.js, the base class): u8 … f64, dataView, HEAP8 … HEAPF64

  // -- copy helpers (js/heap-data.js; they throw OutOfMemoryError instead of returning 0)

  /** Copies `bytes` into a new block; returns its pointer. */
  writeBytes(bytes) {
    return writeBytes(this, bytes);
  }
  /** A copy of `len` bytes at `ptr`. */
  readBytes(ptr, len) {
    return readBytes(this, ptr, len);
  }
  /** Writes `str` as NUL-terminated UTF-8 into a new block; returns its pointer. */
  writeString(str) {
    return writeString(this, str);
  }
  /** Reads UTF-8 at `ptr`: `len` bytes, or up to the first NUL when `len` is omitted. */
  readString(ptr, len) {
    return readString(this, ptr, len);
  }
  /** Copies a typed array into a new block aligned for its element type; returns its pointer. */
  writeArray(array) {
    return writeArray(this, array);
  }
  /** A copy of `length` elements of `Type` (e.g. `Float64Array`) at `ptr`. */
  readArray(Type, ptr, length) {
    return readArray(this, Type, ptr, length);
  }

  // -- records (js/record.js)

  /** Allocates an ID/X/Y record; throws OutOfMemoryError when the heap is full. */
  createRecord(id, x, y) {
    if (id >>> 0 !== id) throw badSize('record id', id, 'a number');
    if (typeof x !== 'number' || typeof y !== 'number') throw badField(typeof x !== 'number' ? 'x' : 'y', typeof x !== 'number' ? x : y);
    const p = this.#call('createRecord', id, x, y) >>> 0;
    if (p === 0) throw outOfMemory(this, RECORD_SIZE);
    if (this.#tracked !== null) this.#tracked.add(p, RECORD_SIZE);
    return new Record(this, p);
  }

  /** Wraps an existing record pointer; a RangeError unless `ptr` is a live block of at least 24 bytes. */
  record(ptr) {
    return recordAt(this, ptr);
  }

  // -- stats, tracking, checking

  /** Heap counters and memory size. */
  stats() {
    const memoryBytes = this.#memory.buffer.byteLength;
    let counters;
    try {
      counters = readStats(this.#x);
    } catch (e) {
      // inline, no call (see #halted)
      if (this.#plain && this.#halted === null && (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)) {
        this.#halted = this.#lock !== null && this.#lock[LOCK_WORD] === FAILED ? FAILED_BEFORE : e;
        if (this.#lock !== null) this.#lock[LOCK_WORD] = FAILED;
        this.#malloc = this.#tryFree = failedCall;
        this.#x = DEAD;
      }
      throw this.#fail(e);
    }
    return { ...counters, memoryBytes, pages: memoryBytes / PAGE_SIZE };
  }

  /** When true, blocks allocated through this Heap are remembered (see `liveBlocks`). */
  get tracking() {
    return this.#tracked !== null;
  }
  set tracking(on) {
    if (on) {
      this.#tracked ??= this.#tracker ??= new Tracker(this.checked);
    } else if (this.#tracked !== null) {
      this.#tracked.live.clear(); // tracking again starts afresh
      this.#tracked = null;
    }
  }

  /** Live blocks allocated through this Heap while tracking: `[{ ptr, size, stack }]`, by address. */
  liveBlocks() {
    if (this.#tracked === null) {
      throw new LinallocError('liveBlocks() lists the blocks tracking saw, and tracking is off: load with { track: true } (or set heap.tracking = true before allocating).', 'NOT_TRACKING');
    }
    return this.#tracked.blocks();
  }

  /** True when the memory is shared (the threads build, for workers). */
  get shared() {
    return this.#shared;
  }

  /** Threads build: a new worker's stack and what it needs; post it, then `attach(init)` in the worker. */
  workerInit() {
    return workerInit(this);
  }

  /** Threads build: gives the stack of `init` back, once its worker has ended. */
  workerDone(init) {
    workerDone(this, init);
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
    const code = this.#call('heap_check');
    if (code !== 0) throw this.#fault();
  }

  // the error for the fault the checked module just recorded
  #fault() {
    return takeFault(this.#raw, (ptr) => this.#tracker?.siteOf(ptr), this.#tracked !== null);
  }

  // export `name` called with up to three arguments (fixed arity: no rest
  // array), a trap turned into the heap's failure
  #call(name, a, b, c) {
    try {
      return this.#x[name](a, b, c);
    } catch (e) {
      // inline, no call (see #halted)
      if (this.#plain && this.#halted === null && (e instanceof WebAssembly.RuntimeError || e instanceof RangeError)) {
        this.#halted = this.#lock !== null && this.#lock[LOCK_WORD] === FAILED ? FAILED_BEFORE : e;
        if (this.#lock !== null) this.#lock[LOCK_WORD] = FAILED;
        this.#malloc = this.#tryFree = failedCall;
        this.#x = DEAD;
      }
      throw this.#fail(e);
    }
  }

  // The error for `e` thrown out of a heap call: a trap means the heap's
  // memory is damaged, so the heap fails for good (its exports are swapped
  // for ones that throw, which costs the hot paths nothing); anything else
  // (the checked build's named faults) passes through.
  #fail(e) {
    if (!stoppedMidCall(e)) return e;
    // the inline mark was a plain store (no call was possible there): the
    // atomic one now, or the first one for a failure no call site saw (a
    // linked module's call into the allocator)
    const other = this.#halted === FAILED_BEFORE || (this.#halted === null && this.#shared && markFailed(this.#memory));
    if (this.#lock !== null) Atomics.store(this.#lock, LOCK_WORD, FAILED);
    this.#halted ??= e;
    const error = heapFailure(e, this.#memory, this.#shared, other);
    this.#x = this.#raw = failedExports(this.#raw, error);
    this.#malloc = this.#x.malloc;
    this.#tryFree = this.#x.try_free;
    return error;
  }
}
