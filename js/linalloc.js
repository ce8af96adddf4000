// linalloc loader: loads the drop-in allocator module in browsers and Node,
// and wraps it in a `Heap` with always-fresh views, copy helpers, records
// and clear errors. Hand-written, dependency-free ES modules; this file is
// the public entry and only re-exports.
//
//   abi.js          the ABI tables (exports, signatures, fault codes, stats)
//   errors.js       error classes, the fault -> error table, warnings
//   fetch.js        sources -> compiled modules (fetch, files, bytes)
//   memory.js       page constants, creating memories, out-of-memory errors
//   load.js         load(): checking, memory, instantiating the allocator
//   link.js         linkModules(): the linking pipeline
//   link-imports.js resolving and checking linked clients' imports
//   link-client.js  instantiating one client (side modules, GOT)
//   heap.js         the Heap: allocation and views
//   heap-data.js    the Heap's bytes/string/array copy helpers
//   views.js        the Heap's typed-array views (its base class)
//   record.js       the RecordView class (records)
//   tracking.js     live-block tracking
//   checked.js      the checked build's fault traps
//   threads.js      workers on one shared heap: workerInit, attach
//   internal.js     the key of a Heap's package-private state (not exported here)
//   wasm-info.js    the binary reader (layouts, owner tag)

export { ABI_EXPORTS } from './abi.js';
export {
  LinallocError,
  LoadError,
  LinkError,
  MemoryError,
  OutOfMemoryError,
  UseAfterFreeError,
  DoubleFreeError,
  InvalidFreeError,
  HeapCorruptionError,
} from './errors.js';
export { compileSource } from './fetch.js';
export { PAGE_SIZE, MAX_PAGES, createMemory } from './memory.js';
export { load, checkImports } from './load.js';
export { linkModules } from './link.js';
export { Heap } from './heap.js';
export { RecordView, Record } from './record.js'; // Record: the deprecated old name
export { attach, WORKER_STACK } from './threads.js';
