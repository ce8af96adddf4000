// `make bench`: size, speed inside wasm, memory efficiency and the JS
// boundary, for every backend and any peer allocator, side by side in one run.
// Usage: node bench/run.mjs [--quick] [--out results.json] [--svg results.svg] [peer.wasm ...]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { basename } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { TRACES, NEEDS_REALLOC, prepareAllocator, instantiatePair, OPS as FULL_OPS, SEED } from './harness.mjs';
import { load } from '../js/linalloc.js';
import { renderSvg } from './chart.mjs';
import { threadsBench } from './threads.mjs';
import v8 from 'node:v8';
import vm from 'node:vm';

// Every run instantiates a fresh memory that may grow to 4 GiB. V8 reserves
// address space for each; when earlier, unreachable memories are not yet
// collected, a new one can get a slower, bounds-checked memory, which made
// whoever ran later in a round look slower. Collect before every run.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const QUICK = args.includes('--quick') || process.env.QUICK === '1';
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const OUT = opt('--out', QUICK ? null : ROOT + 'bench/results.json');
const SVG = opt('--svg', QUICK ? null : ROOT + 'bench/results.svg');
const peers = args.filter((a, i) => a.endsWith('.wasm') && !['--out', '--svg'].includes(args[i - 1]));
peers.push(...(process.env.ALLOCATORS || '').split(/\s+/).filter(Boolean));

const OPS = QUICK ? { random: 20_000, small: 20_000, batch: 4, grow: 50, records: 20_000 } : FULL_OPS;
const RUNS = QUICK ? 2 : 5;

const backends = [
  { name: 'dlmalloc', file: 'build/dist/linalloc-dlmalloc.wasm', kind: 'selectable' },
  { name: 'lin', file: 'build/dist/linalloc.wasm', kind: 'default' },
  { name: 'talc', file: 'build/dist/linalloc-talc.wasm', kind: 'selectable' },
  { name: 'bump', file: 'build/dist/linalloc-bump.wasm', kind: 'arena (frees at reset)' },
  { name: 'wee_alloc', file: 'build/dist/linalloc-wee.wasm', kind: 'legacy' },
  ...peers.map((f) => ({ name: basename(f, '.wasm'), file: f, kind: 'peer', external: true })),
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const path = (f) => (f.startsWith('/') ? f : ROOT + f);

// ---- 1. sizes
function size(file) {
  const b = readFileSync(path(file));
  return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length, brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
}

// ---- 2 + 3. traces inside wasm, and memory efficiency
// Backends take turns within each round (A B C D, A B C D, ...), so machine
// noise hits them alike and the ratios measured side by side stay fair.
function measureAll(list) {
  const prepared = list.map((b) => prepareAllocator(path(b.file)));
  const out = list.map(() => ({}));
  for (const trace of TRACES) {
    const active = [];
    prepared.forEach((alloc, k) => {
      if (NEEDS_REALLOC.has(trace) && !alloc.hasRealloc) out[k][trace] = { skipped: 'no realloc export' };
      else active.push(k);
    });
    process.stderr.write(`  ${trace} (${active.length} allocators, ${RUNS} rounds + warm-up):`);
    const t0 = performance.now();
    // A module that traps (a peer's bug) is reported for that trace and left
    // out of it; the others go on.
    const trapped = new Map();
    const attempt = (k) => {
      collect();
      try {
        return instantiatePair(prepared[k]).run(trace, SEED, OPS[trace]);
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        trapped.set(k, e.message);
        return null;
      }
    };
    // progress: which trace, round and backend is running (one line per
    // round when stderr is not a terminal)
    const tty = process.stderr.isTTY;
    const note = (round, k) => tty && process.stderr.write(`\r  ${trace}: round ${round}/${RUNS} ${list[k].name}`.padEnd(60));
    for (const k of active) {
      note(0, k);
      attempt(k); // warm-up (JIT tiers)
    }
    const runs = list.map(() => []);
    for (let i = 0; i < RUNS; i++) {
      for (const k of active) {
        if (trapped.has(k)) continue;
        note(i + 1, k);
        runs[k].push(attempt(k));
      }
      if (!tty) process.stderr.write(` ${i + 1}/${RUNS}`);
    }
    if (tty) process.stderr.write(`\r  ${trace}:`.padEnd(60) + '\r' + `  ${trace}:`);
    for (const [k, message] of trapped) {
      out[k][trace] = { trapped: message };
      active.splice(active.indexOf(k), 1);
    }
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const k of active) {
      const rs = runs[k];
      const r = rs[0];
      const ms = median(rs.map((x) => x.ms));
      out[k][trace] = {
        nsPerCall: (ms * 1e6) / r.calls,
        msMedian: ms,
        msAll: rs.map((x) => +x.ms.toFixed(3)),
        calls: r.calls,
        checksum: r.checksum,
        checksumsStable: rs.every((x) => x.checksum === r.checksum),
        failures: Math.max(...rs.map((x) => x.failures)),
        leftover: r.leftover,
        peakLiveBytes: r.peakLive,
        memoryBytes: r.memoryBytes,
        pagesAtEnd: r.memoryBytes / 65536,
        efficiency: r.memoryBytes / Math.max(1, r.peakLive),
      };
    }
  }
  return out;
}

