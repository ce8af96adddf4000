// ID/X/Y records: the `RecordView` wrapper around a record in wasm memory (the
// layout of src/record.rs: u32 id at 0, f64 x at 8, f64 y at 16), and
// wrapping an existing record pointer after checking it.

import { LinallocError, UseAfterFreeError, badField, badPtr, badSize } from './errors.js';
import { INTERNAL } from './internal.js';

/** Bytes of one record. */
export const RECORD_SIZE = 24;

/** An ID/X/Y record in wasm memory; fields read through fresh views. */
export class RecordView {
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
    if (v >>> 0 !== v) throw badSize('record id', v, 'a number');
    this.#heap.u32[this.#p() >>> 2] = v;
  }
  /** f64 at offset 8. */
  get x() {
    return this.#heap.f64[(this.#p() >>> 3) + 1];
  }
  set x(v) {
    if (typeof v !== 'number') throw badField('x', v);
    this.#heap.f64[(this.#p() >>> 3) + 1] = v;
  }
  /** f64 at offset 16. */
  get y() {
    return this.#heap.f64[(this.#p() >>> 3) + 2];
  }
  set y(v) {
    if (typeof v !== 'number') throw badField('y', v);
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
    this.#heap[INTERNAL].forget(p);
    this.#heap[INTERNAL].call('deleteRecord', p);
  }
}

/** A Record for `ptr` in `heap`; a LinallocError (`NOT_A_RECORD`) unless `ptr` is a live block of at least 24 bytes. */
export function recordAt(heap, ptr) {
  if (ptr >>> 0 !== ptr) throw badPtr(ptr);
  const size = ptr === 0 ? null : heap.blockSize(ptr);
  if (size === null || size < RECORD_SIZE) {
    const what = size === null ? 'not the start of a live block (null, freed, or not from this heap)' : `a live block of only ${size} bytes`;
    throw new LinallocError(`${ptr} is not a record: ${what}; records come from heap.createRecord() or the createRecord export.`, 'NOT_A_RECORD', { ptr });
  }
  return new RecordView(heap, ptr);
}

/** @deprecated The old name of `RecordView`; importing it shadows TypeScript's `Record<K, V>`. */
export { RecordView as Record };
