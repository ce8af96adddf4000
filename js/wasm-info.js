// Reads what the WebAssembly JS API does not expose from a module's bytes:
// the memory import's limits, data segments and the dylink.0 section.
// Dependency-free; used by the loader and by the build checks.

/** Exports every linalloc module provides (the drop-in ABI). */
export const ABI_EXPORTS = Object.freeze([
  'malloc', 'free', 'calloc', 'realloc', 'aligned_alloc', 'alloc', 'dealloc',
  'createRecord', 'deleteRecord',
  'stats_live_allocations', 'stats_total_allocations', 'stats_failed_allocations',
  'stats_in_use_bytes', 'stats_peak_in_use_bytes', 'stats_heap_bytes',
]);

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
 * The limits `{ initial, maximum, shared }` (in pages) of the module's
 * imported memory, or `null` when it imports none.
 */
export function memoryImportLimits(bytes) {
  for (const s of sections(bytes)) {
    if (s.id !== 2) continue;
    const r = new Reader(bytes, s.start, s.end);
    for (let n = r.u32(); n > 0; n--) {
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      if (kind === 0) r.u32();
      else if (kind === 1) { r.byte(); r.limits(); }
      else if (kind === 2) return { module, name, ...r.limits() };
      else if (kind === 3) { r.byte(); r.byte(); }
      else if (kind === 4) { r.byte(); r.u32(); }
      else throw new RangeError(`unknown import kind ${kind}`);
    }
  }
  return null;
}
