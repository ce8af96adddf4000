// What the loader reports: its error classes, the checked build's fault ->
// error table, the heap's argument errors, and one-time warnings.

import { FAULT_NAMES, LOCK } from './abi.js';

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

/** `n` as `0x…`. */
export const hex = (n) => `0x${n.toString(16)}`;

/** Prints `linalloc: msg` as a console warning (where there is a console). */
export const warn = (msg) => (typeof console !== 'undefined' ? console.warn(`linalloc: ${msg}`) : undefined);

// ---------------------------------------------------------------- checked-build faults

// One message per fault name of abi.js's FAULTS; `f` is { block, ptr, byte, where, details }.
const FAULT_ERRORS = {
  DOUBLE_FREE: (f) => new DoubleFreeError(`double free of ${f.block}: it was freed already and not handed out since. Free each block once; set the pointer to 0 after freeing.${f.where}`, 'DOUBLE_FREE', f.details),
  INVALID_FREE: (f) => new InvalidFreeError(`free of ${f.ptr} (${hex(f.ptr)}), which is not the start of a live block (an interior, misaligned or foreign pointer, static data, or — after a reported overrun — a block whose guard and record were overwritten). Pass exactly what malloc returned.`, 'INVALID_FREE', f.details),
  OVERFLOW: (f) => new HeapCorruptionError(`buffer overflow: bytes after the end of ${f.block} were overwritten${f.byte}. Check the writes into this block against its size. The block is retired (never reused).${f.where}`, 'OVERFLOW', f.details),
  UNDERFLOW: (f) => new HeapCorruptionError(`buffer underflow: the 16 bytes in front of ${f.block} were overwritten${f.byte}: a write before the block's start (a negative index), or an overrun from the block below it. The block is retired (never reused).${f.where}`, 'UNDERFLOW', f.details),
  SIZE_MISMATCH: (f) => new InvalidFreeError(`dealloc of ${f.block} with a size or alignment other than the allocation's. Pass the size and align used with alloc.${f.where}`, 'SIZE_MISMATCH', f.details),
  WRITE_AFTER_FREE: (f) => new HeapCorruptionError(`write after free: freed memory at ${hex(f.ptr)} was written${f.byte} after it was freed: a write through a dangling pointer (or an overrun from the block below it). That memory is retired (never reused).`, 'WRITE_AFTER_FREE', f.details),
  METADATA_CORRUPT: (f) => new HeapCorruptionError(`the checked heap's own metadata at ${hex(f.ptr)} was overwritten${f.byte}, probably by an overrun from a block below it: the damaged entries were dropped (the blocks they described can no longer be freed). Run heap.check() after suspicious writes to find the overrun.`, 'METADATA_CORRUPT', f.details),
};

/**
 * The LinallocError for checked-build fault `code` (abi.js FAULTS, from
 * src/checked/fault.rs) about block `ptr` of `size` bytes, first damaged byte
 * `at`, allocated at `site` (a tracked block `{ size, site: Error }`), with
 * `tracking` on or off; null for an unknown code.
 */
export function faultError(code, { ptr, size, at, site, tracking = false }) {
  const make = FAULT_ERRORS[FAULT_NAMES[code]];
  if (make === undefined) return null;
  const stack = site ? userStack(site.site) : undefined;
  const untracked = tracking
    ? ' (not allocated through this Heap\'s methods, so tracking has no stack for it)'
    : ' (load with { track: true } to see where it was allocated)';
  return make({
    ptr,
    block: `block ${ptr} (${hex(ptr)}${size ? `, ${size} bytes` : ''})`,
    byte: at ? ` (first damaged byte at ${hex(at)})` : '',
    where: stack ? `\nallocated at:\n${stack.split('\n').slice(1).join('\n')}` : untracked,
    details: { ptr, size, at, allocationStack: stack },
  });
}

// The loader's own modules, whose frames start every allocation stack
// (Tracker.add, Heap.malloc, writeString, …). Bundled, the names do not
// match and nothing is dropped.
const LOADER_FILES = ['tracking', 'heap', 'heap-data', 'record', 'checked', 'threads', 'link', 'link-client', 'load'].map((f) => new URL(`./${f}.js:`, import.meta.url).href);

/** The `.stack` of `error` without the loader's own frames at its top (V8's first line, the message, kept). */
export function userStack(error) {
  const lines = error.stack?.split('\n');
  if (!lines) return undefined;
  const loader = (line) => LOADER_FILES.some((f) => line.includes(f));
  const head = loader(lines[0]) ? 0 : 1; // SpiderMonkey and JSC have no message line
  let k = head;
  while (k < lines.length && loader(lines[k])) k++;
  return [...lines.slice(0, head), ...lines.slice(k)].join('\n');
}

// ---------------------------------------------------------------- the heap's argument errors

// Arguments of the wrong type or out of range are the built-in TypeError and
// RangeError, as JavaScript's own functions throw them, with a stable `code`
// as well (docs/LOADER.md, "Errors").

/** `error` with a stable `code` (for the TypeErrors and RangeErrors of bad arguments). */
export const coded = (error, code) => Object.assign(error, { code });

