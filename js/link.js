// Runtime linking: `linkModules` as a pipeline of phases over one plan
// object: fetch + compile -> refuse second allocators -> plan the static
// layout (moving stack-first stacks) -> check imports -> start (or join) the
// heap -> instantiate the clients -> finish (initialize, run WASI commands).

import { LinkError, hex } from './errors.js';
import { compileSource, layoutOf } from './fetch.js';
import { Heap } from './heap.js';
import { INTERNAL } from './internal.js';
import { instantiateClient } from './link-client.js';
import { checkLinkImports, resolveImport } from './link-imports.js';
import { refuseForeignHeaps } from './link-refuse.js';
import { dataRegion, moveStacks, stackFirst } from './link-stack.js';
import { initializeWasi, isCommand, planWasi, runCommands } from './link-wasi.js';
import { bundled, checkLoadOptions, startHeap, staticEnd } from './load.js';
import { PAGE_SIZE, pageUp } from './memory.js';
import { staticRegion } from './wasm-info.js';

/**
 * Links modules that need `malloc`/`free` (C, Rust, …) against the linalloc
 * allocator in one shared memory. All sources are fetched and compiled in
 * parallel, then instantiated with the allocator first.
 *
 * Imports are resolved from, in order: `options.imports`, the allocator's
 * exports (for module `env`), and the other modules' exports (by module name,
 * or any module for `env`). Circular imports go through JS trampolines bound
 * after instantiation, so declaration order does not matter.
 *
 * Fixed-layout modules keep their static data where they were linked
 * (`--global-base`); the loader sizes or checks the memory so it fits below
 * the heap and refuses overlaps. Position-independent side modules
 * (`dylink.0`) get their data block and stack from linalloc itself, so they
 * can be linked at any time, also into an existing heap (`options.heap`).
 *
 * @param {Record<string, Source>} modules names -> sources; the allocator is
 *   `modules.linalloc` (default: the bundled dist/linalloc.wasm)
 * @param {object} [options] `memory`, `initial`, `maximum`, `track` (as for `load`),
 *   `imports` (user functions by module name), `heap` (link into a running Heap),
 *   `allocator` (the allocator's key, default 'linalloc'), `stackSize` (bytes of
 *   stack for each side module, default 65536), `wasi` (a WASI instance, e.g.
 *   node:wasi's `new WASI({ version: 'preview1', returnOnExit: true })`, for
 *   the client importing wasi_snapshot_preview1, or `{ name: wasi, … }`)
 * @returns {Promise<{ heap: Heap, instances: Record<string, WebAssembly.Instance>, regions: object[], exitCodes: Record<string, number> }>}
 *   `exitCodes`: each WASI command's (a client exporting `_start`, run by linkModules)
 */
export async function linkModules(modules, options = {}) {
  const plan = newPlan(modules, options);
  await compileAll(plan);
  refuseForeignHeaps(plan);
  planWasi(plan);
  planLayout(plan);
  await moveStacks(plan);
  checkLinkImports(plan);
  await startLinkedHeap(plan);
  await instantiateClients(plan);
  return finish(plan);
}

/**
 * The plan every phase reads and fills in. From the options: `options`,
 * `allocName`, `existing` (the running Heap or null), `entries` ([name,
 * source] to compile), `userImports`, `stackSize`. compileAll: `byName`,
 * `allocator` (null when linking into `existing`), `clients`. planLayout:
 * `regions` (all static regions, for overlap checks), `fixed` (the new ones),
 * `movedStacks` (stack-first clients, see js/link-stack.js), `neededPages`.
 * planWasi: `wasi` (client name -> WASI instance). startLinkedHeap: `heap`, `instances`. instantiateClients:
 * `trampolines` and `lateGot`, bound by finish.
 */
