// `make bench-instr`: machine instructions per allocator call, counted (not
// timed) by valgrind's callgrind while V8 runs the same driver and traces as
// `make bench`. Counts do not depend on the machine's load, so two builds
// can be compared to the instruction; they do not see cache misses or
// mispredicted branches, which `make bench` does.
//
// How: node runs under callgrind with TurboFan only (--no-liftoff: no tier-up
// during the run) and --perf-prof, whose jitdump names every compiled wasm
// function and its address range; callgrind's per-instruction counts
// (--dump-instr=yes) are summed per range. The driver's functions are
// reported apart, so "allocator" is what malloc/free/realloc cost. Only
// code in wasm is counted: `memory.copy` and `memory.fill` run in the
// engine's own routines (a `realloc` that moves copies outside the count).
//
//   node bench/instr.mjs [--traces random,batch] [--ops N] a.wasm b.wasm ...
//   node bench/instr.mjs --child file.wasm trace ops     (one measured run)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Operations per trace are `make bench`'s (so a trace's start and end weigh
// as much as there); --scale shortens them.
import { prepareAllocator, instantiatePair, TRACES, NEEDS_REALLOC, OPS, SEED } from './harness.mjs';
import { attribute, definedFunctionNames, instructionCosts, jitRanges } from './callgrind.mjs';

/** Functions of the driver module (everything else in wasm is the allocator's). */
const DRIVER_FUNCTIONS = definedFunctionNames(readFileSync(new URL('../build/bench/driver.wasm', import.meta.url)));

if (process.argv[2] === '--child') {
  // One warm-up run, then the measured one; prints both call counts.
  const [file, trace, ops] = process.argv.slice(3);
  const pair = instantiatePair(prepareAllocator(file));
  const calls = [0, 1].map(() => pair.run(trace, SEED, +ops).calls);
  process.stdout.write(JSON.stringify({ calls: calls[0] + calls[1] }));
  process.exit(0);
}

/** Runs one (allocator, trace) under callgrind: instructions per call, by function. */
function measure(file, trace, ops) {
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-instr-'));
  try {
    const out = join(dir, 'callgrind.out');
    const child = fileURLToPath(import.meta.url);
    const r = spawnSync(
      process.env.VALGRIND ?? 'valgrind',
      ['--tool=callgrind', '--dump-instr=yes', `--callgrind-out-file=${out}`, process.execPath, '--perf-prof', '--no-liftoff', '--single-threaded', child, '--child', resolve(file), trace, String(ops)],
      { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (r.error || r.status !== 0) throw new Error(`valgrind failed for ${file} ${trace}: ${r.error?.message ?? r.stderr.split('\n').filter((l) => !l.startsWith('==')).slice(-8).join('\n')}`);
    const { calls } = JSON.parse(r.stdout);
    const dump = readdirSync(dir).find((f) => f.startsWith('jit-') && f.endsWith('.dump'));
    if (!dump) throw new Error('node wrote no jitdump (--perf-prof): cannot name the wasm code');
    const { byFunction, driver } = attribute(instructionCosts(readFileSync(out, 'utf8')), jitRanges(readFileSync(join(dir, dump))), DRIVER_FUNCTIONS);
    const perCall = (n) => n / calls;
    const functions = [...byFunction].map(([name, n]) => ({ name, perCall: perCall(n) })).sort((a, b) => b.perCall - a.perCall);
    return { calls, allocator: perCall([...byFunction.values()].reduce((a, b) => a + b, 0)), driver: perCall(driver), functions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
let traces = TRACES;
let scale = 1;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--traces') traces = args[++i].split(',');
  else if (args[i] === '--scale') scale = +args[++i];
  else files.push(args[i]);
}
if (!DRIVER_FUNCTIONS.has('run')) {
  console.error('build/bench/driver.wasm has no names: cannot tell its code from the allocator\'s (build it with `make examples`)');
  process.exit(1);
}
if (!files.length) {
  console.error('usage: node bench/instr.mjs [--traces a,b] [--scale k] a.wasm b.wasm ...');
  process.exit(2);
}
const check = spawnSync(process.env.VALGRIND ?? 'valgrind', ['--version'], { encoding: 'utf8' });
if (check.error || check.status !== 0) {
  console.error('bench-instr needs valgrind (callgrind): on Debian, `apt-get install valgrind`; or set VALGRIND=/path/to/valgrind.');
  process.exit(1);
}

const results = [];
for (const file of files) {
  const hasRealloc = prepareAllocator(file).hasRealloc;
  for (const trace of traces) {
    if (NEEDS_REALLOC.has(trace) && !hasRealloc) continue;
    process.stderr.write(`bench-instr: ${basename(file)} ${trace} ...\n`);
    results.push({ file: basename(file, '.wasm'), trace, ...measure(file, trace, Math.max(1, Math.round(OPS[trace] * scale))) });
  }
}

const rows = ['| module | ' + traces.join(' | ') + ' |', '|---|' + traces.map(() => '---:').join('|') + '|'];
for (const file of [...new Set(results.map((r) => r.file))]) {
  const cell = (t) => {
    const r = results.find((x) => x.file === file && x.trace === t);
    return r ? r.allocator.toFixed(1) : '–';
  };
  rows.push(`| ${file} | ${traces.map(cell).join(' | ')} |`);
}
const first = results.filter((r) => r.file === results[0].file);
const detail = first.map((r) => `- ${r.trace} (${r.file}; driver ${r.driver.toFixed(1)}): ` + r.functions.filter((f) => f.perCall >= 0.5).map((f) => `${f.name} ${f.perCall.toFixed(1)}`).join(', '));
const text = `Allocator instructions per call (callgrind, V8 TurboFan; the driver's own excluded)\n\n${rows.join('\n')}\n\nBy function, ${results[0].file}:\n${detail.join('\n')}\n`;
console.log(text);
const dir = fileURLToPath(new URL('../build/bench/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'instr.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 1));
writeFileSync(join(dir, 'instr.md'), text);
