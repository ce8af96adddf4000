// Writes through dangling pointers: seeded random programs on a release
// build in which, now and then, one word (zero, a small number, random
// bits, another block's address or the owner tag's) is written into a block
// freed earlier, and JavaScript grows the memory now and then. Every
// pointer the heap returns is checked to lie in the memory above the heap
// start and clear of every live block; a trap is counted. Used by
// tests/misuse-release.test.mjs (a fixed slice in `make test`, asserting
// none of either on the default, threads and bump builds) and by
// `make fuzz SECONDS=N` (every release build until time is up, counts printed).
//
// CLI: node tests/helpers/dangling-fuzz.mjs [--seconds N] [--seed S] [--dir D/] [file.wasm ...]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DIST, Rng } from './support.mjs';
import { report } from './report.mjs';

const SIZES = [0, 8, 16, 24, 24, 40, 100, 250, 1000, 5000];

/**
 * One program of `ops` calls on a fresh instance of `file` (in `dir`; a
 * shared memory for the threads build). Returns `{ runs: 1, writes, traps,
 * outside, overlaps, corruptions }`; `traps` is 1 when the program ended in
 * a RuntimeError.
 */
export function danglingWrites(file, seed, { ops = 3000, shared = file.includes('-mt'), dir = DIST } = {}) {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 256, shared });
  const x = new WebAssembly.Instance(compiledIn(dir, file), { env: { memory } }).exports;
  const r = new Rng(seed);
  const live = new Map(); // ptr -> size
  const freed = []; // the last 64 blocks freed: [ptr, size]
  const out = { runs: 1, writes: 0, traps: 0, outside: 0, overlaps: 0, corruptions: 0 };
  let floor = 0; // the heap's start (its state), once it has started
  const look = (p, n) => {
    if (p === 0) return;
    if (p < floor || p + n > memory.buffer.byteLength) out.outside++;
    for (const [q, m] of live) if (p < q + Math.max(m, 1) && q < p + Math.max(n, 1)) out.overlaps++;
  };
  const pick = () => {
    const ps = [...live.keys()];
    return ps[r.below(ps.length)];
  };
  try {
    for (let op = 0; op < ops; op++) {
      const what = r.below(41);
      if (what < 18 || live.size === 0) {
        const n = SIZES[r.below(SIZES.length)] + r.below(9);
        const p = (what === 0 ? x.aligned_alloc(16 << r.below(5), n) : x.malloc(n)) >>> 0;
        if (floor === 0) floor = new DataView(memory.buffer).getUint32(520, true); // the owner tag's state address
        look(p, n);
        if (p) live.set(p, n);
      } else if (what < 32) {
        const p = pick();
        freed.push([p, live.get(p)]);
        if (freed.length > 64) freed.shift();
        live.delete(p);
        x.free(p);
      } else if (what < 35) {
        const p = pick();
        const m = [8, 24, 100, 3000][r.below(4)] + r.below(9);
        const q = x.realloc(p, m) >>> 0;
        if (q) {
          live.delete(p);
          look(q, m);
          live.set(q, m);
        }
      } else if (what === 35) {
        if (memory.buffer.byteLength < 200 * 65536) memory.grow(1); // JavaScript's own page
      } else if (freed.length) {
        const [p, n] = freed[r.below(freed.length)];
        if (n >= 4) {
          const at = p + 4 * r.below(n >> 2);
          const others = [...live.keys(), ...freed.map((f) => f[0])];
          const other = others[r.below(others.length)] ?? 0;
          const v = [0, r.below(64), r.next(), other - 8, other + 8 * r.below(8), 512][r.below(6)];
          new DataView(memory.buffer).setUint32(at, v >>> 0, true);
          out.writes++;
        }
      }
    }
    out.corruptions = typeof x.stats_corruptions === 'function' ? x.stats_corruptions() >>> 0 : 0;
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    out.traps++;
  }
  return out;
}

const modules = new Map();
function compiledIn(dir, file) {
  const key = dir + file;
  if (!modules.has(key)) modules.set(key, new WebAssembly.Module(readFileSync(key)));
  return modules.get(key);
}

/**
 * Sums of the counts of `danglingWrites` over seeds from `seed` until
 * `seconds` pass (at least one program), run in a worker with a watchdog:
 * a program that does not end within `limit` seconds is a hang (counted,
 * its seed kept, the worker ended) and the runs go on with the next seed.
 */
export async function danglingRuns(file, { seed = 1, seconds = 1, dir = DIST, limit = 10 } = {}) {
  const sum = { runs: 0, writes: 0, traps: 0, outside: 0, overlaps: 0, hangs: 0, corruptions: 0, firstSeed: seed, failingSeeds: [] };
  const end = Date.now() + seconds * 1000;
  let s = seed;
  while (sum.runs === 0 || Date.now() < end) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { file, dir, seed: s, until: end } });
    let current = s;
    const done = await new Promise((resolve) => {
      let timer;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve('hang'), limit * 1000);
      };
      arm();
      worker.on('message', (m) => {
        if (m.seed !== undefined) {
          current = m.seed;
          arm();
          return;
        }
        const o = m.result;
        for (const k of ['runs', 'writes', 'traps', 'outside', 'overlaps', 'corruptions']) sum[k] += o[k];
        if ((o.traps || o.outside || o.overlaps) && sum.failingSeeds.length < 5) sum.failingSeeds.push(current);
      });
      worker.on('exit', () => resolve('exit'));
      worker.on('error', (e) => resolve(e));
    });
    if (done instanceof Error) throw done;
    if (done === 'hang') {
      await worker.terminate();
      sum.runs++;
      sum.hangs++;
      if (sum.failingSeeds.length < 5) sum.failingSeeds.push(current);
    }
    s = next(current);
  }
  return sum;
}

const next = (s) => (s * 1103515245 + 12345) >>> 0 || 1;

// In a worker: programs from `seed` until `until`, each announced before it runs.
if (!isMainThread && workerData?.file) {
  const { file, dir, until } = workerData;
  let s = workerData.seed;
  do {
    parentPort.postMessage({ seed: s });
    parentPort.postMessage({ result: danglingWrites(file, s, { dir }) });
    s = next(s);
  } while (Date.now() < until);
}

if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
  const seconds = Number(opt('--seconds', 10));
  const dir = opt('--dir', DIST);
  const seed = Number(opt('--seed', (Date.now() % 0xffffffff) >>> 0 || 1));
  const files = args.filter((a) => a.endsWith('.wasm'));
  const targets = files.length ? files : ['linalloc.wasm', 'linalloc-mt.wasm', 'linalloc-bump.wasm', 'linalloc-dlmalloc.wasm', 'linalloc-talc.wasm', 'linalloc-wee.wasm'];
  const figures = {};
  for (const file of targets) {
    const s = await danglingRuns(file, { seed, seconds: seconds / targets.length, dir });
    figures[file] = s;
    console.log(`${file}: ${s.runs} programs, ${s.writes} dangling writes: ${s.traps} traps, ${s.outside} pointers outside the heap, ${s.overlaps} overlaps, ${s.hangs} hangs; ${s.corruptions} damaged links dropped (seeds from ${seed}${s.failingSeeds.length ? `; failing: ${s.failingSeeds.join(' ')}` : ''})`);
  }
  if (dir === DIST) report('dangling-long', { seconds, figures });
}
