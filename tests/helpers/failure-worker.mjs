// A worker of tests/heap-failure.test.mjs on one shared heap. Role `trap`:
// writes a stray value over the heap's state pointer (the owner tag's third
// word), so its next locked call traps while it holds the heap's lock, and
// reports the error that call threw. Role `after`: waits until the trap is
// done, then makes one call and reports what it threw. With `emulate`, the
// call first does in JS what the threads build does in its lock (a word at
// FAILED traps at once), for modules that predate that.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, Heap } from '../../js/linalloc.js';
import { trap } from './trap.mjs';

const { init, role, sync, emulate } = workerData;
const LOCK = 528 >> 2; // src/lock.rs: the lock word, after the 16-byte owner tag at 512
const STATE = (512 + 8) >> 2; // src/owner.rs: the tag's heap state address
const signal = new Int32Array(sync);

/** A Heap on `init` whose exports trap when the lock word says FAILED (what src/lock.rs does), for old modules. */
function emulated() {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  instance.exports.__stack_pointer.value = init.stack + init.stackSize;
  const words = new Int32Array(init.memory.buffer);
  const exports = {};
  for (const [name, f] of Object.entries(instance.exports)) {
    exports[name] = typeof f !== 'function' ? f : (...args) => (Atomics.load(words, LOCK) === 2 ? trap() : f(...args));
  }
  return new Heap({ exports }, init.memory, init.maximum);
}

const heap = emulate ? emulated() : attach(init);
const words = new Int32Array(init.memory.buffer);
const outcome = (call) => {
  try {
    return { returned: call() };
  } catch (e) {
    const cause = e.cause?.constructor.name;
    return { name: e.name, code: e.code, message: e.message, otherThread: e.otherThread, cause, lock: Atomics.load(words, LOCK) };
  }
};
parentPort.postMessage({ ready: true });
if (role === 'trap') {
  heap.free(heap.malloc(300)); // the heap works
  words[STATE] = 0x7fff0000; // a stray write over the heap's state pointer
  const first = outcome(() => heap.malloc(300));
  const again = outcome(() => heap.malloc(16));
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
  parentPort.postMessage({ first, again });
} else {
  Atomics.wait(signal, 0, 0);
  parentPort.postMessage({ first: outcome(() => heap.malloc(300)) });
}
