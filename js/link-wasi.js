// WASI programs in linkModules: a client's wasi_snapshot_preview1 imports
// come from `options.wasi` (Node's node:wasi WASI, or a browser WASI library
// of the same shape: `wasiImport`, `start`, `initialize`), and once every
// module is linked each such client is initialized (a reactor) or started
// (a command: `_start`, whose exit code linkModules returns).

import { LinallocError, stoppedMidCall } from './errors.js';
import { INTERNAL } from './internal.js';

/** Import modules a WASI implementation provides. */
const WASI_MODULES = new Set(['wasi_snapshot_preview1']);

/** True for an import that a WASI implementation provides. */
export const isWasiImport = (imp) => WASI_MODULES.has(imp.module);

/** True when `w` looks like one WASI instance: node:wasi's WASI, @bjorn3/browser_wasi_shim's WASI. */
const isWasi = (w) => w !== null && typeof w === 'object' && typeof w.wasiImport === 'object' && typeof w.start === 'function' && typeof w.initialize === 'function';

/**
 * Sets `plan.wasi`: client name -> the WASI instance that serves it, from
 * `options.wasi` (one WASI instance, for the one client that imports WASI,
 * or `{ clientName: wasi, … }`). A TypeError for anything else.
 */
export function planWasi(plan) {
  plan.wasi = new Map();
  const w = plan.options.wasi;
  if (w === undefined) return;
  const clients = plan.clients.filter((c) => c.imports.some(isWasiImport));
  if (isWasi(w)) {
    if (clients.length > 1) {
      throw new TypeError(`linalloc: options.wasi is one WASI instance, which starts one module, but ${clients.map((c) => c.name).join(', ')} all import WASI; pass one per module: { wasi: { ${clients.map((c) => `${c.name}: new WASI(…)`).join(', ')} } }`);
    }
    for (const c of clients) plan.wasi.set(c.name, w);
    return;
  }
  if (w === null || typeof w !== 'object' || !Object.values(w).every(isWasi)) {
    throw new TypeError("linalloc: options.wasi must be a WASI instance (Node: new (await import('node:wasi')).WASI({ version: 'preview1', returnOnExit: true }); browsers: @bjorn3/browser_wasi_shim's WASI) or an object mapping module names to WASI instances");
  }
  for (const [name, x] of Object.entries(w)) {
    if (!plan.clients.some((c) => c.name === name)) throw new TypeError(`linalloc: options.wasi.${name} names no module being linked (modules: ${plan.clients.map((c) => c.name).join(', ')})`);
    plan.wasi.set(name, x);
  }
}

/** The function the WASI instance serving client `c` provides for `imp`, or undefined. */
export function wasiFunction(plan, c, imp) {
  const w = plan.wasi?.get(c.name);
  if (!w || !isWasiImport(imp)) return undefined;
  const f = w.wasiImport[imp.name];
  return typeof f === 'function' ? f : undefined;
}

/** What the WASI instance sees of `instance`: its exports, with the shared memory as `memory`. */
const wasiView = (instance, memory) => ({ exports: { ...instance.exports, memory: instance.exports.memory ?? memory } });

/** True when client `c` is a WASI command that `runCommands` starts. */
export const isCommand = (plan, c, instance) => plan.wasi.has(c.name) && typeof instance.exports._start === 'function';

/** Initializes WASI client `c` (a reactor: runs `_initialize`; else only hands the memory over). */
export function initializeWasi(plan, c, instance) {
  plan.wasi.get(c.name).initialize(wasiView(instance, plan.heap.memory));
}

/**
 * Starts every WASI command of the plan in order; their exit codes by
 * module name. A trap becomes a LinallocError (`START_FAILED`) naming the
 * module; the loader's own errors (a checked-build fault) pass unchanged.
 */
export function runCommands(plan) {
  const exitCodes = {};
  for (const c of plan.clients) {
    const instance = plan.instances[c.name];
    if (!isCommand(plan, c, instance)) continue;
    try {
      exitCodes[c.name] = plan.wasi.get(c.name).start(wasiView(instance, plan.heap.memory));
    } catch (e) {
      if (e instanceof LinallocError) throw e;
      stopped(plan.heap, e);
      throw new LinallocError(`${c.name} failed while running (_start): ${e.message}`, 'START_FAILED', { module: c.name, cause: e, heap: plan.heap });
    }
  }
  return exitCodes;
}

/**
 * A linked module's run stopped half-way on a shared heap: the heap fails
 * (its lock word marked), since the module may have trapped inside the
 * allocator holding the lock, and other threads would spin on it. On a heap
 * of one thread the trap is taken as the module's own.
 */
export function stopped(heap, e) {
  if (heap.shared && stoppedMidCall(e)) heap[INTERNAL].fail(e);
}
