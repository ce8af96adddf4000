// The allocator's ABI as the JS side knows it, in one place: the exports with
// their signatures, the checked build's extra exports, its fault codes, and
// which stats export feeds which `heap.stats()` field. The loader, the
// binary reader and the tests all read these tables; tests/abi-truth.test.mjs
// holds them against the built modules and src/checked/fault.rs.

/**
 * Every export of the drop-in ABI with its signature (`params->results`,
 * wasm value types). The loader checks a module against this table before
 * using it.
 */
export const ABI = Object.freeze({
  malloc: 'i32->i32',
  free: 'i32->',
  calloc: 'i32,i32->i32',
  realloc: 'i32,i32->i32',
  aligned_alloc: 'i32,i32->i32',
  alloc: 'i32,i32->i32',
  dealloc: 'i32,i32,i32->',
  createRecord: 'i32,f64,f64->i32',
  deleteRecord: 'i32->',
  stats_live_allocations: '->i32',
  stats_total_allocations: '->i32',
  stats_failed_allocations: '->i32',
  stats_in_use_bytes: '->i32',
  stats_peak_in_use_bytes: '->i32',
  stats_heap_bytes: '->i32',
  stats_invalid_frees: '->i32',
  stats_corruptions: '->i32',
  try_free: 'i32->i32',
  heap_reserve: 'i32->i32',
  heap_status: '->i32',
  heap_block_size: 'i32->i32',
});

/** Exports every linalloc module provides (the drop-in ABI). */
export const ABI_EXPORTS = Object.freeze(Object.keys(ABI));

/** The checked build's extra exports (dist/linalloc-checked.wasm) with their signatures. */
export const CHECKED_ABI = Object.freeze({
  heap_check: '->i32',
  checked_error_code: '->i32',
  checked_error_ptr: '->i32',
  checked_error_size: '->i32',
  checked_error_at: '->i32',
  checked_error_clear: '->',
});

/** Extra exports of the checked build (dist/linalloc-checked.wasm). */
export const CHECKED_EXPORTS = Object.freeze(Object.keys(CHECKED_ABI));

/** The threads build's extra export (dist/linalloc-mt.wasm): gives a finished worker's cache back. */
export const THREADS_ABI = Object.freeze({
  thread_release: 'i32->',
});

/**
 * The threads build's heap lock (src/lock.rs): a word right after the
 * 16-byte owner tag at 512, 0 free, 1 held, `failed` once a heap call trapped
 * (the loader stores it; every heap call that finds it traps at once).
 */
export const LOCK = Object.freeze({ address: 528, held: 1, failed: 2 });

/** The bump build's extra export (dist/linalloc-bump.wasm): frees every block at once. */
export const BUMP_ABI = Object.freeze({
  heap_reset: '->',
});

/**
 * The checked build's fault codes, as `checked_error_code` and `heap_check`
 * return them (the Rust `Fault` enum in src/checked/fault.rs). Each name is
 * also the `code` of the error the loader throws for it.
 */
export const FAULTS = Object.freeze({
  DOUBLE_FREE: 1,
  INVALID_FREE: 2,
  OVERFLOW: 3,
  UNDERFLOW: 4,
  SIZE_MISMATCH: 5,
  WRITE_AFTER_FREE: 6,
  METADATA_CORRUPT: 7,
});

/** Fault names by code: the inverse of `FAULTS`. */
export const FAULT_NAMES = Object.freeze(Object.fromEntries(Object.entries(FAULTS).map(([name, code]) => [code, name])));

/** Which field of `heap.stats()` each stats export fills (u32 counters). */
export const STATS_FIELDS = Object.freeze({
  stats_in_use_bytes: 'inUseBytes',
  stats_peak_in_use_bytes: 'peakInUseBytes',
  stats_live_allocations: 'liveAllocations',
  stats_total_allocations: 'totalAllocations',
  stats_failed_allocations: 'failedAllocations',
  stats_heap_bytes: 'heapBytes',
  stats_invalid_frees: 'invalidFrees',
  stats_corruptions: 'corruptions',
});

const STATS_ENTRIES = Object.entries(STATS_FIELDS);

/**
 * The allocator's counters read through `exports` (a module's exports, raw or
 * wrapped), as `{ inUseBytes, peakInUseBytes, … }` named by `STATS_FIELDS`.
 */
export function readStats(exports) {
  const out = {};
  for (const [name, field] of STATS_ENTRIES) out[field] = exports[name]() >>> 0;
  return out;
}
