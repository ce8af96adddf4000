// Instantiating one linked client: its imports (memory, the shared function
// table, functions of the allocator and other clients, JS trampolines for
// providers not instantiated yet) and, for a position-independent side
// module, its data block, stack and GOT entries placed by linalloc itself.

import { LinallocError, LinkError } from './errors.js';
import { INTERNAL } from './internal.js';
import { isWeak, resolveImport } from './link-imports.js';
import { stopped } from './link-wasi.js';

/**
 * The function table the heap's side modules share, created when first
 * needed. Slot 0 stays empty: C's null function pointer.
 */
function tableOf(heap) {
  return (heap[INTERNAL].table ??= new WebAssembly.Table({ initial: 1, element: 'anyfunc' }));
}

/** The function bound to weak undefined function `imp` of `c`: its address is null, a call is a bug. */
const weakStub = (c, imp) => () => {
  throw new LinkError(`${c.name} called ${imp.name}, a weak symbol that no module defines: its address is null (test it before calling).`, 'WEAK_UNDEFINED', { module: c.name, name: imp.name });
};

const i32Global = (value, mutable = false) => new WebAssembly.Global({ value: 'i32', mutable }, value);

/**
 * The function for import `imp` of client `c`: the user's, the allocator's,
 * an instantiated provider's, or a trampoline bound once its provider exists.
 */
function functionFor(plan, c, imp) {
  const r = resolveImport(plan, c, imp);
  if (r === null) return weakStub(c, imp); // checkLinkImports let only weak ones through
  if (r.user !== undefined) return r.user;
  if (r.alloc) return plan.heap.exports[r.alloc];
  const inst = plan.instances[r.provider.name];
  if (inst) return inst.exports[imp.name];
  const t = (...args) => {
    if (!t.target) throw new LinkError(`${c.name} called ${imp.module}.${imp.name} before ${r.provider.name} was instantiated (a start function calling into a module that imports from it).`, 'NOT_READY');
    return t.target(...args);
  };
  plan.trampolines.push({ t, provider: r.provider.name, name: imp.name });
  return t;
}

/**
 * Gives side module `c` its zeroed data block from the heap and its slots in
 * the function table; records the block as a region. Returns its PIC state
 * `{ memoryBase, tableBase, size, got }`.
 */
function placeSideModule(plan, c) {
  const heap = plan.heap;
  const info = c.layout.dylink ?? { memorySize: 0, memoryAlign: 0, tableSize: 0, tableAlign: 0 };
  const align = Math.max(8, 2 ** info.memoryAlign);
  const memoryBase = info.memorySize ? heap.alignedAlloc(align, info.memorySize) : 0;
  if (info.memorySize && memoryBase === 0) throw heap[INTERNAL].oom(info.memorySize);
  if (memoryBase) heap.u8.fill(0, memoryBase, memoryBase + info.memorySize);
  const table = tableOf(heap);
  const tableBase = table.length;
  if (info.tableSize) table.grow(info.tableSize);
  const pic = { memoryBase, tableBase, size: info.memorySize, got: [] };
  c.picInfo = pic;
  heap[INTERNAL].regions.push({ module: c.name, start: memoryBase, end: memoryBase + info.memorySize, sideModule: true });
  return pic;
}

/** A side module's linker global (bases, its own stack, a GOT entry to fill), or undefined for other globals. */
function picGlobal(plan, pic, imp) {
  if (imp.name === '__memory_base') return i32Global(pic.memoryBase);
  if (imp.name === '__table_base') return i32Global(pic.tableBase);
  if (imp.name === '__stack_pointer') {
    const size = plan.stackSize;
    const stack = plan.heap.alignedAlloc(16, size);
    if (stack === 0) throw plan.heap[INTERNAL].oom(size);
    return i32Global(stack + size, true);
  }
  if (imp.module === 'GOT.func' || imp.module === 'GOT.mem') {
    const g = i32Global(0, true);
    pic.got.push({ kind: imp.module, name: imp.name, g });
    return g;
  }
  return undefined;
}

/** The value client `c` gets for import `imp` (`pic`: its side-module state, or null). */
function importValue(plan, c, pic, imp) {
  if (imp.kind === 'memory') return plan.heap.memory;
  if (imp.kind === 'table' && imp.name === '__indirect_function_table') return tableOf(plan.heap);
  if (pic && imp.kind === 'global') {
    const g = picGlobal(plan, pic, imp);
    if (g !== undefined) return g;
  }
  if (imp.kind === 'function') return functionFor(plan, c, imp);
  return plan.userImports[imp.module]?.[imp.name];
}

/**
 * Fills the GOT entries of side module `c`: a function's table slot now when
 * its provider is ready, else (like every data address) once all clients are
 * instantiated, through `plan.lateGot`.
 */
function bindGot(plan, c, pic) {
  for (const e of pic.got) {
    if (e.kind === 'GOT.func') {
      const fill = () => {
        const fn = functionFor(plan, c, { module: 'env', name: e.name, kind: 'function' });
        const table = tableOf(plan.heap);
        e.g.value = table.length;
        table.grow(1, fn);
      };
      const r = resolveImport(plan, c, { module: 'env', name: e.name });
      if (r === null) continue; // weak and undefined: the null slot, 0
      if (r.alloc || (r.provider && plan.instances[r.provider.name])) fill();
      else plan.lateGot.push(fill);
    } else {
      plan.lateGot.push(() => fillDataAddress(plan, c, e));
    }
  }
}

/** Sets GOT.mem entry `e` of `c` to the address of the data symbol some client exports. */
function fillDataAddress(plan, c, e) {
  for (const o of plan.clients) {
    const v = plan.instances[o.name]?.exports[e.name];
    if (v instanceof WebAssembly.Global) {
      e.g.value = (o.picInfo?.memoryBase ?? 0) + v.value;
      return;
    }
  }
  if (isWeak(c, { module: 'GOT.mem', name: e.name })) return; // weak and undefined: address 0
  throw new LinkError(`${c.name}: GOT.mem.${e.name}: no module exports the data symbol ${e.name}.`, 'MISSING_IMPORT', { missing: [`GOT.mem.${e.name}`] });
}

/** Instantiates client `c` of `plan` into its heap; the loader's errors on failure. */
export async function instantiateClient(plan, c) {
  const pic = c.pic ? placeSideModule(plan, c) : null;
  const imports = {};
  for (const imp of c.imports) (imports[imp.module] ??= {})[imp.name] = importValue(plan, c, pic, imp);
  if (pic) bindGot(plan, c, pic);
  try {
    return await WebAssembly.instantiate(c.module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) {
      throw new LinkError(`${c.name} could not be linked: ${e.message}. Check that imported functions have the signatures the providers export.`, 'LINK_FAILED', { module: c.name, cause: e });
    }
    stopped(plan.heap, e);
    throw new LinallocError(`${c.name} failed while starting: ${e.message}`, 'START_FAILED', { module: c.name, cause: e });
  }
}
