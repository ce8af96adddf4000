// Differential fuzzer: seeded random malloc/calloc/realloc/aligned_alloc/
// free/createRecord against a shadow model of live ranges. Every block holds
// a per-block pattern, verified before it is freed or moved and, for all
// live blocks, after every memory growth. Used by tests/fuzz.test.mjs (a
// fixed slice in `make test`) and by `make fuzz SECONDS=N` (until time is up).
//
// CLI: node tests/helpers/fuzz.mjs [--seconds N] [--ops N] [--seed S] [file.wasm ...]
import { fileURLToPath } from 'node:url';
import { instantiate, Rng, BACKENDS } from './support.mjs';
import { report } from './report.mjs';

/**
 * Runs `ops` operations (or until `seconds` pass) on a fresh instance of
 * `file`; throws an Error naming the seed and a replay command on the first
 * discrepancy. Returns `{ ops, seed, pointers, stats }`.
 */
export function fuzz({ file, seed = 1, ops = 100_000, seconds = 0, maxLive = 600, initial = 1 }) {
  const h = instantiate(file, { initial });
  const x = h.x;
  const rng = new Rng(seed);
  const live = new Map(); // ptr -> { size, tag, align }
  const ptrs = []; // live pointers, for O(1) random pick
  const trail = []; // first pointers handed out, for the determinism check
  let u8 = h.u8();
  let buffer = h.memory.buffer;
  const deadline = seconds ? Date.now() + seconds * 1000 : Infinity;
  const replay = `node tests/helpers/fuzz.mjs --seed ${seed} --ops ${ops} ${file}`;
  const fail = (op, msg) => {
    throw new Error(`fuzz ${file} seed=${seed} op=${op}: ${msg}\n  replay: ${replay}`);
  };
  const fill = (p, size, tag) => {
    for (let i = 0; i < size; i++) u8[p + i] = (tag + i * 7) & 0xff;
  };
  const verify = (op, p, size, tag, what) => {
    for (let i = 0; i < size; i++) if (u8[p + i] !== ((tag + i * 7) & 0xff)) fail(op, `${what}: byte ${i} of block ${p} (size ${size}) changed`);
  };
  const refresh = (op) => {
    if (h.memory.buffer !== buffer) {
      buffer = h.memory.buffer;
      u8 = new Uint8Array(buffer);
      for (const [p, b] of live) verify(op, p, b.size, b.tag, 'after memory growth');
    }
  };
  const add = (op, p, size, align) => {
    if (p === 0) fail(op, `allocation of ${size} bytes failed (out of memory at ${buffer.byteLength / 65536} pages)`);
    if (p % align !== 0) fail(op, `${p} not aligned to ${align}`);
    if (live.has(p)) fail(op, `pointer ${p} handed out twice`);
    if (p + size > buffer.byteLength) fail(op, `block ${p}+${size} beyond memory`);
    if (trail.length < 64) trail.push(p);
    const tag = rng.next() & 0xff;
    fill(p, size, tag);
    live.set(p, { size, tag, align });
    ptrs.push(p);
  };
  const remove = (i) => {
    const p = ptrs[i];
    ptrs[i] = ptrs[ptrs.length - 1];
    ptrs.pop();
    live.delete(p);
    return p;
  };
  const checkOverlap = (op) => {
    const spans = [...live].map(([p, b]) => [p, p + Math.max(1, b.size)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) if (spans[i - 1][1] > spans[i][0]) fail(op, `blocks overlap: ${spans[i - 1]} and ${spans[i]}`);
  };

  let op = 0;
  for (; op < ops && (op & 1023 || Date.now() < deadline); op++) {
    const r = rng.below(100);
    const size = rng.below(8) === 0 ? rng.below(10_001) : rng.below(129);
    if (ptrs.length < 50 || (r < 48 && ptrs.length < maxLive)) {
      const kind = rng.below(10);
      let p;
      let align = 8;
      let sz = size;
      if (kind === 0) {
        p = x.calloc(1 + rng.below(4), size >>> 2) >>> 0;
        sz = 0; // re-read below: calloc(n, s) has n*s bytes
      } else if (kind === 1) {
        align = 2 ** rng.below(13);
        p = x.aligned_alloc(align, size) >>> 0;
        align = Math.max(align, 8);
      } else if (kind === 2) {
        p = x.createRecord(op, op / 3, -op) >>> 0;
        sz = 24;
      } else {
        p = x.malloc(size) >>> 0;
      }
      refresh(op);
      if (kind === 0) {
        sz = (x.stats_in_use_bytes() >>> 0) - [...live.values()].reduce((a, b) => a + b.size, 0);
        for (let i = 0; i < sz; i++) if (u8[p + i] !== 0) fail(op, `calloc block ${p} not zeroed at ${i}`);
      } else if (kind === 2) {
        const dv = new DataView(buffer);
        if (dv.getUint32(p, true) !== op || dv.getFloat64(p + 8, true) !== op / 3 || dv.getFloat64(p + 16, true) !== -op) fail(op, `record ${p} fields wrong`);
      }
      add(op, p, sz, align);
    } else if (r < 85) {
      const i = rng.below(ptrs.length);
      const b = live.get(ptrs[i]);
      verify(op, ptrs[i], b.size, b.tag, 'before free');
      const p = remove(i);
      if (rng.below(4) === 0) x.deleteRecord(p);
      else x.free(p);
    } else {
      const i = rng.below(ptrs.length);
      const old = ptrs[i];
      const b = live.get(old);
      verify(op, old, b.size, b.tag, 'before realloc');
      const q = x.realloc(old, size) >>> 0;
      remove(i); // the old block is gone (moved or freed) before growth is checked
      refresh(op);
      if (size === 0) {
        if (q !== 0) fail(op, 'realloc(p, 0) did not return 0');
        continue;
      }
      if (q === 0) fail(op, `realloc to ${size} failed`);
      verify(op, q, Math.min(size, b.size), b.tag, 'contents after realloc');
      if (q % (b.align > 8 ? b.align : 8) !== 0) fail(op, `realloc lost alignment ${b.align}`);
      add(op, q, size, b.align);
    }
    if ((op & 8191) === 0) {
      checkOverlap(op);
      const inUse = x.stats_in_use_bytes() >>> 0;
      const model = [...live.values()].reduce((a, b) => a + b.size, 0);
      if (inUse !== model) fail(op, `stats_in_use_bytes ${inUse} but the model has ${model}`);
      if ((x.stats_live_allocations() >>> 0) !== live.size) fail(op, 'stats_live_allocations differs from the model');
    }
  }
  checkOverlap(op);
  for (const [p, b] of live) verify(op, p, b.size, b.tag, 'at the end');
  for (const p of [...ptrs]) x.free(p);
  const stats = h.stats();
  if (stats.live !== 0 || stats.inUse !== 0) fail(op, `after freeing everything: ${JSON.stringify(stats)}`);
  if (typeof x.heap_check === 'function' && x.heap_check() !== 0) fail(op, `heap_check reports ${x.checked_error_code()}`);
  return { ops: op, seed, pointers: trail, stats };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (n, d) => (args.includes(n) ? Number(args[args.indexOf(n) + 1]) : d);
  const seconds = opt('--seconds', 0);
  const files = args.filter((a) => a.endsWith('.wasm'));
  const targets = files.length ? files.map((f) => f.replace(/^.*dist\//, '')) : [...Object.values(BACKENDS), 'linalloc-checked.wasm'];
  const firstSeed = opt('--seed', (Date.now() % 0xffffffff) >>> 0 || 1);
  const ops = opt('--ops', seconds ? Infinity : 1_000_000);
  const perTarget = seconds / targets.length;
  const operations = {};
  for (const file of targets) {
    let seed = firstSeed;
    let total = 0;
    const end = Date.now() + perTarget * 1000;
    do {
      const r = fuzz({ file, seed, ops: seconds ? 2_000_000 : ops, seconds: seconds ? Math.max(1, (end - Date.now()) / 1000) : 0 });
      total += r.ops;
      console.log(`${file}: seed ${seed}: ${r.ops} operations ok`);
      seed = (seed * 1103515245 + 12345) >>> 0 || 1;
    } while (seconds && Date.now() < end);
    console.log(`${file}: ${total} operations in all`);
    operations[file] = total;
  }
  if (seconds) report('fuzz-long', { seconds, firstSeed, operations });
}
