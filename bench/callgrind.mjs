// Reading what `make bench-instr` collects (bench/instr.mjs): V8's jitdump
// (which wasm function lies where) and callgrind's per-instruction counts,
// summed per wasm function. Pure functions, tested in tests/bench-instr.test.mjs.
import { moduleLayout, sections } from '../js/wasm-info.js';

/** Code ranges of V8's compiled functions, from the bytes of a jitdump file
 * (its JIT_CODE_LOAD records), sorted by start. */
export function jitRanges(b) {
  if (b.length < 40 || b.readUInt32LE(0) !== 0x4a695444) throw new Error('not a jitdump file (little-endian magic JiTD)');
  const ranges = [];
  let p = b.readUInt32LE(8); // header size
  while (p + 16 <= b.length) {
    const id = b.readUInt32LE(p);
    const size = b.readUInt32LE(p + 4);
    if (size === 0) break;
    if (id === 0) {
      const addr = b.readBigUInt64LE(p + 32);
      const len = b.readBigUInt64LE(p + 40);
      const end = b.indexOf(0, p + 56);
      ranges.push({ start: addr, end: addr + len, name: b.toString('utf8', p + 56, end) });
    }
    p += size;
  }
  return ranges.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
}

/**
 * Self cost per instruction address of code in no file (JIT code: callgrind
 * names its object `???`), from the text of a callgrind file written with
 * --dump-instr=yes. Addresses of shared libraries are left out: they are
 * written relative to their library, and could meet a JIT address.
 */
export function instructionCosts(text) {
  const costs = new Map();
  const objects = new Map(); // compressed object ids of ob= and cob= lines -> names
  let anonymous = true; // the current object (ob=) is JIT code
  let addr = 0n;
  let columns = 1; // position columns before the cost: `instr`, or `instr line`
  let callCost = false; // the line after `calls=` is the callee's inclusive cost
  for (const line of text.split('\n')) {
    if (line.startsWith('positions:')) {
      const kinds = line.slice(10).trim().split(/\s+/);
      if (kinds[0] !== 'instr') throw new Error('callgrind file without instruction addresses (run it with --dump-instr=yes)');
      columns = kinds.length;
      continue;
    }
    const ob = /^c?ob=\((\d+)\)(?: (.*))?$/.exec(line);
    if (ob) {
      if (ob[2] !== undefined) objects.set(ob[1], ob[2]);
      if (line.startsWith('ob=')) anonymous = objects.get(ob[1]) === '???';
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    if (!/^(0x[0-9a-f]+|[+-]\d+|\*)\s/.test(line)) continue;
    const fields = line.split(/\s+/);
    const [position, cost] = [fields[0], Number(fields[columns])];
    if (callCost) {
      // the callee's inclusive cost: no self cost here, and (as callgrind's
      // own reader does) no move of the current address
      callCost = false;
      continue;
    }
    if (position.startsWith('0x')) addr = BigInt(position);
    else if (position !== '*') addr += BigInt(position);
    if (anonymous) costs.set(addr, (costs.get(addr) ?? 0) + cost);
  }
  return costs;
}

/** Tidy name of a compiled wasm function ("JS:<name>-<index>-turbofan"):
 * a Rust symbol becomes `Type::method` (`LinHeap::release`). */
export function wasmName(jitName) {
  const m = /^JS:(.*)-\d+-turbofan$/.exec(jitName);
  if (!m || m[1].startsWith('wasm-to-js') || m[1].startsWith('js-to-wasm')) return null;
  const sym = m[1];
  if (!sym.startsWith('_ZN')) return sym;
  const segments = [];
  let p = 3;
  while (p < sym.length && sym[p] !== 'E') {
    const len = /^\d+/.exec(sym.slice(p));
    if (!len) break;
    p += len[0].length;
    segments.push(sym.slice(p, p + +len[0]));
    p += +len[0];
  }
  const path = segments.filter((x) => !/^h[0-9a-f]{16}$/.test(x)).map((x) => x.replace(/^_/, '').replaceAll('$LT$', '<').replaceAll('$GT$', '>').replaceAll('$u20$', ' ').replaceAll('..', '::'));
  const type = (path.at(-2) ?? '').replace(/^<(.*?) as .*>$/, '$1').split('::').at(-1).replace(/<.*>$/, '');
  return type ? `${type}::${path.at(-1)}` : path.at(-1);
}

/**
 * Sums `costs` (address -> count) per wasm function of `ranges`: counts
 * outside every range (the engine, JavaScript) are left out, the functions
 * named in `driverNames` are summed apart into `driver`, and a function
 * whose index `exportNames` knows (the allocator's) goes by its exports.
 */
export function attribute(costs, ranges, driverNames, exportNames = new Map()) {
  const byFunction = new Map();
  let driver = 0;
  for (const [addr, n] of costs) {
    // the last range starting at or below addr
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ranges[mid].start <= addr) lo = mid;
      else hi = mid - 1;
    }
    const range = ranges[lo];
    if (!range || addr < range.start || addr >= range.end) continue;
    let name = wasmName(range.name);
    if (name === null) continue;
    if (driverNames.has(name)) {
      driver += n;
      continue;
    }
    // an exported function goes by its export names (wasm-opt gives two
    // exports with the same code one function: `free` is `deleteRecord`)
    const exported = exportNames.get(Number(/-(\d+)-turbofan$/.exec(range.name)[1]));
    if (exported) name = exported.sort().join('/');
    byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return { byFunction, driver };
}

/**
 * The functions of a module by index: how many it imports (they take the
 * first indices) and the names each is exported under, from the loader's
 * own reader (`moduleLayout`), and the names its `name` section gives
 * (none when stripped).
 */
export function moduleFunctions(bytes) {
  const layout = moduleLayout(bytes);
  const exports = new Map();
  for (const [name, { kind, index }] of layout.exports) if (kind === 0) exports.set(index, [...(exports.get(index) ?? []), name]);
  const names = new Map();
  let p = 0;
  const u32 = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
  };
  const str = () => {
    const n = u32();
    p += n;
    return new TextDecoder().decode(bytes.subarray(p - n, p));
  };
  for (const s of sections(bytes)) {
    p = s.start;
    if (s.id !== 0 || str() !== 'name') continue;
    while (p < s.end) {
      const kind = bytes[p++];
      const end = u32() + p;
      if (kind === 1) for (let n = u32(); n > 0; n--) names.set(u32(), str());
      p = end;
    }
  }
  return { imported: layout.importedFunctions, names, exports };
}

/** Names of the functions a module defines (not those it imports). */
export function definedFunctionNames(bytes) {
  const { imported, names } = moduleFunctions(bytes);
  return new Set([...names].filter(([index]) => index >= imported).map(([, name]) => name));
}