// ---- 4. the JS boundary (linalloc's default module through the loader)
async function boundary() {
  const N = QUICK ? 20_000 : 200_000;
  const heap = await load(readFileSync(ROOT + 'build/dist/linalloc.wasm'));
  const x = heap.exports;
  // Variants are timed interleaved (A B C A B C ...) so JIT tiering and
  // heap state affect each alike; each figure is the median of RUNS rounds.
  const timeAll = (fns) => {
    fns.forEach((fn) => fn()); // warm-up
    const t = fns.map(() => []);
    for (let i = 0; i < RUNS + 2; i++) {
      fns.forEach((fn, k) => {
        const t0 = performance.now();
        fn();
        t[k].push(performance.now() - t0);
      });
    }
    return t.map(median);
  };
  const [loaderPair, rawPair, trivial] = timeAll([
    () => { for (let i = 0; i < N; i++) heap.free(heap.malloc(i & 1023)); },
    () => { for (let i = 0; i < N; i++) x.free(x.malloc(i & 1023)); },
    () => { for (let i = 0; i < N; i++) { x.stats_live_allocations(); x.stats_live_allocations(); } },
  ]);

  const R = QUICK ? 10_000 : 100_000;
  let sink = 0;
  const [recLoader, recRaw, recJs] = timeAll([
    () => {
      const rs = [];
      for (let i = 0; i < R; i++) rs.push(heap.createRecord(i, i * 0.5, -i));
      for (const r of rs) sink += r.id + r.x + r.y;
      for (const r of rs) r.free();
    },
    () => {
      const ps = new Uint32Array(R);
      for (let i = 0; i < R; i++) ps[i] = x.createRecord(i, i * 0.5, -i);
      const f64 = new Float64Array(heap.memory.buffer);
      const u32 = new Uint32Array(heap.memory.buffer);
      for (let i = 0; i < R; i++) { const p = ps[i]; sink += u32[p >>> 2] + f64[(p + 8) >>> 3] + f64[(p + 16) >>> 3]; }
      for (let i = 0; i < R; i++) x.deleteRecord(ps[i]);
    },
    () => {
      const rs = [];
      for (let i = 0; i < R; i++) rs.push({ id: i, x: i * 0.5, y: -i });
      for (const r of rs) sink += r.id + r.x + r.y;
      rs.length = 0;
    },
  ]);
  return {
    calls: N,
    records: R,
    nsPerPair: { loader: (loaderPair * 1e6) / N, raw: (rawPair * 1e6) / N, trivialExportPair: (trivial * 1e6) / N },
    loaderOverRaw: loaderPair / rawPair,
    rawOverTrivial: rawPair / trivial,
    recordsMs: { loader: recLoader, rawExportsAndTypedArrays: recRaw, plainJsObjects: recJs },
    recordsLoaderOverRaw: recLoader / recRaw,
    recordsRawOverJs: recRaw / recJs,
    sink: sink > 0,
  };
}

