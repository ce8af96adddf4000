// The parsing behind `make bench-instr` (bench/callgrind.mjs), on made-up
// inputs in the formats it reads: a jitdump with three functions and a
// callgrind file with relative addresses, a call line, shared-library code,
// and costs outside every function. (The run itself needs valgrind, which `make test` does not
// install: `make bench-instr` runs it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { attribute, definedFunctionNames, instructionCosts, jitRanges, moduleFunctions, wasmName } from '../bench/callgrind.mjs';

/** A jitdump: 40-byte file header, then JIT_CODE_LOAD records (id 0) and one other record. */
function jitdump(functions) {
  const parts = [];
  const header = Buffer.alloc(40);
  header.writeUInt32LE(0x4a695444, 0); // magic "JiTD"
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(40, 8);
  parts.push(header);
  const other = Buffer.alloc(24); // a record of another kind (2, JIT_CODE_DEBUG_INFO): skipped
  other.writeUInt32LE(2, 0);
  other.writeUInt32LE(24, 4);
  parts.push(other);
  for (const [addr, size, name] of functions) {
    const n = Buffer.from(name + '\0');
    const r = Buffer.alloc(56 + n.length + size);
    r.writeUInt32LE(0, 0);
    r.writeUInt32LE(r.length, 4);
    r.writeBigUInt64LE(BigInt(addr), 32);
    r.writeBigUInt64LE(BigInt(size), 40);
    n.copy(r, 56);
    parts.push(r);
  }
  return Buffer.concat(parts);
}

test('jitdump records give each compiled function its address range', () => {
  const ranges = jitRanges(jitdump([[0x2000, 0x40, 'JS:malloc-18-turbofan'], [0x1000, 0x80, 'JS:run-5-turbofan']]));
  assert.deepEqual(ranges, [
    { start: 0x1000n, end: 0x1080n, name: 'JS:run-5-turbofan' },
    { start: 0x2000n, end: 0x2040n, name: 'JS:malloc-18-turbofan' },
  ]);
});

test('callgrind costs: absolute and relative addresses, two position columns, call lines skipped', () => {
  const text = [
    'positions: instr line',
    'events: Ir',
    'ob=(1) /usr/lib/libc.so.6',
    'fn=(1) memcpy',
    '0x2000 0 999', // a library's address: not JIT code
    'ob=(2) ???',
    'fn=(2) 0x2000',
    '0x2000 0 3',
    '+4 0 2',
    '+4 * 1',
    'cob=(1)',
    'calls=1 0x3000 0',
    '* 0 500', // the callee's inclusive cost: not this address's
    '-8 0 7',
    'ob=(1)',
    '+2 0 999',
    'ob=(2)',
    '0x1010 0 9',
    '',
  ].join('\n');
  const costs = instructionCosts(text);
  assert.deepEqual([...costs].sort((a, b) => (a[0] < b[0] ? -1 : 1)), [
    [0x1010n, 9],
    [0x2000n, 3 + 7],
    [0x2004n, 2],
    [0x2008n, 1],
  ]);
  // one position column (--dump-line=no); JIT code when no object is named
  assert.deepEqual([...instructionCosts('positions: instr\n0x10 4\n+2 5\n')], [[0x10n, 4], [0x12n, 5]]);
  assert.throws(() => instructionCosts('positions: line\n10 4\n'), /--dump-instr=yes/);
});

test('costs are summed per wasm function; the driver apart; code outside every function left out', () => {
  const ranges = jitRanges(jitdump([[0x1000, 0x100, 'JS:run-5-turbofan'], [0x2000, 0x40, 'JS:malloc-18-turbofan'], [0x3000, 0x40, 'JS:wasm-to-js:i:i-malloc-0-turbofan']]));
  const costs = new Map([[0x1004n, 10], [0x10ffn, 1], [0x2000n, 5], [0x203fn, 6], [0x2040n, 100], [0x3000n, 50], [0x500n, 70]]);
  const { byFunction, driver } = attribute(costs, ranges, new Set(['run']));
  assert.equal(driver, 11);
  assert.deepEqual([...byFunction], [['malloc', 11]], 'past the end of malloc, a wrapper and unknown code: not counted');
  // by export names, when the module's exports say which function index has which
  const named = attribute(costs, ranges, new Set(['run']), new Map([[18, ['malloc', 'alloc_bytes']]]));
  assert.deepEqual([...named.byFunction], [['alloc_bytes/malloc', 11]]);
  assert.throws(() => jitRanges(Buffer.alloc(64)), /not a jitdump/);
});

test('Rust symbols are shown as Type::method', () => {
  assert.equal(wasmName('JS:_ZN8linalloc3lin16LinHeap$LT$G$GT$7release17hdc32530c23fb9113E-8-turbofan'), 'LinHeap::release');
  assert.equal(wasmName('JS:_ZN76_$LT$linalloc..lin..LinHeap$LT$G$GT$$u20$as$u20$linalloc..api..Allocator$GT$8try_free17h52dab60374e53091E-1-turbofan'), 'LinHeap::try_free');
  assert.equal(wasmName('JS:_ZN8linalloc3lin4bins4Bins6insert17h482a8977349b135dE-4-turbofan'), 'Bins::insert');
  assert.equal(wasmName('JS:malloc-18-turbofan'), 'malloc');
  assert.equal(wasmName('JS:wasm-function[6]-6-turbofan'), 'wasm-function[6]');
  assert.equal(wasmName('JS:wasm-to-js:i:i-malloc-0-turbofan'), null);
  assert.equal(wasmName('JS:^resolve node:path:1217:10'), null, 'JavaScript is not wasm');
});

test('a module\'s functions: imports counted, names and exports by index', () => {
  const lin = moduleFunctions(readFileSync(new URL('../build/dist/linalloc.wasm', import.meta.url)));
  assert.equal(lin.imported, 0, 'the default build imports only its memory');
  assert.equal(lin.names.size, 0, 'stripped');
  const byName = new Map([...lin.exports].flatMap(([index, names]) => names.map((n) => [n, index])));
  for (const name of ['malloc', 'free', 'try_free', 'realloc']) assert.ok(byName.has(name), name);
  assert.notEqual(byName.get('malloc'), byName.get('free'));
});

test("the driver's own functions are told from its imports by the name section", () => {
  const names = definedFunctionNames(readFileSync(new URL('../build/bench/driver.wasm', import.meta.url)));
  assert.ok(names.has('run'), 'the trace loop');
  for (const imported of ['malloc', 'free', 'realloc']) assert.ok(!names.has(imported), `${imported} is the allocator's`);
  assert.equal(definedFunctionNames(readFileSync(new URL('../build/dist/linalloc.wasm', import.meta.url))).size, 0, 'a stripped module names none');
});
