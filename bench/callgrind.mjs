// Reading what `make bench-instr` collects (bench/instr.mjs): V8's jitdump
// (which wasm function lies where) and callgrind's per-instruction counts,
// summed per wasm function. Pure functions, tested in tests/bench-instr.test.mjs.
import { sections } from '../js/wasm-info.js';

/** Code ranges of V8's compiled functions, from the bytes of a jitdump file
 * (its JIT_CODE_LOAD records), sorted by start. */
export function jitRanges(b) {
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
  return ranges.sort((x, y) => (x.start < y.start ? -1 : 1));
}

/** Self cost per instruction address, from the text of a callgrind file
 * written with --dump-instr=yes. */
export function instructionCosts(text) {
  const costs = new Map();
  let addr = 0n;
  let skip = false; // the line after `calls=` is the callee's inclusive cost
  let columns = 1; // position columns before the cost: `instr`, or `instr line`
  for (const line of text.split('\n')) {
    if (line.startsWith('positions:')) columns = line.split(/\s+/).length - 1;
    if (line.startsWith('calls=')) {
      skip = true;
      continue;
    }
    if (!/^(0x[0-9a-f]+|[+-]\d+|\*)\s/.test(line)) continue;
    const fields = line.split(/\s+/);
    const m = [line, fields[0], fields[columns]];
    const pos = m[1];
    if (pos.startsWith('0x')) addr = BigInt(pos);
    else if (pos !== '*') addr += BigInt(pos);
    if (skip) {
      skip = false;
      continue;
    }
    costs.set(addr, (costs.get(addr) ?? 0) + Number(m[2]));
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
 * outside every range (the engine, libc, JavaScript) are left out, and the
 * functions named in `driverNames` are summed apart into `driver`.
 */
export function attribute(costs, ranges, driverNames) {
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
    const name = wasmName(range.name);
    if (name === null) continue;
    if (driverNames.has(name)) driver += n;
    else byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return { byFunction, driver };
}

/** Names of the functions a module defines (not those it imports), from
 * its `name` section (empty when it has none). */
export function definedFunctionNames(bytes) {
  const names = new Set();
  let imported = 0;
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
  const limits = () => (bytes[p++] & 1 ? (u32(), u32()) : u32());
  for (const s of sections(bytes)) {
    p = s.start;
    if (s.id === 2) {
      // imports: functions take the first indices
      for (let n = u32(); n > 0; n--) {
        str();
        str();
        const kind = bytes[p++];
        if (kind === 0) (u32(), imported++);
        else if (kind === 1) (p++, limits());
        else if (kind === 2) limits();
        else p += 2; // global: value type, mutability
      }
    }
    if (s.id !== 0 || str() !== 'name') continue;
    while (p < s.end) {
      const kind = bytes[p++];
      const end = u32() + p;
      if (kind === 1) for (let n = u32(); n > 0; n--) if (u32() >= imported) names.add(str()); else str();
      p = end;
    }
  }
  return names;
}
