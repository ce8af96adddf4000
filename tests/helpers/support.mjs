// Shared helpers for the Node suites: instantiate a real dist/*.wasm with a
// caller-created memory, a seeded PRNG, and a shadow model of live blocks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { readStats } from '../../js/abi.js';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Every backend's drop-in file, by backend name. */
export const BACKENDS = {
  lin: 'linalloc.wasm', // the default
  talc: 'linalloc-talc.wasm',
  dlmalloc: 'linalloc-dlmalloc.wasm',
  wee_alloc: 'linalloc-wee.wasm',
};

/** The checked build's drop-in file. */
export const CHECKED = 'linalloc-checked.wasm';

/** Every release backend, then the checked build, by name. */
export const WITH_CHECKED = { ...BACKENDS, checked: CHECKED };

// The suites' short names for the counters of heap.stats(); js/abi.js says
// which export fills which counter.
const SHORT_STATS = { live: 'liveAllocations', total: 'totalAllocations', failed: 'failedAllocations', inUse: 'inUseBytes', peak: 'peakInUseBytes', heap: 'heapBytes' };
const shortStats = (s) => Object.fromEntries(Object.entries(SHORT_STATS).map(([short, field]) => [short, s[field]]));

const modules = new Map();
/** The compiled module of a dist file (cached). */
export function compiled(file) {
  if (!modules.has(file)) modules.set(file, new WebAssembly.Module(readFileSync(DIST + file)));
  return modules.get(file);
}

/** Instantiates `file` against a new memory (or `memory`), raw exports only. */
export function instantiate(file, { initial = 2, maximum = 65536, memory } = {}) {
  memory ??= new WebAssembly.Memory({ initial, maximum });
  const instance = new WebAssembly.Instance(compiled(file), { env: { memory } });
  const x = instance.exports;
  return {
    x,
    memory,
    u8: () => new Uint8Array(memory.buffer),
    malloc: (n) => x.malloc(n) >>> 0,
    stats: () => shortStats(readStats(x)),
  };
}

/** xorshift32, the same sequence as the Rust tests' `Rng`. */
export class Rng {
  constructor(seed) {
    this.s = seed >>> 0 || 1;
  }
  next() {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x;
  }
  below(n) {
    return this.next() % n;
  }
}

/**
 * Live blocks as the caller sees them: each block's bytes hold a pattern
 * derived from its tag, verified before free/realloc and on demand.
 */
export class Shadow {
  constructor(u8, label) {
    this.u8 = u8; // () => fresh Uint8Array
    this.label = label;
    this.live = new Map(); // ptr -> { size, tag, align }
  }
  add(ptr, size, tag, align = 8) {
    assert.notEqual(ptr, 0, `${this.label}: allocation failed`);
    assert.equal(ptr % align, 0, `${this.label}: ${ptr} not aligned to ${align}`);
    assert.ok(!this.live.has(ptr), `${this.label}: pointer ${ptr} handed out twice`);
    this.fill(ptr, size, tag);
    this.live.set(ptr, { size, tag, align });
  }
  fill(ptr, size, tag) {
    const m = this.u8();
    for (let i = 0; i < size; i++) m[ptr + i] = (tag + i) & 0xff;
  }
  verify(ptr, size = this.live.get(ptr).size, tag = this.live.get(ptr).tag) {
    const m = this.u8();
    for (let i = 0; i < size; i++) {
      if (m[ptr + i] !== ((tag + i) & 0xff)) {
        assert.fail(`${this.label}: byte ${i} of block ${ptr} (size ${size}) changed`);
      }
    }
  }
  remove(ptr) {
    this.verify(ptr);
    this.live.delete(ptr);
  }
  /** No two live blocks overlap (zero-size blocks count as one byte). */
  checkDisjoint() {
    const spans = [...this.live].map(([p, b]) => [p, p + Math.max(1, b.size)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      assert.ok(spans[i - 1][1] <= spans[i][0], `${this.label}: blocks overlap: ${spans[i - 1]} and ${spans[i]}`);
    }
  }
  verifyAll() {
    for (const p of this.live.keys()) this.verify(p);
  }
  get bytes() {
    let n = 0;
    for (const b of this.live.values()) n += b.size;
    return n;
  }
}
