// Random-overrun fuzzing of the checked build, as a careless program would
// damage its heap: random blocks, one overrun of random length and byte past
// (or, sometimes, before) a random live block, then heap.check() and 50
// random frees/mallocs/reallocs. Every call must either work or throw a
// LinallocError; a raw RuntimeError (or any other error) is a failure, and
// so is a hang (the runner watches each trial from another thread).
//
// As a worker: runs `trials` trials from `seed`, posting each outcome.
// CLI: node tests/helpers/overrun-fuzz.mjs [--trials N] [--seconds S] [--seed S] [--workers N]
import { parentPort, workerData, Worker, isMainThread } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load, LinallocError } from '../../js/linalloc.js';
import { Rng } from './support.mjs';
import { report } from './report.mjs';

const FILE = fileURLToPath(new URL('../../dist/linalloc-checked.wasm', import.meta.url));
const BYTES = [0x00, 0x41, 0xdd, 0xca, 0xaa, 0xff];
const LENGTHS = [1, 8, 16, 100, 4096, 30_000];

/** One trial; returns the codes of the errors it met (empty: it ran normally). */
export async function trial(module, seed) {
  const rng = new Rng(seed);
  const initial = 1 + rng.below(4);
  const fixed = rng.below(4) === 0;
  const memory = new WebAssembly.Memory({ initial, maximum: fixed ? initial : initial + 64 });
  const heap = await load(module, { checked: true, memory });
  const met = [];
  const attempt = (fn) => {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof LinallocError)) throw e;
      met.push(e.code ?? e.constructor.name);
      return 0;
    }
  };
  const live = [];
  const size = () => [1, 8, 24, 100, 1000, 5000][rng.below(6)] + rng.below(16);
  for (let n = 1 + rng.below(300); n > 0; n--) {
    const p = attempt(() => (rng.below(8) === 0 ? heap.alignedAlloc(1 << (4 + rng.below(9)), size()) : heap.malloc(size())));
    if (p) live.push(p);
  }
  if (live.length) {
    const victim = live[rng.below(live.length)];
    const end = victim + heap.blockSize(victim);
    const len = rng.below(3) === 0 ? 1 + rng.below(70_000) : LENGTHS[rng.below(LENGTHS.length)];
    const byte = rng.below(3) === 0 ? rng.below(256) : BYTES[rng.below(BYTES.length)];
    const u8 = heap.u8;
    if (rng.below(5) === 0) u8.fill(byte, Math.max(0, victim - 1 - rng.below(16)), victim); // underflow
    else u8.fill(byte, end, Math.min(u8.length, end + len));
  }
  attempt(() => heap.check());
  for (let k = 0; k < 50; k++) {
    const op = rng.below(10);
    if (op < 4 && live.length) {
      const p = live.splice(rng.below(live.length), 1)[0];
      attempt(() => heap.free(p));
    } else if (op < 5 && live.length) {
      const i = rng.below(live.length);
      const q = attempt(() => heap.realloc(live[i], size()));
      if (q) live[i] = q;
    } else if (op < 6) {
      attempt(() => heap.check());
    } else {
      const p = attempt(() => heap.malloc(size()));
      if (p) live.push(p);
    }
  }
  return met;
}

if (!isMainThread && workerData?.overrunFuzz) {
  const { seed, trials, seconds } = workerData;
  const module = new WebAssembly.Module(readFileSync(FILE));
  const deadline = seconds ? Date.now() + seconds * 1000 : Infinity;
  for (let t = 0; t < trials && Date.now() < deadline; t++) {
    parentPort.postMessage({ start: t, seed: seed + t });
    try {
      parentPort.postMessage({ done: t, met: await trial(module, seed + t) });
    } catch (e) {
      parentPort.postMessage({ failed: t, seed: seed + t, error: `${e?.constructor?.name}: ${e?.message}` });
      break;
    }
  }
  parentPort.postMessage({ finished: true });
}

/**
 * Runs `trials` trials (or until `seconds` pass) on `workers` threads, each
 * trial watched: a trial that takes longer than `timeoutMs` is a hang.
 * Resolves to `{ trials, normal, byCode, failures }`.
 */
export function runOverrunFuzz({ seed, trials = 5000, seconds = 0, workers = 2, timeoutMs = 10_000, onProgress }) {
  const per = Math.ceil(trials / workers);
  const result = { seed, trials: 0, normal: 0, byCode: {}, failures: [] };
  return Promise.all(
    Array.from({ length: workers }, (_, w) => new Promise((resolve) => {
      const first = seed + w * per;
      const worker = new Worker(new URL(import.meta.url), { workerData: { overrunFuzz: true, seed: first, trials: per, seconds } });
      let watch = null;
      const arm = (t, s) => {
        clearTimeout(watch);
        watch = setTimeout(() => {
          result.failures.push(`seed ${s}: trial did not finish within ${timeoutMs} ms (hang); replay: node tests/helpers/overrun-fuzz.mjs --seed ${s} --trials 1 --workers 1`);
          worker.terminate();
        }, timeoutMs);
      };
      worker.on('message', (m) => {
        if (m.start !== undefined) arm(m.start, m.seed);
        if (m.done !== undefined) {
          result.trials++;
          if (m.met.length === 0) result.normal++;
          for (const c of new Set(m.met)) result.byCode[c] = (result.byCode[c] ?? 0) + 1;
          if (onProgress && result.trials % 500 === 0) onProgress(result);
        }
        if (m.failed !== undefined) result.failures.push(`seed ${m.seed}: ${m.error}; replay: node tests/helpers/overrun-fuzz.mjs --seed ${m.seed} --trials 1 --workers 1`);
      });
      worker.on('error', (e) => result.failures.push(`worker ${w}: ${e.message}`));
      worker.on('exit', () => {
        clearTimeout(watch);
        resolve();
      });
    })),
  ).then(() => result);
}

if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
  const seconds = arg('--seconds', 0);
  const seed = arg('--seed', (Date.now() % 1e9) >>> 0);
  const trials = arg('--trials', seconds ? 1e9 : 5000);
  console.log(`overrun fuzz of dist/linalloc-checked.wasm: seed ${seed}, ${seconds ? `${seconds} s` : `${trials} trials`}`);
  const r = await runOverrunFuzz({ seed, trials, seconds, workers: arg('--workers', 2), onProgress: (p) => process.stdout.write(`  ${p.trials} trials, ${p.normal} normal, ${JSON.stringify(p.byCode)}\n`) });
  console.log(`${r.trials} trials: ${r.normal} ran normally; trials meeting each error: ${JSON.stringify(r.byCode)}`);
  for (const f of r.failures) console.log(`FAIL ${f}`);
  if (seconds && !r.failures.length) report('overrun-long', { seconds, seed, trials: r.trials, normal: r.normal, byCode: r.byCode });
  process.exitCode = r.failures.length ? 1 : 0;
}
