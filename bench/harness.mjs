// Instantiates any allocator module (linalloc's or a peer's) and the trace
// driver against it, in one memory, with no JavaScript between them.
import { readFileSync } from 'node:fs';
import { memoryImportLimits, moduleLayout } from '../js/wasm-info.js';

export const TRACES = ['random', 'small', 'batch', 'grow', 'records'];
/** Traces that call realloc (skipped for allocators without one). */
export const NEEDS_REALLOC = new Set(['random', 'grow']);
/** Operations per trace in `make bench` (and `make bench-instr`). */
export const OPS = { random: 200_000, small: 300_000, batch: 40, grow: 1000, records: 300_000 };
/** The driver's random seed in every bench. */
export const SEED = 0x2545f491;

const DRIVER = new URL('../build/bench/driver.wasm', import.meta.url);
let driverModule = null;
let driverLayout = null;

/** Compiled allocator plus what instantiating it needs. */
export function prepareAllocator(file) {
  const bytes = readFileSync(file);
  const module = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(module);
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = ['malloc', 'free'].filter((n) => !exports.has(n) && !exports.has(`_${n}`));
  if (missing.length) throw new Error(`${file}: exports no ${missing.join('/')}`);
  const stubs = imports.filter((i) => i.kind === 'function').map((i) => `${i.module}.${i.name}`);
  const other = imports.filter((i) => i.kind !== 'function' && !(i.kind === 'memory'));
  if (other.length) throw new Error(`${file}: cannot provide imports ${other.map((i) => `${i.module}.${i.name}`).join(', ')}`);
  return { file, module, limits: memoryImportLimits(bytes), stubs, hasRealloc: exports.has('realloc') || exports.has('_realloc') };
}

/** A fresh instance of the allocator and the driver linked to it. */
export function instantiatePair(alloc) {
  driverModule ??= new WebAssembly.Module(readFileSync(DRIVER));
  driverLayout ??= moduleLayout(readFileSync(DRIVER));
  const imports = {};
  let memory = null;
  if (alloc.limits) {
    memory = new WebAssembly.Memory({ initial: Math.max(1, alloc.limits.initial), maximum: alloc.limits.maximum ?? 65536 });
    (imports[alloc.limits.module] ??= {})[alloc.limits.name] = memory;
  }
  // functions a peer may import, such as emscripten_notify_memory_growth: no-ops
  for (const name of alloc.stubs) {
    const [mod, ...rest] = name.split('.');
    (imports[mod] ??= {})[rest.join('.')] = () => 0;
  }
  const inst = new WebAssembly.Instance(alloc.module, imports);
  const x = inst.exports;
  memory ??= x.memory;
  if (typeof x._initialize === 'function') x._initialize();
  const fn = (n) => x[n] ?? x[`_${n}`];
  const malloc = fn('malloc');
  const realloc = fn('realloc') ?? (() => 0);
  const STACK = 65536;
  const stack = malloc(STACK) >>> 0;
  const dataSize = driverLayout.dylink?.memorySize ?? 0;
  const data = dataSize ? malloc(dataSize) >>> 0 : 0;
  const driver = new WebAssembly.Instance(driverModule, {
    env: {
      memory,
      malloc,
      free: fn('free'),
      realloc,
      __indirect_function_table: new WebAssembly.Table({ initial: driverLayout.dylink?.tableSize ?? 0, element: 'anyfunc' }),
      __stack_pointer: new WebAssembly.Global({ value: 'i32', mutable: true }, stack + STACK),
      __memory_base: new WebAssembly.Global({ value: 'i32', mutable: false }, data),
      __table_base: new WebAssembly.Global({ value: 'i32', mutable: false }, 0),
    },
  });
  const report = malloc(16) >>> 0;
  return {
    memory,
    /** Runs a trace; returns { checksum, peakLive, calls, failures, leftover, ms, memoryBytes }. */
    run(trace, seed, ops) {
      const t0 = performance.now();
      const checksum = driver.exports.run(TRACES.indexOf(trace), seed, ops, report) >>> 0;
      const ms = performance.now() - t0;
      const r = new Uint32Array(memory.buffer, report, 4);
      return { checksum, peakLive: r[0], calls: r[1], failures: r[2], leftover: r[3], ms, memoryBytes: memory.buffer.byteLength };
    },
  };
}
