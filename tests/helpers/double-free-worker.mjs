// A worker of tests/threads.test.mjs's race test: two of these free the same
// small block at the same moment, over and over; exactly one free may win.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../js/linalloc.js';

const { init, id, sync, rounds, size } = workerData;
const x = attach(init).exports;
const s = new Int32Array(sync); // [0] the block, [1] [2] arrivals, [3 + id] results
const meet = (slot, round) => {
  Atomics.add(s, slot, 1);
  for (let spin = 0; Atomics.load(s, slot) < 2 * round; spin++) if (spin > 2e8) throw new Error('barrier timed out');
};
x.free(x.malloc(size)); // this thread's cache is set up
let both = 0;
for (let round = 1; round <= rounds; round++) {
  if (id === 0) Atomics.store(s, 0, x.malloc(size));
  meet(1, round);
  Atomics.store(s, 3 + id, x.try_free(Atomics.load(s, 0) >>> 0));
  meet(2, round);
  if (Atomics.load(s, 3) === 0 && Atomics.load(s, 4) === 0) both++;
}
parentPort.postMessage({ both });
