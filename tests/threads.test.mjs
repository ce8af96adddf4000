// The threads build (dist/linalloc-mt.wasm): one heap in a shared memory,
// used at once by 2, 4 and 8 Node worker_threads, each with its own stack,
// freeing blocks other workers allocated. Afterwards every live block is
// checked against the union of the workers' models (no overlap, contents
// intact) and the counters add up. Once on a growable memory, once on a
// fixed one (initial == maximum) that runs out of memory and recovers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { load, attach, LoadError, WORKER_STACK } from '../js/linalloc.js';
import { DIST } from './helpers/support.mjs';

const OPS = Number(process.env.THREAD_OPS ?? 200_000);
const WORKER = new URL('./helpers/thread-worker.mjs', import.meta.url);

function runWorker(workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

/** Runs `n` workers on `heap`; checks the union of what they kept. */
async function crowd(heap, n, { ops = OPS, maxLive = 300 } = {}) {
  const mailbox = new SharedArrayBuffer(4 * 64);
  const inits = Array.from({ length: n }, () => heap.workerInit());
  const stacks = inits.map((i) => i.stack);
  assert.equal(new Set(stacks).size, n, 'every worker gets a stack of its own');
  for (const s of stacks) assert.ok(heap.blockSize(s) >= WORKER_STACK, 'a stack is a live block of the heap');
  const results = await Promise.all(inits.map((init, k) => runWorker({ init, seed: 0x9e3779b9 * (k + 1), ops, mailbox, maxLive })));
  // stacks: each instance ran on its own, inside its block
  results.forEach((r, k) => assert.equal(r.stackPointer, stacks[k] + WORKER_STACK, `worker ${k}'s stack pointer is back at the top of its own stack`));
  // blocks still in the mailbox belong to nobody's model yet: take them here
  const slots = new Int32Array(mailbox);
  const orphans = [...slots].filter((p) => p !== 0).map((p) => p >>> 0);
  const m = heap.u8;
  const dv = new DataView(m.buffer);
  const all = [...results.flatMap((r) => r.live), ...orphans.map((p) => [p, dv.getUint32(p, true)])];
  // no overlap, contents intact, and the heap agrees on every block
  const spans = all.map(([p, size]) => [p, p + size]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1][1] <= spans[i][0], `blocks overlap: ${spans[i - 1]} and ${spans[i]}`);
  for (const [p, size] of all) {
    assert.equal(dv.getUint32(p, true), size, `block ${p}: size word`);
    for (let i = Math.max(4, size - 16); i < size; i++) assert.equal(m[p + i], (p * 31 + i * 7) & 0xff, `block ${p}: byte ${i}`);
    assert.equal(heap.blockSize(p), size, `block ${p}: the heap's size`);
  }
  const stats = heap.stats();
  assert.ok(stats.peakInUseBytes >= stats.inUseBytes && stats.peakInUseBytes <= stats.heapBytes, `peak ${stats.peakInUseBytes}: below in use ${stats.inUseBytes} or above the heap ${stats.heapBytes}`);
  const own = n; // the workers' stacks
  assert.equal(stats.liveAllocations, all.length + own, 'live blocks: the workers\' models, the mailbox, the stacks');
  assert.equal(stats.inUseBytes, all.reduce((a, [, s]) => a + s, 0) + n * WORKER_STACK, 'bytes in use add up');
  for (const [p] of all) heap.free(p);
  for (const init of inits) heap.workerDone(init);
  assert.equal(heap.stats().liveAllocations, 0);
  return results;
}

describe('threads build: one heap, many workers', () => {
  for (const n of [2, 4, 8]) {
    test(`${n} workers x ${OPS} operations on a growable shared memory, with cross-thread frees`, async () => {
      const heap = await load(undefined, { shared: true, initial: 2, maximum: 16384 });
      assert.equal(heap.build, 'lin');
      assert.ok(heap.shared);
      const results = await crowd(heap, n);
      assert.ok(results.every((r) => r.handedOut > 0 && r.taken > 0), 'every worker freed blocks of others');
      assert.ok(results.every((r) => r.failed === 0), 'a growable memory never ran out');
    });
  }

  test('4 workers on a fixed shared memory (initial == maximum): out of memory, then recovery', async () => {
    const memory = new WebAssembly.Memory({ initial: 24, maximum: 24, shared: true });
    const heap = await load(DIST + 'linalloc-mt.wasm', { memory });
    const results = await crowd(heap, 4, { ops: Math.min(OPS, 100_000), maxLive: 2000 });
    assert.ok(results.some((r) => r.failed > 0), 'the workers ran the fixed memory out of memory');
    assert.equal(memory.buffer.byteLength, 24 * 65536, 'a fixed memory never grows');
    // recovered: after everything was freed, a large block fits again
    const p = heap.malloc(600_000);
    assert.notEqual(p, 0);
    heap.free(p);
  });

  test('the peak never goes down and never passes what was in use (blocks freed into a thread cache)', () => {
    // found by an adversarial run: 400 -> 200 -> 1200 with at most 1000 in use
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(DIST + 'linalloc-mt.wasm')), { env: { memory } }).exports;
    let most = 0;
    let last = 0;
    const look = () => {
      most = Math.max(most, x.stats_in_use_bytes() >>> 0);
      const peak = x.stats_peak_in_use_bytes() >>> 0;
      assert.ok(peak >= last, `peak went down: ${last} -> ${peak}`);
      assert.equal(peak, most, 'peak is the most ever in use');
      last = peak;
    };
    const a = x.malloc(200); look();
    const b = x.malloc(200); look();
    x.free(a); look();
    x.free(b); look();
    const c = x.malloc(1000); look();
    x.free(c); look();
  });

  test('attach in this thread: a second instance with its own stack sees the same heap', async () => {
    const heap = await load(undefined, { shared: true, initial: 2, maximum: 64 });
    const init = heap.workerInit();
    const other = attach(init);
    const p = other.malloc(100);
    assert.equal(heap.blockSize(p), 100, 'a block of one instance is a block of the heap');
    heap.free(p);
    assert.equal(other.stats().liveAllocations, 1, 'only the stack is left');
    heap.workerDone(init);
    const text = 'héllo, threads';
    const q = other.writeString(text);
    assert.equal(heap.readString(q), text, 'strings decode from a shared memory');
    other.free(q);
  });

  test('clear errors: a shared memory with a single-threaded build, the threads build without one, a bad init', async () => {
    const shared = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    await assert.rejects(load(DIST + 'linalloc.wasm', { memory: shared }), (e) => e instanceof LoadError && e.code === 'NOT_THREADS_BUILD' && /linalloc-mt\.wasm/.test(e.message));
    await assert.rejects(load(DIST + 'linalloc-mt.wasm'), (e) => e instanceof LoadError && e.code === 'NEEDS_SHARED_MEMORY' && /shared: true/.test(e.message));
    assert.throws(() => attach({}), { name: 'TypeError', message: /workerInit/ });
    const single = await load(readFileSync(DIST + 'linalloc.wasm'));
    assert.throws(() => single.workerInit(), /shared memory/);
  });
});