function newPlan(modules, options) {
  if (!modules || typeof modules !== 'object') throw new TypeError('linalloc: linkModules expects an object mapping names to module sources');
  checkLoadOptions(options);
  const allocName = options.allocator ?? 'linalloc';
  if (options.allocator !== undefined && !(typeof options.allocator === 'string' && Object.hasOwn(modules, options.allocator))) {
    throw new TypeError(`linalloc: options.allocator names the entry of modules that is the allocator (default 'linalloc'); ${JSON.stringify(options.allocator)} is not one of ${JSON.stringify(Object.keys(modules))}. To link against another build, pass it as a module: linkModules({ linalloc: 'dist/linalloc-dlmalloc.wasm', app: 'app.wasm' }).`);
  }
  const existing = options.heap ?? null;
  if (existing && !(existing instanceof Heap)) throw new TypeError('linalloc: options.heap must be a Heap from load() or linkModules()');
  const entries = Object.entries(modules).filter(([name]) => !(existing && name === allocName));
  if (!existing && !entries.some(([name]) => name === allocName)) entries.unshift([allocName, bundled()]);
  return {
    options,
    allocName,
    existing,
    entries,
    userImports: options.imports || {},
    stackSize: options.stackSize ?? 65536,
    byName: null,
    allocator: null,
    clients: null,
    regions: null,
    fixed: [],
    movedStacks: [],
    neededPages: 0,
    heap: null,
    instances: null,
    trampolines: [],
    lateGot: [],
    wasi: null,
  };
}

// ---------------------------------------------------------------- 1. fetch + compile

/** Compiles one module and reads what linking needs: layout, imports, export names, PIC or not. */
async function compileModule(name, source) {
  const c = await compileSource(source);
  c.name = name;
  await layoutOf(c);
  c.imports = WebAssembly.Module.imports(c.module);
  c.exportNames = new Set(WebAssembly.Module.exports(c.module).map((e) => e.name));
  c.pic = c.layout.dylink !== null || c.imports.some((i) => i.name === '__memory_base');
  c.hasBytes = c.bytes !== null;
  return c;
}

/** Fetches and compiles every entry in parallel; sorts them into the allocator and the clients. */
async function compileAll(plan) {
  const all = await Promise.all(plan.entries.map(([name, source]) => compileModule(name, source)));
  plan.byName = new Map(all.map((c) => [c.name, c]));
  plan.allocator = plan.byName.get(plan.allocName) ?? null;
  plan.clients = all.filter((c) => c !== plan.allocator);
}

// ---------------------------------------------------------------- 2. static layout

/** Static regions of the fixed-layout clients: no overlaps, below the heap; the pages they need. */
function planLayout(plan) {
  const { existing, allocator } = plan;
  plan.regions = existing ? [...existing[INTERNAL].regions] : [{ module: plan.allocName, start: 0, end: 0 }];
  if (allocator) {
    const min = allocator.layout.memory?.initial ?? 1;
    plan.regions[0].end = Math.max(min * PAGE_SIZE, staticEnd(allocator));
  }
  for (const c of plan.clients) if (!c.pic) placeFixed(plan, c);
}

/** Adds fixed-layout client `c`'s static region to the plan, refusing overlaps. */
function placeFixed(plan, c) {
  if (!c.hasBytes && c.imports.some((i) => i.kind === 'memory')) {
    throw new LinkError(`${c.name}: a compiled WebAssembly.Module does not show where its static data lies; pass its URL or bytes instead.`, 'NEED_BYTES', { module: c.name });
  }
  // a stack-first module's stack is moved above everything once all data is placed
  c.stackFirst = c.hasBytes ? stackFirst(c.layout) : null;
  const r = c.stackFirst ? dataRegion(c.layout) : staticRegion(c.layout);
  plan.neededPages = Math.max(plan.neededPages, c.layout.memory?.initial ?? 0);
  if (!r) return;
  refuseOverlap(plan.regions, c, r);
  if (plan.existing && !plan.existing.reserveBelowHeap(r.end)) {
    throw new LinkError(
      `${c.name}: its static region [${hex(r.start)}, ${hex(r.end)}) lies in memory the running heap owns (from ${hex(plan.existing.heapStart)} on). ` +
        'A fixed-layout module must be linked together with the allocator, before the heap grows; or build it as a side module (-fPIC -shared), which can be linked at any time.',
      'OVERLAPS_HEAP',
      { module: c.name, region: r },
    );
  }
  const region = { module: c.name, start: r.start, end: r.end };
  plan.regions.push(region);
  plan.fixed.push(region);
  plan.neededPages = Math.max(plan.neededPages, Math.ceil(r.end / PAGE_SIZE));
  if (c.stackFirst) plan.movedStacks.push(c);
}

