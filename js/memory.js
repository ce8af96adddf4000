// WebAssembly memories: the page constants, creating a memory within what the
// engine will reserve, and the error that explains a memory that is full.

import { MemoryError, OutOfMemoryError, coded, warn } from './errors.js';
import { readOwnerTag } from './wasm-info.js';

/** Bytes in one WebAssembly page. */
export const PAGE_SIZE = 65536;
/** Most pages a wasm32 memory can have (4 GiB). */
export const MAX_PAGES = 65536;

/** `n` bytes rounded up to whole pages, in bytes. */
export const pageUp = (n) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

let warnedMaximum = false;

/**
 * Creates a memory of `initial` pages with `maximum` pages; when the engine
 * refuses to reserve that much (some 32-bit and mobile browsers), retries
 * with smaller maxima and warns once.
 */
export function createMemory(initial, maximum = MAX_PAGES, shared = false) {
  checkPages('initial', initial);
  checkPages('maximum', maximum);
  if (shared && !sharedMemoryWorks()) throw notIsolated();
  if (maximum < initial) {
    throw new MemoryError(`maximum (${maximum} pages) is below initial (${initial} pages); pass a maximum of at least ${initial}.`, 'BAD_LIMITS', { initial, maximum });
  }
  for (let max = maximum; ; max = Math.max(initial, max >>> 1)) {
    try {
      const memory = new WebAssembly.Memory({ initial, maximum: max, shared });
      if (max !== maximum && !warnedMaximum) {
        warnedMaximum = true;
        warn(`this engine could not reserve a memory with maximum ${maximum} pages; using maximum ${max} pages (${(max * PAGE_SIZE) / 2 ** 20} MiB).`);
      }
      return { memory, maximum: max };
    } catch (e) {
      if (shared && typeof SharedArrayBuffer !== 'function') throw notIsolated(e);
      if (max === initial) {
        throw new MemoryError(`the engine refused a memory of ${initial} pages (${e.message}). Use a smaller initial size.`, 'MEMORY_REFUSED', { initial, maximum, cause: e });
      }
    }
  }
}

/**
 * False where a shared memory cannot be shared with workers: a browser page
 * (or worker) that is not cross-origin isolated. Chromium still creates a
 * shared WebAssembly.Memory there, but it cannot be posted to a worker.
 */
export const sharedMemoryWorks = () => typeof SharedArrayBuffer === 'function' && globalThis.crossOriginIsolated !== false;

/** The MemoryError (`NOT_ISOLATED`) for a shared memory where it cannot be shared. */
export function notIsolated(cause) {
  return new MemoryError(
    'this page cannot share memory with workers: it is not cross-origin isolated (crossOriginIsolated is false, SharedArrayBuffer unavailable). ' +
      'Serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (make serve does), ' +
      'or load without { shared: true } for one thread.',
    'NOT_ISOLATED',
    cause ? { cause } : {},
  );
}

/** A RangeError unless `n` is a valid number of pages. */
export function checkPages(what, n) {
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGES) {
    throw coded(new RangeError(`linalloc: ${what} must be a whole number of 64 KiB pages between 0 and ${MAX_PAGES}, got ${n}`), 'BAD_PAGES');
  }
}

/**
 * The OutOfMemoryError for a helper's failed allocation of `size` bytes from
 * `heap`, saying why the memory could not grow.
 */
export function outOfMemory(heap, size) {
  const memory = heap.memory;
  const maximum = heap.maximumPages;
  const pages = memory.buffer.byteLength / PAGE_SIZE;
  const max = maximum ?? 'unknown (memory passed by the caller)';
  if ((readOwnerTag(memory.buffer)?.build & 0xff) === 3) {
    return new OutOfMemoryError(
      `could not allocate ${size} bytes: the wee_alloc build only uses pages it grows itself (never the ${heap.startPages} pages the memory started with), and memory.grow failed at ${pages} pages (maximum ${max}). Use the default build (dist/linalloc.wasm), or a memory with a larger maximum.`,
      'OUT_OF_MEMORY',
      { size, pages, maximum, stats: heap.stats() },
    );
  }
  return new OutOfMemoryError(
    `could not allocate ${size} bytes: the memory has ${pages} pages (${pages * PAGE_SIZE} bytes) and maximum ${max} pages, and memory.grow failed. ` +
      'Free blocks you no longer need, or load with a larger `maximum`.',
    'OUT_OF_MEMORY',
    { size, pages, maximum, stats: heap.stats() },
  );
}
