// `make bench-instr`: machine instructions per allocator call, counted (not
// timed) by valgrind's callgrind while V8 runs the same driver and traces as
// `make bench`. Counts do not depend on the machine's load, so two builds
// can be compared to the instruction; they do not see cache misses or
// mispredicted branches, which `make bench` does.
//
// How: node runs under callgrind with TurboFan only (--no-liftoff: no tier-up
// during the run) and --perf-prof, whose jitdump names every compiled wasm
// function and its address range; callgrind's per-instruction counts
// (--dump-instr=yes) are summed per range (bench/callgrind.mjs). The
// driver's functions are counted apart, so "allocator" is what
// malloc/free/realloc cost. Only code in wasm is counted: `memory.copy`,
// `memory.fill` and `memory.grow` run in the engine's own routines (a
// `realloc` that moves copies outside the count).
//
//   node bench/instr.mjs [--traces random,batch] [--scale 0.2] [--doc FILE] a.wasm b.wasm ...
//   node bench/instr.mjs --child file.wasm trace ops      (the run valgrind watches)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Operations per trace are `make bench`'s (so a trace's start and end weigh
// as much as there); --scale shortens them.
import { prepareAllocator, instantiatePair, TRACES, NEEDS_REALLOC, OPS, SEED } from './harness.mjs';
import { attribute, definedFunctionNames, instructionCosts, jitRanges, moduleFunctions } from './callgrind.mjs';

const VALGRIND = process.env.VALGRIND || 'valgrind';
const DRIVER = new URL('../build/bench/driver.wasm', import.meta.url);

if (process.argv[2] === '--child') {
  // The trace twice on one instance (the first run's share of a cold start
  // stays small); both runs are counted, calls and instructions alike.
  const [file, trace, ops] = process.argv.slice(3);
  const pair = instantiatePair(prepareAllocator(file));
  const calls = [0, 1].map(() => pair.run(trace, SEED, +ops).calls);
  process.stdout.write(JSON.stringify({ calls: calls[0] + calls[1] }));
  process.exit(0);
}

function fail(message) {
  console.error(`bench-instr: ${message}`);
  process.exit(1);
}

const usage = 'usage: node bench/instr.mjs [--traces random,batch] [--scale 0.2] [--doc FILE] a.wasm b.wasm ...';
const args = process.argv.slice(2);
let traces = TRACES;
let scale = 1;
let doc = null;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--traces') traces = (args[++i] ?? '').split(',');
  else if (args[i] === '--scale') scale = Number(args[++i]);
  else if (args[i] === '--doc') doc = args[++i];
  else if (args[i].startsWith('-')) fail(`unknown option ${args[i]}\n${usage}`);
  else files.push(args[i]);
}
const unknown = traces.filter((t) => !TRACES.includes(t));
if (unknown.length) fail(`unknown trace ${unknown.join(', ')} (traces: ${TRACES.join(', ')})`);
if (!(scale > 0)) fail(`--scale needs a number above 0\n${usage}`);
if (!files.length) fail(usage);
if (!existsSync(DRIVER)) fail('build/bench/driver.wasm is missing: build it with `make examples`');
/** Functions of the driver module (everything else in wasm is the allocator's). */
const DRIVER_FUNCTIONS = definedFunctionNames(readFileSync(DRIVER));
if (!DRIVER_FUNCTIONS.has('run')) fail("build/bench/driver.wasm has no names: its code cannot be told from the allocator's");
const check = spawnSync(VALGRIND, ['--version'], { encoding: 'utf8' });
if (check.error || check.status !== 0) fail('needs valgrind (callgrind): `make bench-instr` installs it on Debian; or set VALGRIND=/path/to/valgrind');

