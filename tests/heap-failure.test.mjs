// A trap out of a heap call (the heap's memory was damaged: a write through
// a dangling pointer or past a block's end) is the loader's
// HeapCorruptionError (HEAP_FAILED) with the trap as its cause, on every
// build and through every Heap method; the heap then refuses every call
// without entering the module. On a shared heap the trap marks the lock
// word FAILED, so the other threads stop with the same error instead of
// spinning forever on a lock nobody will release (issue 22, item 4).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { load, Heap, HeapCorruptionError } from '../js/linalloc.js';
import { LOCK as LOCK_ABI } from '../js/abi.js';
import { DIST, BACKENDS, CHECKED } from './helpers/support.mjs';
import { trap } from './helpers/trap.mjs';

const LOCK = 528 >> 2; // src/lock.rs: 0 free, 1 held, 2 failed
const WORKER = new URL('./helpers/failure-worker.mjs', import.meta.url);


/** A Heap over a real instance of `file` whose export `name` traps. */
async function trappingHeap(file, name, options = {}) {
  const real = await load(DIST + file, options);
  const instance = { exports: { ...real.exports, [name]: trap } };
  return { heap: new Heap(instance, real.memory, real.maximumPages), real };
}

const failed = (e, { other = false } = {}) => {
  assert.ok(e instanceof HeapCorruptionError, `${e?.name}: ${e?.message}`);
  assert.equal(e.code, 'HEAP_FAILED');
  assert.equal(e.otherThread, other);
  if (!other) {
    assert.ok(e.cause instanceof WebAssembly.RuntimeError, 'the trap is the cause');
    assert.match(e.message, /trapped \(unreachable\)|trapped \(memory access out of bounds\)/);
    assert.match(e.message, /memory is damaged, probably by a write through a dangling pointer \(after free\)/);
    assert.match(e.message, /or past the end of a block/);
  } else {
    assert.match(e.message, /another thread found this heap's memory damaged/);
  }
  assert.match(e.message, /can no longer be used/);
  assert.match(e.message, /Reload/);
  return true;
};

// Each Heap method and the export it calls (the one made to trap).
const CALLS = {
  malloc: ['malloc', (h) => h.malloc(8)],
  free: ['try_free', (h) => h.free(h.exports.malloc(8) >>> 0)],
  calloc: ['calloc', (h) => h.calloc(2, 8)],
  realloc: ['realloc', (h) => h.realloc(h.exports.malloc(8) >>> 0, 64)],
  alignedAlloc: ['aligned_alloc', (h) => h.alignedAlloc(64, 8)],
  createRecord: ['createRecord', (h) => h.createRecord(1, 2, 3)],
  'record.free()': ['deleteRecord', (h) => h.record(h.exports.createRecord(1, 2, 3) >>> 0).free()],
  stats: ['stats_in_use_bytes', (h) => h.stats()],
  blockSize: ['heap_block_size', (h) => h.blockSize(16384)],
  writeString: ['malloc', (h) => h.writeString('x')],
  reserveBelowHeap: ['heap_reserve', (h) => h.reserveBelowHeap(1024)],
};

describe('a trap inside a heap call', () => {
  for (const [backend, file] of Object.entries({ ...BACKENDS, checked: CHECKED })) {
    test(`${backend}: every Heap method makes it a HeapCorruptionError HEAP_FAILED, then refuses every call`, async () => {
      for (const [method, [name, call]] of Object.entries(CALLS)) {
        const { heap, real } = await trappingHeap(file, name);
        assert.throws(() => call(heap), failed, `${method}: the trap`);
        const before = real.exports.stats_total_allocations();
        // failed for good: later calls, also of exports that would work, never enter the module
        const later = [() => heap.malloc(8), () => heap.free(8), () => heap.stats(), () => heap.exports.malloc(8), () => heap.createRecord(1, 2, 3)];
        for (const call of later) {
          assert.throws(call, (e) => {
            assert.ok(e instanceof HeapCorruptionError && e.code === 'HEAP_FAILED', `${method}: a later call: ${e.message}`);
            assert.match(e.message, /failed earlier and can no longer be used/);
            assert.equal(e.cause.code, 'HEAP_FAILED', 'the first failure is the cause');
            return true;
          });
        }
        assert.equal(real.exports.stats_total_allocations(), before, `${method}: nothing entered the module after the failure`);
      }
    });
  }

  test('the bump build\'s reset() and the checked build\'s check() too; the checked build\'s own faults stay named', async () => {
    const bump = await trappingHeap('linalloc-bump.wasm', 'heap_reset');
    assert.throws(() => bump.heap.reset(), failed);
    const checked = await trappingHeap(CHECKED, 'heap_check');
    assert.throws(() => checked.heap.check(), failed);
    const named = await load(DIST + CHECKED);
    const p = named.malloc(8);
    named.free(p);
    const doubleFree = { name: 'DoubleFreeError', code: 'DOUBLE_FREE' };
    assert.throws(() => named.free(p), doubleFree, 'a fault the checked build recorded is not a failure');
    assert.ok(named.malloc(8) > 0, 'and the checked heap keeps working');
  });

  test('a real trap: a stray write over the heap\'s state pointer, then malloc', async () => {
    const heap = await load(DIST + 'linalloc.wasm');
    heap.free(heap.malloc(300));
    new Int32Array(heap.memory.buffer)[(512 + 8) >> 2] = 0x7fff0000;
    assert.throws(() => heap.malloc(300), failed);
    assert.throws(() => heap.malloc(300), { code: 'HEAP_FAILED', message: /failed earlier/ });
  });
});

describe('a trap inside a call on a shared heap', () => {
  test('js/abi.js states the lock word as src/lock.rs and src/owner.rs do', () => {
    const src = (f) => readFileSync(new URL(`../src/${f}`, import.meta.url), 'utf8');
    const tag = Number(/pub const TAG_ADDR: usize = (\d+);/.exec(src('owner.rs'))[1]);
    const offset = Number(/const LOCK_ADDR: usize = crate::owner::TAG_ADDR \+ (\d+);/.exec(src('lock.rs'))[1]);
    const failed = Number(/pub const FAILED: u32 = (\d+);/.exec(src('lock.rs'))[1]);
    assert.deepEqual({ ...LOCK_ABI }, { address: tag + offset, held: 1, failed });
    assert.equal(LOCK, LOCK_ABI.address >> 2);
  });

  test('marks the lock word FAILED (2); a trap that finds it there says another thread found the damage', async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 64, shared: true });
    const { heap, real } = await trappingHeap('linalloc-mt.wasm', 'malloc', { memory });
    const words = new Int32Array(real.memory.buffer);
    assert.equal(Atomics.load(words, LOCK), 0);
    assert.throws(() => heap.malloc(8), (e) => failed(e) && /by any thread/.test(e.message));
    assert.equal(Atomics.load(words, LOCK), 2, 'marked failed in memory');
    const second = new Heap({ exports: { ...real.exports, malloc: trap } }, real.memory);
    assert.throws(() => second.malloc(8), (e) => failed(e, { other: true }));
    assert.equal(Atomics.load(words, LOCK), 2);
  });

  /** Runs the two failure workers on `heap`; each answer, or a timeout naming the worker that hung. */
  async function trapThenCall(heap, emulate, ms = 15000) {
    const sync = new SharedArrayBuffer(4);
    const workers = ['trap', 'after'].map((role) => {
      const workerData = { init: heap.workerInit(), role, sync, emulate };
      return { role, w: new Worker(WORKER, { workerData }) };
    });
    try {
      return await Promise.all(workers.map(({ role, w }) => new Promise((resolve, reject) => {
        const hung = () => reject(new Error(`the ${role} worker hung for ${ms} ms (spinning on the heap's lock?)`));
        const timer = setTimeout(hung, ms);
        w.on('message', (m) => {
          if (m.ready) return;
          clearTimeout(timer);
          resolve(m);
        });
        w.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      })));
    } finally {
      await Promise.all(workers.map(({ w }) => w.terminate()));
    }
  }

  const expectFailure = ([trapper, after]) => {
    assert.equal(trapper.first.code, 'HEAP_FAILED', JSON.stringify(trapper.first));
    assert.equal(trapper.first.cause, 'RuntimeError');
    assert.equal(trapper.first.otherThread, false);
    assert.equal(trapper.first.lock, 2, 'the trapping thread marked the heap failed');
    assert.equal(trapper.again.code, 'HEAP_FAILED');
    assert.match(trapper.again.message, /failed earlier/);
    assert.equal(after.first.name, 'HeapCorruptionError', JSON.stringify(after.first));
    assert.equal(after.first.code, 'HEAP_FAILED');
    assert.equal(after.first.otherThread, true);
    assert.match(after.first.message, /another thread found this heap's memory damaged/);
  };

  test('the loader\'s side: a trap in one worker, then the other\'s call fails instead of waiting (lock emulated in JS)', async () => {
    const heap = await load(undefined, { shared: true, initial: 4, maximum: 64 });
    expectFailure(await trapThenCall(heap, true));
  });

  test('mt_trap_leaves_lock: a trap in one worker, then another worker\'s call throws HeapCorruptionError, not hangs', async () => {
    // needs the threads build whose lock traps at once on FAILED (src/lock.rs)
    const heap = await load(DIST + 'linalloc-mt.wasm', { shared: true, initial: 4, maximum: 64 });
    expectFailure(await trapThenCall(heap, false));
    // safe now that a call finds FAILED and traps: the main thread's heap stops too
    assert.throws(() => heap.malloc(300), (e) => failed(e, { other: true }));
  });
});

test('the raw module: without the loader, the trap is the engine\'s RuntimeError (only the Heap translates)', () => {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16 });
  const module = new WebAssembly.Module(readFileSync(DIST + 'linalloc.wasm'));
  const x = new WebAssembly.Instance(module, { env: { memory } }).exports;
  x.free(x.malloc(300));
  new Int32Array(memory.buffer)[(512 + 8) >> 2] = 0x7fff0000;
  assert.throws(() => x.malloc(300), WebAssembly.RuntimeError);
});

test('threads build: a stack overflow inside a heap call marks the heap failed; the next call throws HEAP_FAILED instead of spinning on the lock', async () => {
  const worker = new Worker(new URL('./helpers/stack-overflow-worker.mjs', import.meta.url));
  const result = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('hang'), 20_000);
    worker.on('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    worker.on('error', reject);
  });
  await worker.terminate();
  assert.notEqual(result, 'hang', 'the call after the stack overflow never returned (the lock stayed held)');
  assert.equal(result.lock, 2, 'the lock word says failed');
  assert.equal(result.next, 'HEAP_FAILED');
});
