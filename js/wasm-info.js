// Reads what the WebAssembly JS API does not expose from a module's bytes:
// the memory import's limits, data segments and the dylink.0 section.
// Depends only on abi.js; used by the loader and by the build checks.

// The ABI tables live in abi.js; re-exported here for older imports.
export { ABI, ABI_EXPORTS, CHECKED_EXPORTS } from './abi.js';

/**
 * The owner tag every linalloc build keeps at a fixed address of its memory
 * (src/owner.rs): `[MAGIC, build id, heap state offset, reserved end]`, u32 each.
 */
export const OWNER_TAG = Object.freeze({ address: 512, magic: 0x4c414e4c });

/** Every build's heap starts at or above this address; data segments stay below (src/owner.rs HEAP_FLOOR). */
export const HEAP_FLOOR = 16384 + 1024;

/** Names of the build ids in the owner tag (low byte: backend; 0x100: checked). */
export function buildName(id) {
  if (id === 0x106) return 'checked';
  const backend = { 1: 'talc', 2: 'dlmalloc', 3: 'wee_alloc', 7: 'lin', 8: 'bump' }[id & 0xff] ?? `unknown backend ${id & 0xff}`;
  return backend + (id & 0x100 ? ' (checked)' : '');
}

/** The owner tag in `buffer` (an ArrayBuffer of wasm memory), or null when there is none. */
export function readOwnerTag(buffer) {
  if (buffer.byteLength < OWNER_TAG.address + 16) return null;
  const [magic, build, state, reserve] = new Uint32Array(buffer, OWNER_TAG.address, 4);
  if (magic !== OWNER_TAG.magic || build === 0) return null;
  return { build, name: buildName(build), heapStart: state || null, reserve };
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** True when `bytes` starts with the wasm magic number `\0asm`. */
export function hasWasmMagic(bytes) {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.b = bytes;
    this.pos = pos;
    this.end = end;
  }
  byte() {
    if (this.pos >= this.end) throw new RangeError('unexpected end of module');
    return this.b[this.pos++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('LEB128 too long');
    }
  }
  skip(n) {
    if (this.pos + n > this.end) throw new RangeError('unexpected end of module');
    this.pos += n;
  }
  name() {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder().decode(this.b.subarray(start, start + len));
  }
  limits() {
    const flags = this.byte();
    const initial = this.u32();
    const maximum = flags & 1 ? this.u32() : undefined;
    return { initial, maximum, shared: (flags & 2) !== 0 };
  }
}

/** Iterates `{ id, start, end }` for every section of a module. */
export function* sections(bytes) {
  const r = new Reader(bytes, 8);
  while (r.pos < r.end) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    yield { id, start, end: start + size };
  }
}

/**
 * The limits `{ module, name, initial, maximum, shared }` (in pages) of the
 * module's imported memory, or `null` when it imports none.
 */
export function memoryImportLimits(bytes) {
  return moduleLayout(bytes).memory;
}

function sleb32(r) {
  let result = 0;
  let shift = 0;
  let byte;
  do {
    byte = r.byte();
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80 && shift < 35);
  if (shift < 32 && byte & 0x40) result |= -1 << shift;
  return result;
}

/** Reads a constant expression: `{ i32 }`, `{ global }` (global.get), or `{ other: true }`. */
function constExpr(r) {
  const op = r.byte();
  let value;
  if (op === 0x41) value = { i32: sleb32(r) >>> 0 };
  else if (op === 0x23) value = { global: r.u32() };
  else if (op === 0x42) { while (r.byte() & 0x80); value = { other: true }; }
  else if (op === 0x43) { r.skip(4); value = { other: true }; }
  else if (op === 0x44) { r.skip(8); value = { other: true }; }
  else value = { other: true };
  // skip to the `end` of the expression
  while (r.byte() !== 0x0b);
  return value;
}

function readMemInfo(r) {
  return { memorySize: r.u32(), memoryAlign: r.u32(), tableSize: r.u32(), tableAlign: r.u32() };
}

/** dylink.0's import info: adds `module.name` of every weak undefined symbol to `weak`. */
function readImportInfo(r, weak) {
  for (let n = r.u32(); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    if (r.u32() & 1) weak.add(`${module}.${name}`); // WASM_SYMBOL_BINDING_WEAK
  }
}

