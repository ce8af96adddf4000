// Reads a module's code section instruction by instruction, to find out
// what the JS API cannot tell: whether the module executes `memory.grow`
// on its memory 0 (a client that manages pages of the shared memory itself,
// i.e. brings an allocator of its own). A byte scan would not do: 0x40 0x00
// is also an empty block type followed by `unreachable`.

import { sections } from './wasm-info.js';

/** Skips one LEB128 number (signed or unsigned, up to 64 bits); returns its low bits as unsigned. */
function leb(b, p) {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    const byte = b[p.pos++];
    if (byte === undefined) throw new RangeError('unexpected end of code');
    if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
  throw new RangeError('LEB128 too long');
}

/** A block type, value type or heap type: one byte, a type index (s33), or 0x63/0x64 + heap type. */
function blockType(b, p) {
  const first = b[p.pos];
  leb(b, p);
  if (first === 0x63 || first === 0x64) leb(b, p);
}

/** Load/store immediates: alignment (bit 6: a memory index follows) and offset. */
function memarg(b, p) {
  const align = leb(b, p);
  if (align & 0x40) leb(b, p);
  leb(b, p);
}

const NO_IMMEDIATE = new Set([0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd4]);
const ONE_INDEX = new Set([0x07, 0x08, 0x09, 0x0c, 0x0d, 0x10, 0x12, 0x14, 0x15, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xd2, 0xd5, 0xd6]);

/** The 0xFC prefix (saturating truncations, bulk memory and tables): how many indices follow. */
const FC_INDICES = { 8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1 };

/** Skips the immediates of a SIMD (0xFD) instruction. */
function simd(b, p) {
  const op = leb(b, p);
  if (op <= 11 || op === 92 || op === 93) memarg(b, p);
  else if (op === 12 || op === 13) p.pos += 16;
  else if (op >= 21 && op <= 34) p.pos += 1;
  else if (op >= 84 && op <= 91) { memarg(b, p); p.pos += 1; }
}

/**
 * Decodes one instruction at `p.pos`, calling `onGrow(memoryIndex)` for a
 * memory.grow. False for an opcode this reader does not know (GC, …).
 */
function instruction(b, p, onGrow) {
  const op = b[p.pos++];
  if (NO_IMMEDIATE.has(op) || (op >= 0x45 && op <= 0xc4)) return true;
  if (ONE_INDEX.has(op)) { leb(b, p); return true; }
  if (op >= 0x02 && op <= 0x04) { blockType(b, p); return true; }
  if (op === 0x06) { blockType(b, p); return true; } // try (legacy exceptions)
  if (op >= 0x28 && op <= 0x3e) { memarg(b, p); return true; }
  switch (op) {
    case 0x0e: for (let n = leb(b, p) + 1; n > 0; n--) leb(b, p); return true; // br_table
    case 0x11: case 0x13: leb(b, p); leb(b, p); return true; // call_indirect, return_call_indirect
    case 0x1c: for (let n = leb(b, p); n > 0; n--) blockType(b, p); return true; // select t*
    case 0x1f: // try_table
      blockType(b, p);
      for (let n = leb(b, p); n > 0; n--) { const kind = b[p.pos++]; if (kind < 2) leb(b, p); leb(b, p); }
      return true;
    case 0x3f: leb(b, p); return true; // memory.size
    case 0x40: onGrow(leb(b, p)); return true; // memory.grow
    case 0x41: case 0x42: leb(b, p); return true;
    case 0x43: p.pos += 4; return true;
    case 0x44: p.pos += 8; return true;
    case 0xd0: blockType(b, p); return true; // ref.null heap type
    case 0xfc: {
      const sub = leb(b, p);
      if (sub <= 7) return true;
      const n = FC_INDICES[sub];
      if (n === undefined) return false;
      for (let i = 0; i < n; i++) leb(b, p);
      return true;
    }
    case 0xfd: simd(b, p); return true;
    case 0xfe: { // atomics
      const sub = leb(b, p);
      if (sub === 0x03) p.pos += 1; else memarg(b, p);
      return true;
    }
    default: return false;
  }
}

/** Calls `onGrow(memoryIndex)` for every memory.grow in function body [start, end); false if it could not be read. */
function scanBody(b, start, end, onGrow) {
  const p = { pos: start };
  for (let n = leb(b, p); n > 0; n--) { leb(b, p); blockType(b, p); } // locals
  while (p.pos < end) if (!instruction(b, p, onGrow)) return false;
  return true;
}

/**
 * Which memories the module's code grows: `{ grows: Set(memory index),
 * complete }`, `complete` false when some function used instructions this
 * reader does not know (then `grows` covers the functions read).
 */
export function memoryGrowth(bytes) {
  const grows = new Set();
  let complete = true;
  for (const s of sections(bytes)) {
    if (s.id !== 10) continue;
    const p = { pos: s.start };
    for (let n = leb(bytes, p); n > 0; n--) {
      const size = leb(bytes, p);
      const start = p.pos;
      p.pos += size;
      try {
        if (!scanBody(bytes, start, start + size, (m) => grows.add(m))) complete = false;
      } catch {
        complete = false;
      }
    }
  }
  return { grows, complete };
}
