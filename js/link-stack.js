// Fixed-layout clients linked stack first (LLD 22's default, what `zig cc`
// and rustc always ask for): their stack is [0, __stack_pointer), where
// linalloc's own stack and owner tag live, so no --global-base can help.
// The loader plans around it: the stack moves to free memory above every
// static region, by rewriting the initial value of `__stack_pointer` (the
// only place a stack address is written) before the module is compiled.

import { compileSource } from './fetch.js';
import { LinkError, hex } from './errors.js';
import { PAGE_SIZE, pageUp } from './memory.js';
import { sections } from './wasm-info.js';

/**
 * The stack of a fixed-layout module linked stack first, `{ size }` (its
 * `__stack_pointer`, the first defined global, starts at or below its data),
 * or null when its stack lies above its data or it has no static data.
 */
export function stackFirst(layout) {
  const sp = layout.globals[0];
  const fixed = layout.data.filter((d) => d.offset !== undefined);
  if (!sp || !sp.mutable || sp.type !== 0x7f || sp.init.i32 === undefined || !fixed.length) return null;
  const lo = Math.min(...fixed.map((d) => d.offset));
  return sp.init.i32 <= lo ? { size: sp.init.i32 } : null;
}

/** The data of a fixed-layout module, `[start, end)`, extended to an exported `__heap_base`. */
export function dataRegion(layout) {
  const fixed = layout.data.filter((d) => d.offset !== undefined);
  let end = Math.max(...fixed.map((d) => d.offset + d.size));
  const hb = layout.exports.get('__heap_base');
  const init = hb?.kind === 3 ? layout.globals[hb.index - layout.importedGlobals]?.init.i32 : undefined;
  if (init !== undefined) end = Math.max(end, init);
  return { start: Math.min(...fixed.map((d) => d.offset)), end };
}

/** Signed LEB128 of `n` (an i32 value). */
function sleb(n) {
  const out = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** Unsigned LEB128 of `n`. */
const uleb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};

/** Length of the LEB128 number at `bytes[pos]`. */
function lebLength(bytes, pos) {
  let n = 1;
  while (bytes[pos + n - 1] & 0x80) n++;
  return n;
}

/** `bytes` with the first defined global's `i32.const` initializer set to `value`. */
export function withStackPointer(bytes, value) {
  const s = [...sections(bytes)].find((x) => x.id === 6);
  let pos = s.start;
  pos += lebLength(bytes, pos); // global count
  if (bytes[pos] !== 0x7f || bytes[pos + 1] !== 1 || bytes[pos + 2] !== 0x41) throw new RangeError('the first global is not a mutable i32 set by i32.const');
  const at = pos + 3;
  const old = lebLength(bytes, at);
  const content = [...bytes.subarray(s.start, at), ...sleb(value), ...bytes.subarray(at + old, s.end)];
  return concat(bytes.subarray(0, sizeStart(bytes, s)), uleb(content.length), content, bytes.subarray(s.end));
}

/** Where the size field of section `s` starts (just after its id byte). */
function sizeStart(bytes, s) {
  // the size is a LEB128 ending right before s.start: walk back over its continuation bytes
  let p = s.start - 1;
  while (p > 0 && bytes[p - 1] & 0x80) p--;
  return p;
}

/** The byte arrays `parts`, one after the other. */
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Moves the stack of every stack-first client in `plan.movedStacks` above
 * all static regions (recompiling it), records the stacks as regions and
 * the pages they need.
 */
export async function moveStacks(plan) {
  for (const c of plan.movedStacks) {
    const base = pageUp(Math.max(...plan.regions.map((r) => r.end)));
    const top = base + c.stackFirst.size;
    try {
      c.bytes = withStackPointer(c.bytes, top);
    } catch (e) {
      throw new LinkError(`${c.name} was linked stack first (its stack is [0, ${hex(c.stackFirst.size)}), where linalloc's own data lives), and its stack pointer cannot be moved (${e.message}). Relink it with -Wl,--no-stack-first.`, 'OVERLAP', { module: c.name });
    }
    c.module = (await compileSource(c.bytes)).module;
    c.layout.globals[0].init = { i32: top };
    if (plan.existing && !plan.existing.reserveBelowHeap(top)) {
      throw new LinkError(`${c.name}: its stack (linked stack first, moved above the other modules' data) would lie at [${hex(base)}, ${hex(top)}), in memory the running heap owns. Link it together with the allocator, before the heap grows, or build it as a side module.`, 'OVERLAPS_HEAP', { module: c.name, region: { start: base, end: top } });
    }
    const region = { module: c.name, start: base, end: top, stack: true };
    plan.regions.push(region);
    plan.fixed.push(region);
    plan.neededPages = Math.max(plan.neededPages, Math.ceil(top / PAGE_SIZE));
  }
}