/**
 * What the linker needs to know about a module, read from its bytes:
 * `{ importedGlobals, globals: [{ type, mutable, init }], exports: Map(name -> { kind, index }),
 *    data: [{ offset, global, size }], memory: limits|null, dylink: memInfo|null,
 *    weakImports: Set('module.name') (dylink.0's weak undefined symbols) }`.
 */
export function moduleLayout(bytes) {
  const out = { importedGlobals: 0, importedFunctions: 0, types: [], functions: [], globals: [], exports: new Map(), data: [], memory: null, dylink: null, weakImports: new Set() };
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.start, s.end);
    if (s.id === 0) {
      const name = r.name();
      if (name === 'dylink.0') {
        while (r.pos < r.end) {
          const type = r.byte();
          const size = r.u32();
          const end = r.pos + size;
          if (type === 1) out.dylink = readMemInfo(r);
          else if (type === 4) readImportInfo(r, out.weakImports);
          r.pos = end;
        }
      } else if (name === 'dylink') {
        out.dylink = readMemInfo(r);
      }
    } else if (s.id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new RangeError('unsupported type form');
        const vals = () => Array.from({ length: r.u32() }, () => VALTYPES[r.byte()] ?? 'other').join(',');
        const params = vals();
        out.types.push(`${params}->${vals()}`);
      }
    } else if (s.id === 3) {
      for (let n = r.u32(); n > 0; n--) out.functions.push(r.u32());
    } else if (s.id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) { r.u32(); out.importedFunctions++; }
        else if (kind === 1) { r.byte(); r.limits(); }
        else if (kind === 2) out.memory = { module, name, ...r.limits() };
        else if (kind === 3) { r.byte(); r.byte(); out.importedGlobals++; }
        else if (kind === 4) { r.byte(); r.u32(); }
        else throw new RangeError(`unknown import kind ${kind}`);
      }
    } else if (s.id === 6) {
      for (let n = r.u32(); n > 0; n--) {
        const type = r.byte();
        const mutable = r.byte() === 1;
        out.globals.push({ type, mutable, init: constExpr(r) });
      }
    } else if (s.id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        out.exports.set(name, { kind, index: r.u32() });
      }
    } else if (s.id === 11) {
      for (let n = r.u32(); n > 0; n--) {
        const flags = r.u32();
        if (flags === 1) { r.skip(r.u32()); continue; } // passive
        if (flags === 2) r.u32(); // memory index
        const offset = constExpr(r);
        const size = r.u32();
        r.skip(size);
        out.data.push({ offset: offset.i32, global: offset.global, size });
      }
    }
  }
  return out;
}

const VALTYPES = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/** Signature `params->results` of an exported function defined in the module, or null. */
export function exportSignature(layout, name) {
  const e = layout.exports.get(name);
  if (!e || e.kind !== 0 || e.index < layout.importedFunctions) return null;
  return layout.types[layout.functions[e.index - layout.importedFunctions]] ?? null;
}

/** wasm-ld's default stack size. */
const DEFAULT_STACK = 65536;

/** The i32 value a defined global starts with, or undefined. */
function definedGlobalInit(layout, index) {
  const g = layout.globals[index - layout.importedGlobals];
  return g && g.init.i32;
}

/**
 * The static region `[start, end)` of a fixed-layout module: its active data
 * segments and its stack (the first mutable i32 global, `__stack_pointer`,
 * starts at the stack's top), extended to an exported `__heap_base`.
 * Null when the module places nothing in memory.
 */
export function staticRegion(layout) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const d of layout.data) {
    if (d.offset === undefined) continue; // relative to an imported base: not fixed
    lo = Math.min(lo, d.offset);
    hi = Math.max(hi, d.offset + d.size);
  }
  const sp = layout.globals.find((g) => g.mutable && g.type === 0x7f && g.init.i32 !== undefined);
  if (sp) {
    const top = sp.init.i32;
    if (top >= hi) {
      // data first, stack above it. With no data the stack's bottom is not
      // recorded anywhere: assume wasm-ld's default stack size (64 KiB).
      if (lo === Infinity) lo = Math.max(0, top - DEFAULT_STACK);
      hi = top;
    } else {
      lo = 0; // --stack-first: the stack grows down towards address 0
      hi = Math.max(hi, top);
    }
  }
  const hb = layout.exports.get('__heap_base');
  if (hb && hb.kind === 3) {
    const v = definedGlobalInit(layout, hb.index);
    if (v !== undefined) hi = Math.max(hi, v);
  }
  return lo === Infinity ? null : { start: lo, end: hi };
}
