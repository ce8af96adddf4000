// The Heap's copy helpers: bytes, strings and typed arrays into new blocks and
// out of memory. They allocate through the Heap (so tracking sees them) and
// throw OutOfMemoryError instead of returning 0.

import { badPtr, badSize, coded, describe } from './errors.js';
import { toBytes } from './fetch.js';
import { INTERNAL } from './internal.js';

/** A new block of `size` bytes aligned to `align`; OutOfMemoryError when the heap is full. */
function mustAlloc(heap, size, align = 8) {
  if (size >>> 0 !== size) throw badSize('size', size);
  const p = align === 8 ? heap.malloc(size) : heap.alignedAlloc(align, size);
  if (p === 0) throw heap[INTERNAL].oom(size);
  return p;
}

/** The fresh Uint8Array over the heap's memory, after checking that `ptr..ptr+len` lies inside it. */
function inRange(heap, ptr, len) {
  if (ptr >>> 0 !== ptr) throw badPtr(ptr);
  if (len >>> 0 !== len) throw badSize('length', len);
  const m = heap.u8;
  if (ptr + len > m.length) throw coded(new RangeError(`linalloc: range ${ptr}..${ptr + len} is outside the memory (${m.length} bytes)`), 'OUT_OF_BOUNDS');
  return m;
}

/** Copies `bytes` into a new block of `heap`; returns its pointer. */
export function writeBytes(heap, bytes) {
  let src = toBytes(bytes);
  if (!src) throw coded(new TypeError(`linalloc: writeBytes expects an ArrayBuffer or a typed array, got ${describe(bytes)}`), 'BAD_ARGUMENT');
  // a view onto this memory would be detached if the allocation grows it
  if (src.buffer === heap.memory.buffer) src = src.slice();
  const p = mustAlloc(heap, src.length);
  heap.u8.set(src, p);
  return p;
}

/** A copy of `len` bytes at `ptr`. */
export function readBytes(heap, ptr, len) {
  return inRange(heap, ptr, len).slice(ptr, ptr + len);
}

/** Writes `str` as NUL-terminated UTF-8 into a new block of `heap`; returns its pointer. */
export function writeString(heap, str) {
  if (typeof str !== 'string') throw coded(new TypeError(`linalloc: writeString expects a string, got ${describe(str)}`), 'BAD_ARGUMENT');
  const encoded = new TextEncoder().encode(str);
  const p = mustAlloc(heap, encoded.length + 1);
  const m = heap.u8;
  m.set(encoded, p);
  m[p + encoded.length] = 0;
  return p;
}

/** Reads UTF-8 at `ptr`: `len` bytes, or up to the first NUL when `len` is omitted. */
export function readString(heap, ptr, len) {
  if (ptr >>> 0 !== ptr) throw badPtr(ptr);
  let m = heap.u8;
  let end;
  if (len === undefined) {
    end = m.indexOf(0, ptr);
    if (end < 0) throw coded(new RangeError(`linalloc: no NUL terminator after ${ptr} up to the end of the memory; pass the length: readString(ptr, len)`), 'OUT_OF_BOUNDS');
  } else {
    m = inRange(heap, ptr, len);
    end = ptr + len;
  }
  // TextDecoder refuses views of a SharedArrayBuffer: copy those first
  const bytes = heap.shared ? m.slice(ptr, end) : m.subarray(ptr, end);
  return new TextDecoder().decode(bytes);
}

/** Copies a typed array into a new block of `heap` aligned for its element type; returns its pointer. */
export function writeArray(heap, array) {
  if (!ArrayBuffer.isView(array) || array instanceof DataView) throw coded(new TypeError(`linalloc: writeArray expects a typed array, got ${describe(array)}`), 'BAD_ARGUMENT');
  let src = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  // a view onto this memory would be detached if the allocation grows it
  if (src.buffer === heap.memory.buffer) src = src.slice();
  const p = mustAlloc(heap, array.byteLength, Math.max(8, array.BYTES_PER_ELEMENT));
  heap.u8.set(src, p);
  return p;
}

/** A copy of `length` elements of `Type` (e.g. `Float64Array`) at `ptr`. */
export function readArray(heap, Type, ptr, length) {
  if (typeof Type !== 'function' || !Type.BYTES_PER_ELEMENT) throw coded(new TypeError('linalloc: readArray expects a typed array constructor such as Float64Array'), 'BAD_ARGUMENT');
  if (length >>> 0 !== length) throw badSize('length', length);
  const bytes = length * Type.BYTES_PER_ELEMENT;
  const m = inRange(heap, ptr, bytes);
  if (ptr % Type.BYTES_PER_ELEMENT !== 0) throw coded(new RangeError(`linalloc: ${Type.name} at ${ptr} is not aligned to ${Type.BYTES_PER_ELEMENT}`), 'BAD_POINTER');
  return new Type(m.buffer.slice(ptr, ptr + bytes));
}