test('two threads freeing one small block at the same moment: one free wins, the other is refused', async () => {
  const heap = await load(undefined, { shared: true, initial: 2, maximum: 1024 });
  const sync = new SharedArrayBuffer(32);
  const rounds = 5000;
  for (const size of [24, 248]) {
    new Int32Array(sync).fill(0);
    const inits = [heap.workerInit(), heap.workerInit()];
    const [r] = await Promise.all(inits.map((init, id) => new Promise((resolve, reject) => {
      const w = new Worker(new URL('./helpers/double-free-worker.mjs', import.meta.url), { workerData: { init, id, sync, rounds, size } });
      w.once('message', resolve);
      w.once('error', reject);
    })));
    assert.equal(r.both, 0, `size ${size}: both frees of one block were accepted in ${r.both} of ${rounds} rounds`);
    for (const init of inits) heap.workerDone(init);
  }
  assert.equal(heap.stats().liveAllocations, 0, 'every block freed exactly once');
});

test('thread_release of an address that is no stack is ignored, and the heap stays usable (a trap would keep the lock)', async () => {
  const heap = await load(undefined, { shared: true, initial: 2, maximum: 64 });
  const p = heap.malloc(100);
  for (const bogus of [0, 2048, 12345, 0x7fff0000, 0xffff0000, p]) heap.exports.thread_release(bogus);
  assert.equal(heap.blockSize(p), 100);
  heap.free(p);
  assert.notEqual(heap.malloc(8), 0);
});

test('a fixed shared memory: calloc, alignedAlloc and realloc empty the calling thread\'s cache before failing', async () => {
  const heap = await load(undefined, { shared: true, initial: 4, maximum: 4 });
  for (const call of [(h) => h.calloc(1, 100 * 1024), (h) => h.alignedAlloc(64, 100 * 1024), (h) => h.realloc(h.malloc(8), 100 * 1024)]) {
    const ps = [];
    for (let p; (p = heap.malloc(200)); ) ps.push(p);
    // freed first, blocks spread over the whole memory land in this thread's
    // cache and split the free space: the large request fits only if they merge
    const stride = Math.floor(ps.length / 32);
    const spread = ps.filter((_, i) => i % stride === 0);
    for (const p of [...spread, ...ps.filter((_, i) => i % stride !== 0)]) heap.free(p);
    const before = heap.stats().failedAllocations;
    const q = call(heap);
    assert.notEqual(q, 0, 'the freed memory serves a large request');
    assert.equal(heap.stats().failedAllocations, before, 'no failure counted');
    assert.ok(heap.stats().peakInUseBytes >= heap.stats().inUseBytes, 'the peak is never below what is in use');
    heap.free(q);
  }
});

test('the threads build never blocks: no memory.atomic.wait in it (a browser main thread may not wait)', (t) => {
  // disassembled by binaryen's wasm-opt, which `make setup` installs into .tools/bin
  const wasmOpt = ['.tools/bin/wasm-opt', 'wasm-opt'].map((p) => (p.includes('/') ? new URL(`../${p}`, import.meta.url).pathname : p)).find((p) => {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!wasmOpt) {
    t.skip('wasm-opt not found: run make setup');
    return;
  }
  const text = execFileSync(wasmOpt, [DIST + 'linalloc-mt.wasm', '--enable-threads', '--enable-bulk-memory', '--enable-mutable-globals', '--print'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const atomics = text.match(/\b(i32|i64)\.atomic\.[a-z0-9_.]+/g) ?? [];
  assert.ok(atomics.some((a) => a.includes('cmpxchg')), 'the lock takes itself with compare-and-exchange');
  assert.deepEqual(text.match(/memory\.atomic\.wait(32|64)/g) ?? [], [], 'no instruction that waits');
  t.diagnostic(`atomic instructions: ${[...new Set(atomics)].join(', ')}`);
});
