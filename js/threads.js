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
//
// One init is one worker: two instances on one stack would corrupt the heap
// silently. So an init carries a claim word in a SharedArrayBuffer of its
// own (shared by every copy postMessage makes): 0 new, 1 attached, 2 given
// back; `attach` and `workerDone` move it on atomically and refuse the rest.

import { LinallocError, coded } from './errors.js';
import { Heap } from './heap.js';
import { INTERNAL } from './internal.js';

/** Bytes of stack each worker's instance gets, and their alignment (src/tcache.rs STACK). */
export const WORKER_STACK = 64 * 1024;
/** Bytes at the bottom of a worker's stack block that hold its cache: zeroed for a new worker. */
const CACHE_AREA = 512;
/** The states of an init's claim word. */
const NEW = 0;
const ATTACHED = 1;
const DONE = 2;

/** `heap.workerInit()`: a new stack in `heap`, and what a worker needs to attach. */
export function workerInit(heap) {
  if (!heap.shared) {
    throw new LinallocError('workerInit() needs a heap in a shared memory: load the threads build with load(undefined, { shared: true }).', 'NOT_SHARED');
  }
  const stack = heap.alignedAlloc(WORKER_STACK, WORKER_STACK);
  if (stack === 0) throw heap[INTERNAL].oom(WORKER_STACK);
  heap.u8.fill(0, stack, stack + CACHE_AREA); // no cache yet: the worker sets one up
  const claim = new SharedArrayBuffer(4);
  return { linalloc: 'worker', module: heap[INTERNAL].module, memory: heap.memory, stack, stackSize: WORKER_STACK, maximum: heap.maximumPages, claim };
}

/** `heap.workerDone(init)`: gives a worker's stack back (after the worker has ended). */
export function workerDone(heap, init) {
  checkInit(init, 'workerDone()');
  if (Atomics.exchange(new Int32Array(init.claim), 0, DONE) === DONE) {
    throw new LinallocError(`workerDone() was called for this init already: its stack (${init.stack}) was given back then. Call it once per worker, after that worker has ended.`, 'INIT_DONE', { workerStack: init.stack });
  }
  heap[INTERNAL].call('thread_release', init.stack); // its cached blocks and counts back to the heap
  heap.free(init.stack);
}

function checkInit(init, what = 'attach()') {
  const ok =
    init !== null && typeof init === 'object' && init.linalloc === 'worker' && init.module instanceof WebAssembly.Module && init.memory instanceof WebAssembly.Memory &&
    Object.prototype.toString.call(init.claim) === '[object SharedArrayBuffer]';
  if (!ok) throw coded(new TypeError(`linalloc: ${what} takes the object heap.workerInit() returned on the main thread (posted to the worker as is)`), 'BAD_INIT');
}

/** Claims `init` for the instance about to attach; a LinallocError when another took it or it was given back. */
function claimInit(init) {
  const was = Atomics.compareExchange(new Int32Array(init.claim), 0, NEW, ATTACHED);
  if (was === ATTACHED) {
    throw new LinallocError(
      `this init was attached already (stack ${init.stack}): two instances on one stack would corrupt the heap. Call heap.workerInit() once per worker and post each worker its own init.`,
      'INIT_ALREADY_ATTACHED',
      { workerStack: init.stack },
    );
  }
  if (was === DONE) {
    throw new LinallocError(`this init's stack (${init.stack}) was given back by heap.workerDone(init): call heap.workerInit() for a new worker.`, 'INIT_DONE', { workerStack: init.stack });
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
  claimInit(init); // before the instance runs on the stack (a refused init leaves it alone)
  sp.value = init.stack + init.stackSize;
  const heap = new Heap(instance, init.memory, init.maximum);
  heap[INTERNAL].module = init.module;
  return heap;
}