/** Runs one (allocator, trace) under callgrind: instructions per call, by function. */
function measure(file, trace, ops) {
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-instr-'));
  try {
    const out = join(dir, 'callgrind.out');
    const child = fileURLToPath(import.meta.url);
    const r = spawnSync(
      VALGRIND,
      ['--tool=callgrind', '--dump-instr=yes', `--callgrind-out-file=${out}`, process.execPath, '--perf-prof', '--no-liftoff', '--single-threaded', child, '--child', resolve(file), trace, String(ops)],
      { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (r.error || r.status !== 0) throw new Error(`valgrind failed for ${file} ${trace}: ${r.error?.message ?? r.stderr.split('\n').filter((l) => !l.startsWith('==')).slice(-8).join('\n')}`);
    const { calls } = JSON.parse(r.stdout);
    if (!(calls > 0)) throw new Error(`${file} ${trace}: the driver made no calls`);
    const dump = readdirSync(dir).find((f) => f.startsWith('jit-') && f.endsWith('.dump'));
    if (!dump) throw new Error('node wrote no jitdump (--perf-prof): the wasm code cannot be named');
    const { byFunction, driver } = attribute(instructionCosts(readFileSync(out, 'utf8')), jitRanges(readFileSync(join(dir, dump))), DRIVER_FUNCTIONS, moduleFunctions(readFileSync(file)).exports);
    // zero means the names were not understood (another V8 naming scheme?), not a free allocator
    if (driver === 0 || byFunction.size === 0) throw new Error(`${file} ${trace}: no instructions matched to wasm functions (does this node name wasm code "JS:<name>-<index>-turbofan" in its jitdump?)`);
    const perCall = (n) => n / calls;
    const functions = [...byFunction].map(([name, n]) => ({ name, perCall: perCall(n) })).sort((a, b) => b.perCall - a.perCall);
    return { calls, allocator: perCall([...byFunction.values()].reduce((a, b) => a + b, 0)), driver: perCall(driver), functions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const file of files) {
  const hasRealloc = prepareAllocator(file).hasRealloc;
  for (const trace of traces) {
    if (NEEDS_REALLOC.has(trace) && !hasRealloc) continue;
    process.stderr.write(`bench-instr: ${basename(file)} ${trace} ...\n`);
    results.push({ module: basename(file, '.wasm'), trace, ...measure(file, trace, Math.max(1, Math.round(OPS[trace] * scale))) });
  }
}

const version = (cmd, flag) => spawnSync(cmd, [flag], { encoding: 'utf8' }).stdout.trim();
const rows = ['| module | ' + traces.join(' | ') + ' |', '|---|' + traces.map(() => '---:').join('|') + '|'];
for (const module of [...new Set(results.map((r) => r.module))]) {
  const cell = (t) => results.find((x) => x.module === module && x.trace === t)?.allocator.toFixed(1) ?? '–';
  rows.push(`| ${module} | ${traces.map(cell).join(' | ')} |`);
}
const first = results.filter((r) => r.module === results[0].module);
const breakdown = first.map((r) => `- \`${r.trace}\` (the driver's own: ${r.driver.toFixed(1)}): ` + r.functions.filter((f) => f.perCall >= 0.5).map((f) => `${f.name} ${f.perCall.toFixed(1)}`).join(', '));
const scaleNote = scale === 1 ? "`make bench`'s operations per trace" : `${scale} of \`make bench\`'s operations per trace`;
const text = `Allocator instructions per call (callgrind; V8 TurboFan; the driver's own left out; ${scaleNote}):

${rows.join('\n')}

By function, ${results[0].module}, instructions per call (a function exported under several names goes by all of them):
${breakdown.join('\n')}
`;
console.log(text);
const outDir = fileURLToPath(new URL('../build/bench/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const meta = { date: new Date().toISOString().slice(0, 10), node: process.version, valgrind: version(VALGRIND, '--version'), scale };
writeFileSync(join(outDir, 'instr.json'), JSON.stringify({ ...meta, results }, null, 1));
writeFileSync(join(outDir, 'instr.md'), text);
if (doc) {
  writeFileSync(
    doc,
    `# Instructions per call

Generated by \`make bench-instr\` (bench/instr.mjs) on ${meta.date}: Node ${meta.node}, ${meta.valgrind}; do not edit by hand. What it counts and
what it cannot see: [CONTRIBUTING.md](../CONTRIBUTING.md#benchmarks). Time
is measured by \`make bench\`: [BENCHMARKS.md](BENCHMARKS.md).

${text}`,
  );
  console.log(`bench-instr: wrote ${doc}`);
}