// ---- run everything
const results = {
  date: new Date().toISOString(),
  quick: QUICK,
  machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` },
  engine: { node: process.version, v8: process.versions.v8 },
  seed: SEED,
  ops: OPS,
  runs: RUNS,
  backends: [],
};
for (const b of backends) {
  if (!existsSync(path(b.file))) {
    console.error(`missing ${b.file}: run make build`);
    process.exit(2);
  }
}
process.stderr.write(`bench ${backends.map((b) => b.name).join(', ')}\n`);
const measured = measureAll(backends);
backends.forEach((b, k) => results.backends.push({ name: b.name, kind: b.kind, file: b.file, size: size(b.file), traces: measured[k] }));
results.jsBoundary = await boundary();
process.stderr.write('  threads build: single-thread cost, 1 and 2 workers\n');
results.threads = { file: 'build/dist/linalloc-mt.wasm', size: size('build/dist/linalloc-mt.wasm'), ...(await threadsBench({ quick: QUICK })) };

// ratios to dlmalloc, measured in this same run
const base = results.backends.find((b) => b.name === 'dlmalloc');
for (const b of results.backends) {
  for (const t of TRACES) {
    const m = b.traces[t];
    if (m.nsPerCall !== undefined) m.ratioToDlmalloc = m.nsPerCall / base.traces[t].nsPerCall;
  }
}

// checksums: every allocator that completed a trace without failures must agree
const problems = [];
for (const t of TRACES) {
  const done = results.backends.filter((b) => b.traces[t].checksum !== undefined && b.traces[t].failures === 0);
  const sums = new Set(done.map((b) => b.traces[t].checksum));
  if (sums.size > 1) problems.push(`${t}: checksums differ: ${done.map((b) => `${b.name}=${b.traces[t].checksum}`).join(' ')}`);
  for (const b of done) {
    if (!b.traces[t].checksumsStable) problems.push(`${t}: ${b.name} gave different checksums across runs`);
    if (b.traces[t].leftover !== 0) problems.push(`${t}: ${b.name}: the driver did not free everything`);
  }
}
results.checksumsAgree = problems.length === 0;
results.problems = problems;

// ---- report
const pad = (s, n) => String(s).padStart(n);
const line = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[0]) : pad(c, widths[i]))).join('  ');
console.log(`\nlinalloc bench — ${results.engine.node} (V8 ${results.engine.v8}), ${results.machine.cpu}, ${QUICK ? 'QUICK' : 'full'}; median of ${RUNS} runs after a warm-up\n`);
console.log('Sizes (bytes, after wasm-opt -Oz)');
const sw = [36, 8, 8, 8];
console.log(line(['module', 'raw', 'gzip-9', 'brotli'], sw));
for (const b of results.backends) console.log(line([`${b.name}: ${b.kind}`, b.size.raw, b.size.gzip, b.size.brotli], sw));

console.log('\nSpeed: ns per allocator call (ratio to dlmalloc in this run; < 1 is faster)');
const tw = [12, ...TRACES.map(() => 17)];
console.log(line(['backend', ...TRACES], tw));
for (const b of results.backends) {
  console.log(line([b.name, ...TRACES.map((t) => {
    const m = b.traces[t];
    if (m.skipped) return `skipped`;
    if (m.trapped) return 'TRAP';
    const fail = m.failures ? ` OOM×${m.failures}` : '';
    return `${m.nsPerCall.toFixed(1)} (${m.ratioToDlmalloc.toFixed(2)}x)${fail}`;
  })], tw));
}

console.log('\nMemory: peak memory / peak live requested bytes (pages at end)');
console.log(line(['backend', ...TRACES], tw));
for (const b of results.backends) {
  console.log(line([b.name, ...TRACES.map((t) => {
    const m = b.traces[t];
    return m.skipped ? 'skipped' : m.trapped ? 'TRAP' : `${m.efficiency.toFixed(2)} (${m.pagesAtEnd})`;
  })], tw));
}

const jb = results.jsBoundary;
console.log('\nJS boundary (build/dist/linalloc.wasm, the default build)');
console.log(`  malloc+free pair: loader ${jb.nsPerPair.loader.toFixed(1)} ns, raw exports ${jb.nsPerPair.raw.toFixed(1)} ns, two trivial export calls ${jb.nsPerPair.trivialExportPair.toFixed(1)} ns`);
console.log(`  loader / raw = ${jb.loaderOverRaw.toFixed(2)}x; raw / trivial calls = ${jb.rawOverTrivial.toFixed(2)}x`);
console.log(`  ${jb.records} records created, fields read, freed: loader ${jb.recordsMs.loader.toFixed(1)} ms, raw exports + typed arrays ${jb.recordsMs.rawExportsAndTypedArrays.toFixed(1)} ms, plain JS objects ${jb.recordsMs.plainJsObjects.toFixed(1)} ms`);
console.log(`  loader / raw = ${jb.recordsLoaderOverRaw.toFixed(2)}x; raw / plain JS = ${jb.recordsRawOverJs.toFixed(2)}x`);

const th = results.threads;
console.log(`\nThreads build (build/dist/linalloc-mt.wasm, ${th.size.raw} bytes): one shared heap, a spin lock, a cache of small blocks per thread`);
for (const [p, v] of Object.entries(th.singleThread)) console.log(`  ${p}: one thread ${v.nsPerOpMt.toFixed(1)} ns per malloc+free from JS vs ${v.nsPerOpLin.toFixed(1)} ns for the default build: ${v.ratio.toFixed(2)}x`);
for (const [p, v] of Object.entries(th.scaling)) console.log(`  ${p}: ${(v.opsPerSec1 / 1e6).toFixed(1)} M ops/s with 1 worker, ${(v.opsPerSec2 / 1e6).toFixed(1)} M with 2: ${v.ratio.toFixed(2)}x`);

// linalloc's default against the best peer (any module given as a peer, e.g.
// `make bench PEERS=1`): speed against the fastest build of every peer,
// size against the smallest; a peer built twice is named <peer>-speed / <peer>-size.
const peerList = results.backends.filter((b) => b.kind === 'peer');
if (peerList.length) {
  const lin = results.backends.find((b) => b.kind === 'default');
  const ok = (m) => m && m.nsPerCall !== undefined && !m.failures;
  results.vsBestPeer = {};
  console.log(`\nlinalloc (${lin.name}) vs the best peer (${[...new Set(peerList.map((b) => b.name.replace(/-(speed|size)$/, '')))].join(', ')})`);
  for (const t of TRACES) {
    const best = peerList.filter((b) => ok(b.traces[t])).sort((a, b) => a.traces[t].nsPerCall - b.traces[t].nsPerCall)[0];
    if (!best || !ok(lin.traces[t])) continue;
    const ratio = lin.traces[t].nsPerCall / best.traces[t].nsPerCall;
    results.vsBestPeer[t] = { peer: best.name, ratio };
    console.log(`  ${t.padEnd(8)} ${lin.traces[t].nsPerCall.toFixed(1)} ns vs ${best.name} ${best.traces[t].nsPerCall.toFixed(1)} ns: ${ratio.toFixed(2)}x ${ratio <= 1 ? '(linalloc faster)' : '(peer faster)'}`);
  }
  const smallest = [...peerList].sort((a, b) => a.size.raw - b.size.raw)[0];
  results.vsBestPeer.size = { peer: smallest.name, ratio: lin.size.raw / smallest.size.raw };
  console.log(`  size     ${lin.size.raw} bytes vs ${smallest.name} ${smallest.size.raw} bytes: ${(lin.size.raw / smallest.size.raw).toFixed(2)}x`);
}

for (const b of results.backends) for (const t of TRACES) if (b.traces[t].skipped) console.log(`note: ${b.name} ${t}: skipped (${b.traces[t].skipped})`);
for (const b of results.backends) for (const t of TRACES) if (b.traces[t].trapped) console.log(`note: ${b.name} ${t}: the module trapped (${b.traces[t].trapped})`);
for (const b of results.backends) for (const t of TRACES) if (b.traces[t].failures) console.log(`note: ${b.name} ${t}: ${b.traces[t].failures} allocations failed (out of memory at ${b.traces[t].pagesAtEnd} pages); its checksum is not compared`);
console.log(results.checksumsAgree ? '\nchecksums agree across backends' : `\nCHECKSUM PROBLEMS:\n  ${problems.join('\n  ')}`);

if (OUT) writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
if (SVG) writeFileSync(SVG, renderSvg(results));
if (OUT) console.log(`wrote ${OUT.replace(ROOT, '')}${SVG ? ` and ${SVG.replace(ROOT, '')}` : ''}`);
process.exit(results.checksumsAgree ? 0 : 1);
