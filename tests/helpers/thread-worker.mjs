// One worker of tests/threads.test.mjs: attaches to the shared heap and runs
// random allocations against its own shadow model, handing some blocks to
// other workers through a shared mailbox and freeing blocks others handed it.
//
// A block's first 4 bytes hold its size; its first and last (up to) 16 bytes
// hold a pattern derived from its address, so any thread can check a block
// it did not allocate.
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from '../../js/linalloc.js';

const { init, seed, ops, mailbox, maxLive } = workerData;
const heap = attach(init);
const x = heap.exports;
const slots = new Int32Array(mailbox);

let s = seed >>> 0 || 1;
const rnd = (n) => {
  s ^= s << 13; s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5; s >>>= 0;
  return s % n;
};
const pat = (p, i) => (p * 31 + i * 7) & 0xff;

function write(p, size) {
  const m = heap.u8;
  new DataView(m.buffer).setUint32(p, size, true);
  for (let i = 4; i < Math.min(size, 20); i++) m[p + i] = pat(p, i);
  for (let i = Math.max(20, size - 16); i < size; i++) m[p + i] = pat(p, i);
}

/** The size a block says it has, after checking its pattern (throws on damage). */
function check(p, expect) {
  const m = heap.u8;
  const size = new DataView(m.buffer).getUint32(p, true);
  if (expect !== undefined && size !== expect) throw new Error(`block ${p}: size word ${size}, expected ${expect}`);
  for (let i = 4; i < Math.min(size, 20); i++) if (m[p + i] !== pat(p, i)) throw new Error(`block ${p} (size ${size}): byte ${i} changed`);
  for (let i = Math.max(20, size - 16); i < size; i++) if (m[p + i] !== pat(p, i)) throw new Error(`block ${p} (size ${size}): byte ${i} changed`);
  return size;
}

const live = new Map(); // ptr -> size
let failed = 0;
let handedOut = 0;
let taken = 0;
for (let op = 0; op < ops; op++) {
  const r = rnd(100);
  if (r < 45 && live.size < maxLive) {
    const size = 4 + (rnd(10) === 0 ? rnd(4096) : rnd(250));
    const p = x.malloc(size) >>> 0;
    if (p === 0) {
      failed++;
      // out of memory (a fixed memory): free a few of ours and go on
      for (const [q, n] of [...live].slice(0, 8)) {
        check(q, n);
        heap.free(q);
        live.delete(q);
      }
      continue;
    }
    if (live.has(p)) throw new Error(`pointer ${p} handed out twice`);
    write(p, size);
    live.set(p, size);
  } else if (r < 80 && live.size) {
    const keys = [...live.keys()];
    const p = keys[rnd(keys.length)];
    check(p, live.get(p));
    heap.free(p);
    live.delete(p);
  } else if (r < 90 && live.size) {
    // hand a block to whoever takes it (a free from another thread)
    const keys = [...live.keys()];
    const p = keys[rnd(keys.length)];
    const slot = rnd(slots.length);
    if (Atomics.compareExchange(slots, slot, 0, p) === 0) {
      live.delete(p);
      handedOut++;
    }
  } else {
    const slot = rnd(slots.length);
    const p = Atomics.exchange(slots, slot, 0) >>> 0;
    if (p !== 0) {
      check(p);
      heap.free(p);
      taken++;
    }
  }
}
for (const [p, n] of live) check(p, n);
parentPort.postMessage({ live: [...live], failed, handedOut, taken, stackPointer: x.__stack_pointer.value >>> 0 });
