// What the loader reports: its error classes, the checked build's fault ->
// error table, the heap's argument errors, and one-time warnings.

import { FAULT_NAMES } from './abi.js';

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
 * `at`, allocated at `site` (a tracked block `{ size, site: Error }`); null
 * for an unknown code.
 */
export function faultError(code, { ptr, size, at, site }) {
  const make = FAULT_ERRORS[FAULT_NAMES[code]];
  if (make === undefined) return null;
  return make({
    ptr,
    block: `block ${ptr} (${hex(ptr)}${size ? `, ${size} bytes` : ''})`,
    byte: at ? ` (first damaged byte at ${hex(at)})` : '',
    where: site ? `\nallocated at:\n${site.site.stack?.split('\n').slice(1).join('\n')}` : ' (load with { track: true } to see where it was allocated)',
    details: { ptr, size, at, allocationStack: site?.site.stack },
  });
}

// ---------------------------------------------------------------- the heap's argument errors

/** A TypeError or RangeError for a size-like argument that is not a u32. */
export function badSize(what, value) {
  if (typeof value !== 'number') return new TypeError(`linalloc: ${what} must be a number of bytes, got ${typeof value} ${JSON.stringify(value)}`);
  return new RangeError(`linalloc: ${what} must be a whole number from 0 to 4294967295, got ${value}`);
}

/** A TypeError or RangeError for a pointer argument that is not a u32. */
export function badPtr(value) {
  if (typeof value !== 'number') return new TypeError(`linalloc: pointer must be a number, got ${typeof value} ${JSON.stringify(value)}`);
  return new RangeError(`linalloc: pointer must be a whole number from 0 to 4294967295 (use ptr >>> 0 on raw export results), got ${value}`);
}

/** The RangeError for a free of something that is not a live block of the heap. */
export function notABlock(ptr) {
  return new RangeError(`linalloc: ${ptr} is not a block of this heap that is live (freed already — a double free —, misaligned, outside its pages, or not the start of a block; a pointer from another heap?); nothing was freed`);
}

/** The DoubleFreeError for a free the release build refused as a double free. */
export function doubleFree(ptr) {
  return new DoubleFreeError(`double free of block ${ptr} (0x${ptr.toString(16)}): it was freed already, and this second free was refused (nothing was freed). Free each block once; set the pointer to 0 after freeing.`, 'DOUBLE_FREE', { ptr });
}