/** A short description of a value for messages: `undefined (missing?)`, `the string "8"`, `an object`. */
export function describe(value) {
  if (value === undefined) return 'undefined (a missing argument?)';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'bigint') return `the bigint ${value}n (pass Number(value))`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A TypeError or RangeError (`code` BAD_SIZE) for a size-like argument that is not a u32. */
export function badSize(what, value, unit = 'a number of bytes') {
  if (typeof value !== 'number') return coded(new TypeError(`linalloc: ${what} must be ${unit}, got ${describe(value)}`), 'BAD_SIZE');
  return coded(new RangeError(`linalloc: ${what} must be a whole number from 0 to 4294967295, got ${value}`), 'BAD_SIZE');
}

/** A TypeError or RangeError (`code` BAD_POINTER) for a pointer argument that is not a u32. */
export function badPtr(value) {
  if (typeof value !== 'number') return coded(new TypeError(`linalloc: pointer must be a number, got ${describe(value)}`), 'BAD_POINTER');
  return coded(new RangeError(`linalloc: pointer must be a whole number from 0 to 4294967295 (use ptr >>> 0 on raw export results), got ${value}`), 'BAD_POINTER');
}

/** The TypeError (`code` BAD_FIELD) for a record field `x` or `y` set to `value`, which is not a number. */
export function badField(name, value) {
  return coded(new TypeError(`linalloc: record field ${name} must be a number, got ${describe(value)}`), 'BAD_FIELD');
}

/**
 * The InvalidFreeError for a free of something that is not a live block of
 * the heap (also a number that cannot be a pointer: negative, fractional, ≥ 2³²).
 */
export function notABlock(ptr) {
  const range = ptr >>> 0 === ptr ? '' : ' (not even a pointer: negative, fractional or ≥ 2³²; use ptr >>> 0 on raw export results)';
  return new InvalidFreeError(`${ptr}${range} is not a block of this heap that is live (freed already — a double free —, misaligned, outside its pages, or not the start of a block; a pointer from another heap?); nothing was freed. Pass exactly what malloc returned.`, 'INVALID_FREE', { ptr });
}

/** The DoubleFreeError for a free the release build refused as a double free. */
export function doubleFree(ptr) {
  return new DoubleFreeError(`double free of block ${ptr} (0x${ptr.toString(16)}): it was freed already, and this second free was refused (nothing was freed). Free each block once; set the pointer to 0 after freeing.`, 'DOUBLE_FREE', { ptr });
}

// ---------------------------------------------------------------- a heap that trapped

/**
 * Whether `e`, thrown out of a heap call, stopped the call half-way: a trap,
 * or the engine's stack overflow (a RangeError thrown from inside wasm when
 * a deep recursion calls the heap: the heap may be half-updated, and the
 * threads build's lock stays held; found by an adversarial run).
 */
export const stoppedMidCall = (e) => e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /call stack/i.test(e.message));

/**
 * The HeapCorruptionError (`HEAP_FAILED`) for `cause`, a trap
 * (WebAssembly.RuntimeError) out of a heap call; any other error is returned
 * as is. On a shared memory the heap is marked failed in memory, so the
 * other threads' calls stop too (they trap, finding the mark).
 */
export function heapFailure(cause, memory, shared, other = shared && markFailed(memory)) {
  if (!stoppedMidCall(cause)) return cause;
  const what = other
    ? 'another thread found this heap\'s memory damaged and marked the heap failed, so this call stopped'
    : cause instanceof RangeError
      ? `a heap call ran out of stack half-way (${cause.message}: a deep recursion around a heap call), so the heap may be half-updated`
      : `a heap call trapped (${cause.message}): the heap's memory is damaged, probably by a write through a dangling pointer (after free) or past the end of a block`;
  return new HeapCorruptionError(
    `${what}. The heap can no longer be used${shared ? ' by any thread' : ''}: its blocks may overlap or lie outside it. ` +
      'Reload (a new memory and load()); to find the bad write, run the program on the checked build (load(undefined, { checked: true })).',
    'HEAP_FAILED',
    { cause, otherThread: other },
  );
}

/**
 * Marks the heap of the shared `memory` failed (its lock word), so every
 * thread's next heap call traps: true when another thread marked it first.
 */
export function markFailed(memory) {
  const words = new Int32Array(memory.buffer, 0, (LOCK.address >> 2) + 1);
  return Atomics.exchange(words, LOCK.address >> 2, LOCK.failed) === LOCK.failed;
}

/** What a heap's calls do once it has failed and its error could not be made yet (no stack left): throw. */
export function failedCall() {
  throw new HeapCorruptionError('this heap failed earlier (a heap call stopped half-way: a trap, or the stack ran out) and can no longer be used. Reload (a new memory and load()).', 'HEAP_FAILED');
}

/** Exports like `exports` whose every function throws a HeapCorruptionError saying the heap failed earlier with `first`. */
export function failedExports(exports, first) {
  const dead = () => {
    throw new HeapCorruptionError(`this heap failed earlier and can no longer be used: ${first.message}`, 'HEAP_FAILED', { cause: first, otherThread: first.otherThread });
  };
  return Object.freeze(Object.fromEntries(Object.entries(exports).map(([n, v]) => [n, typeof v === 'function' ? dead : v])));
}
