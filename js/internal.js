// The key of a Heap's package-private state. Only the loader's own modules
// import it; js/linalloc.js does not re-export it, so users cannot reach it.
//
// `heap[INTERNAL]` is `{ regions, table, module, oom(size), fault(), forget(ptr), call(name, a, b) }`:
// the static regions of the allocator and linked modules, the function table
// shared by side modules (null until one needs it), the compiled allocator
// (for workers of a shared heap), the OutOfMemoryError for
// `size` bytes, the error for the checked build's last fault (checked.js),
// untracking a block freed outside the Heap's methods (Record.free), and
// calling export `name` as the Heap's methods do (a trap fails the heap).

/** Symbol under which a Heap keeps its package-private state. */
export const INTERNAL = Symbol('linalloc.internal');