/** A LinkError when region `r` of client `c` overlaps one of `regions`, suggesting a free base. */
function refuseOverlap(regions, c, r) {
  const o = regions.find((x) => r.start < x.end && x.start < r.end);
  if (!o) return;
  const base = pageUp(Math.max(...regions.map((x) => x.end), r.end));
  // data at 0 is a stack placed first that the loader could not move (js/link-stack.js)
  const first = r.start === 0 ? ' Its region starts at 0: it was linked stack first (LLD 22\'s default); add -Wl,--no-stack-first.' : '';
  // stack first, the data follows the stack: LLD before 19 ignores --global-base then, later ones need it >= the stack size
  const relink = c.stackFirst
    ? `its data follows its stack (linked stack first; the loader moves the stack above the other modules), so relink it with -z stack-size=${base} (clang/zig cc: -Wl,-z,stack-size=${base}; LLD 19 and later also take --global-base=${base})`
    : `relink it at a free address, e.g. wasm-ld --global-base=${base} (clang/zig cc: -Wl,--global-base=${base})`;
  throw new LinkError(
    `${c.name}: its static region [${hex(r.start)}, ${hex(r.end)}) overlaps ${o.module}'s [${hex(o.start)}, ${hex(o.end)}).${first} ` +
      `To link ${c.name}, ${relink}, or build it as a side module (-fPIC -shared).`,
    'OVERLAP',
    { module: c.name, region: r, other: o, suggestedGlobalBase: base },
  );
}

// ---------------------------------------------------------------- 3. imports: js/link-imports.js

// ---------------------------------------------------------------- 4. the heap

/** Starts the allocator (it owns the memory) above the clients' static data, or joins the running heap. */
async function startLinkedHeap(plan) {
  const heap = plan.existing ?? (await startHeap(plan.allocator, plan.options, plan.neededPages));
  if (!plan.existing) {
    // the heap starts above every fixed-layout module's static data
    const top = Math.max(0, ...plan.fixed.map((r) => r.end));
    if (!heap.reserveBelowHeap(top)) throw new LinkError(`could not keep [0, ${hex(top)}) out of the heap for the modules' static data (the memory cannot grow that far).`, 'RESERVE_FAILED', { end: top });
  }
  heap[INTERNAL].regions.push(...plan.fixed);
  plan.heap = heap;
  plan.instances = { [plan.allocName]: plan.existing ? { exports: heap.exports } : null };
}

// ---------------------------------------------------------------- 5. clients

/** True when every function provider of client `c` is instantiated already. */
function providersReady(plan, c) {
  return c.imports.every((imp) => {
    if (imp.kind !== 'function') return true;
    const r = resolveImport(plan, c, imp);
    return !r?.provider || plan.instances[r.provider.name]; // null: weak, bound to null
  });
}

/** Instantiates the clients, each after its providers where possible; a cycle takes trampolines. */
async function instantiateClients(plan) {
  const pending = new Set(plan.clients);
  while (pending.size) {
    const next = [...pending].find((c) => providersReady(plan, c)) ?? pending.values().next().value;
    pending.delete(next);
    plan.instances[next.name] = await instantiateClient(plan, next);
  }
}

// ---------------------------------------------------------------- 6. finish

/** Runs a client's data relocations (side modules) and its constructors (a WASI command's run in `_start`). */
function initializeClient(plan, c, instance) {
  const x = instance.exports;
  if (c.pic && typeof x.__wasm_apply_data_relocs === 'function') x.__wasm_apply_data_relocs();
  if (isCommand(plan, c, instance)) return;
  if (plan.wasi.has(c.name)) initializeWasi(plan, c, instance);
  else if (typeof x._initialize === 'function') x._initialize();
  else if (typeof x.__wasm_call_ctors === 'function') x.__wasm_call_ctors();
}

/** Binds trampolines and late GOT entries, initializes the clients, runs the commands; the result of linkModules. */
function finish(plan) {
  const { heap, instances } = plan;
  for (const { t, provider, name } of plan.trampolines) t.target = instances[provider].exports[name];
  for (const fill of plan.lateGot) fill();
  for (const c of plan.clients) initializeClient(plan, c, instances[c.name]);
  if (!plan.existing) instances[plan.allocName] = { exports: heap.exports };
  const exitCodes = runCommands(plan);
  return { heap, instances, regions: heap[INTERNAL].regions.slice(), exitCodes };
}
