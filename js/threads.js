// Threads: one heap in a shared memory, used by workers (the threads build,
// dist/linalloc-mt.wasm). The main thread loads it with `{ shared: true }`;
// `heap.workerInit()` gives a structured-cloneable object to post to a
// worker, and `attach(init)` in the worker returns a Heap on the same memory.
//
// Every instance of the module needs a stack of its own: they all share one
// memory, and each would otherwise start with the same stack pointer. The
// stack is a block of the shared heap aligned to its size, allocated by
// `workerInit` and given back by `heap.workerDone(init)` once the worker has
// ended. The bottom of that block holds the worker's cache of small freed
// blocks (src/tcache.rs), which `workerDone` gives back to the heap first.

import { LinallocError } from './errors.js';
import { Heap } from './heap.js';
import { INTERNAL } from './internal.js';

/** Bytes of stack each worker's instance gets, and their alignment (src/tcache.rs STACK). */
export const WORKER_STACK = 64 * 1024;
/** Bytes at the bottom of a worker's stack block that hold its cache: zeroed for a new worker. */
const CACHE_AREA = 512;

/** `heap.workerInit()`: a new stack in `heap`, and what a worker needs to attach. */
export function workerInit(heap) {
  if (!heap.shared) {
    throw new LinallocError('workerInit() needs a heap in a shared memory: load the threads build with load(undefined, { shared: true }).', 'NOT_SHARED');
  }
  const stack = heap.alignedAlloc(WORKER_STACK, WORKER_STACK);
  if (stack === 0) throw heap[INTERNAL].oom(WORKER_STACK);
  heap.u8.fill(0, stack, stack + CACHE_AREA); // no cache yet: the worker sets one up
  return { linalloc: 'worker', module: heap[INTERNAL].module, memory: heap.memory, stack, stackSize: WORKER_STACK, maximum: heap.maximumPages };
}

/** `heap.workerDone(init)`: gives a worker's stack back (after the worker has ended). */
export function workerDone(heap, init) {
  checkInit(init);
  heap.exports.thread_release(init.stack); // its cached blocks and counts back to the heap
  heap.free(init.stack);
}

function checkInit(init) {
  if (init === null || typeof init !== 'object' || init.linalloc !== 'worker' || !(init.module instanceof WebAssembly.Module) || !(init.memory instanceof WebAssembly.Memory)) {
    throw new TypeError('linalloc: attach() takes the object heap.workerInit() returned on the main thread (posted to this worker as is)');
  }
}

/**
 * In a worker: a Heap on the shared memory of `init` (from the main
 * thread's `heap.workerInit()`), running on its own stack.
 */
export function attach(init) {
  checkInit(init);
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const sp = instance.exports.__stack_pointer;
  if (!(sp instanceof WebAssembly.Global)) {
    throw new LinallocError('this module does not export __stack_pointer, so a worker cannot get a stack of its own: attach() needs the threads build (dist/linalloc-mt.wasm).', 'NOT_THREADS_BUILD');
  }
  sp.value = init.stack + init.stackSize;
  const heap = new Heap(instance, init.memory, init.maximum);
  heap[INTERNAL].module = init.module;
  return heap;
}
