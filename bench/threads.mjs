// The threads build in `make bench`: its single-thread cost against the
// default build, and operations per second with 1 and 2 worker threads on
// one shared heap (the `small` and `records` patterns: malloc + free pairs
// of 8..128 and of 24 bytes, with a set of live blocks per thread).
// Usage (alone): node bench/threads.mjs [--quick]
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs `ops` malloc/free operations of `pattern` on exports `x`; ms taken. */
function churn(x, pattern, ops, seed) {
  const LIVE = 1000;
  const slots = new Uint32Array(LIVE);
  let s = seed >>> 0 || 1;
  const size = pattern === 'records' ? () => 24 : () => 8 + ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) % 121;
  for (let i = 0; i < LIVE; i++) slots[i] = x.malloc(size());
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const k = (s >>> 8) % LIVE;
    x.free(slots[k]);
    slots[k] = x.malloc(size());
  }
  const ms = performance.now() - t0;
  for (let i = 0; i < LIVE; i++) x.free(slots[i]);
  return ms;
}

if (!isMainThread && workerData?.threadsBench) {
  const { module, memory, stack, stackSize, pattern, ops, seed, start } = workerData;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  instance.exports.__stack_pointer.value = stack + stackSize;
  const flag = new Int32Array(start);
  Atomics.add(flag, 1, 1); // ready
  while (Atomics.load(flag, 0) === 0); // spin until every worker is ready
  parentPort.postMessage(churn(instance.exports, pattern, ops, seed));
}

/** ops/s with `n` workers on one shared heap of the threads build. */
async function throughput(file, pattern, n, ops) {
  const module = new WebAssembly.Module(readFileSync(file));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
  const main = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const STACK = 65536;
  const start = new SharedArrayBuffer(8);
  const flag = new Int32Array(start);
  const workers = [];
  const done = [];
  for (let k = 0; k < n; k++) {
    const stack = main.aligned_alloc(STACK, STACK) >>> 0; // aligned: the worker's cache sits at its bottom
    new Uint8Array(memory.buffer).fill(0, stack, stack + 512);
    const w = new Worker(new URL(import.meta.url), { workerData: { threadsBench: true, module, memory, stack, stackSize: STACK, pattern, ops, seed: k + 1, start } });
    workers.push(w);
    done.push(new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  }
  while (Atomics.load(flag, 1) < n) await new Promise((r) => setTimeout(r, 1));
  const t0 = performance.now();
  Atomics.store(flag, 0, 1);
  await Promise.all(done);
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return ((2 * ops * n) / ms) * 1000; // a free and a malloc per operation
}

/** The threads section of the bench: `{ singleThread, scaling }`. */
export async function threadsBench({ quick = false } = {}) {
  const ops = quick ? 100_000 : 1_000_000;
  const mt = ROOT + 'build/dist/linalloc-mt.wasm';
  const st = ROOT + 'build/dist/linalloc.wasm';
  // single thread, on the main thread: the lock's cost
  const single = {};
  for (const pattern of ['small', 'records']) {
    const best = { mt: Infinity, lin: Infinity };
    for (let r = 0; r < 5; r++) {
      for (const [name, file, shared] of [['lin', st, false], ['mt', mt, true]]) {
        const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared });
        const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), { env: { memory } }).exports;
        best[name] = Math.min(best[name], churn(x, pattern, ops, 7));
      }
    }
    single[pattern] = { nsPerOpLin: (best.lin * 1e6) / ops, nsPerOpMt: (best.mt * 1e6) / ops, ratio: best.mt / best.lin };
  }
  const scaling = {};
  for (const pattern of ['small', 'records']) {
    const one = Math.max(await throughput(mt, pattern, 1, ops), await throughput(mt, pattern, 1, ops));
    const two = Math.max(await throughput(mt, pattern, 2, ops), await throughput(mt, pattern, 2, ops));
    scaling[pattern] = { opsPerSec1: one, opsPerSec2: two, ratio: two / one };
  }
  return { ops, singleThread: single, scaling };
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await threadsBench({ quick: process.argv.includes('--quick') }), null, 2));
}
