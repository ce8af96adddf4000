// In a worker (tests/heap-failure.test.mjs): a recursion that allocates until
// the stack runs out inside a heap call of the threads build, then one more
// call; posts what each did (a hang shows as no message at all).
import { parentPort } from 'node:worker_threads';
import { load } from '../../js/linalloc.js';

const heap = await load(undefined, { shared: true });
const deep = (d) => {
  heap.malloc(300 + (d % 2000));
  deep(d + 1);
};
let first = null;
try {
  deep(0);
} catch (e) {
  first = e.constructor.name;
}
const lock = Atomics.load(new Int32Array(heap.memory.buffer), 528 / 4);
try {
  heap.malloc(16);
  parentPort.postMessage({ first, lock, next: 'returned' });
} catch (e) {
  parentPort.postMessage({ first, lock, next: e.code });
}
