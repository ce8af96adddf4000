// js/abi.js is the JS side's one source of truth for the ABI: held here
// against every built dist/*.wasm (exports, kinds, signatures), against the
// Rust `Fault` enum in src/checked/fault.rs, and against what the loader
// builds from it (heap.stats(), the fault errors, wasm-info's re-exports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ABI, ABI_EXPORTS, BUMP_ABI, THREADS_ABI, CHECKED_ABI, CHECKED_EXPORTS, FAULTS, FAULT_NAMES, STATS_FIELDS } from '../js/abi.js';
import { faultError, LinallocError } from '../js/errors.js';
import * as wasmInfo from '../js/wasm-info.js';
import { exportSignature, moduleLayout } from '../js/wasm-info.js';
import { load } from '../js/linalloc.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = ROOT + 'dist/';
const CHECKED_FILE = 'linalloc-checked.wasm';
const BUMP_FILE = 'linalloc-bump.wasm';
/** wasm-ld's own exports: globals it adds to every module, not part of the ABI. */
const LINKER_EXPORTS = { __heap_base: 'global', __data_end: 'global' };
/** The threads build also exports its stack pointer (each worker's instance gets its own stack). */
const THREADS_FILE = 'linalloc-mt.wasm';

const files = readdirSync(DIST).filter((f) => f.endsWith('.wasm')).sort();

/** `{ name: { kind, sig } }` of a module's exports, signatures read from its bytes. */
function exportsOf(file) {
  const bytes = readFileSync(DIST + file);
  const layout = moduleLayout(bytes);
  const out = {};
  for (const e of WebAssembly.Module.exports(new WebAssembly.Module(bytes))) {
    out[e.name] = { kind: e.kind, sig: e.kind === 'function' ? exportSignature(layout, e.name) : null };
  }
  return out;
}

/** `DoubleFree` -> `DOUBLE_FREE`. */
const upperSnake = (camel) => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

test('dist/ holds the builds this test expects', () => {
  assert.ok(files.length >= 5, `dist: ${files.join(', ')}`);
  assert.ok(files.includes(CHECKED_FILE) && files.includes('linalloc.wasm'));
});

for (const file of files) {
  test(`${file}: exports exactly abi.js's lists (and wasm-ld's globals), with abi.js's signatures`, () => {
    const exported = exportsOf(file);
    const checked = file === CHECKED_FILE;
    const expected = { ...ABI, ...(checked ? CHECKED_ABI : {}), ...(file === BUMP_FILE ? BUMP_ABI : {}), ...(file === THREADS_FILE ? THREADS_ABI : {}) };
    for (const [name, sig] of Object.entries(expected)) {
      assert.ok(name in exported, `${name} is not exported`);
      assert.equal(exported[name].kind, 'function', `${name} kind`);
      assert.equal(exported[name].sig, sig, `${name} signature`);
    }
    if (!checked) for (const name of CHECKED_EXPORTS) assert.ok(!(name in exported), `${name} is exported by a release build`);
    for (const [name, { kind }] of Object.entries(exported)) {
      if (name in expected) continue;
      if (file === THREADS_FILE && name === '__stack_pointer') continue;
      assert.equal(LINKER_EXPORTS[name], kind, `${name} (${kind}) is exported but neither abi.js nor wasm-ld's own`);
    }
  });
}

test('the checked build exports CHECKED_EXPORTS, and no release build does', () => {
  for (const file of files) {
    const names = Object.keys(exportsOf(file));
    const extra = names.filter((n) => CHECKED_EXPORTS.includes(n)).sort();
    assert.deepEqual(extra, file === CHECKED_FILE ? [...CHECKED_EXPORTS].sort() : [], file);
  }
});

test("abi.js's fault codes are the Rust Fault enum's (src/checked/fault.rs), names and numbers", () => {
  const src = readFileSync(ROOT + 'src/checked/fault.rs', 'utf8');
  const body = /pub enum Fault\s*\{([\s\S]*?)\n\}/.exec(src);
  assert.ok(body, 'pub enum Fault { … } not found in src/checked/fault.rs');
  const rust = Object.fromEntries([...body[1].matchAll(/^\s*([A-Z][A-Za-z0-9]*)\s*=\s*(\d+)\s*,/gm)].map(([, name, n]) => [upperSnake(name), Number(n)]));
  assert.ok(Object.keys(rust).length >= 7, `parsed ${JSON.stringify(rust)}`);
  assert.deepEqual(FAULTS, rust);
  for (const [name, code] of Object.entries(FAULTS)) assert.equal(FAULT_NAMES[code], name);
});

test('every fault code becomes a LinallocError whose code is the fault name; unknown codes none', () => {
  for (const [name, code] of Object.entries(FAULTS)) {
    const e = faultError(code, { ptr: 64, size: 8, at: 72, site: undefined });
    assert.ok(e instanceof LinallocError, name);
    assert.equal(e.code, name);
    assert.deepEqual([e.ptr, e.size, e.at], [64, 8, 72]);
  }
  assert.equal(faultError(0, { ptr: 0, size: 0, at: 0 }), null);
  assert.equal(faultError(Math.max(...Object.values(FAULTS)) + 1, { ptr: 0, size: 0, at: 0 }), null);
});

test('the stats mapping covers every stats_* export, and heap.stats() is built from it', async () => {
  const statsExports = (names) => names.filter((n) => n.startsWith('stats_')).sort();
  assert.deepEqual(Object.keys(STATS_FIELDS).sort(), statsExports(ABI_EXPORTS));
  for (const file of files) assert.deepEqual(statsExports(Object.keys(exportsOf(file))), Object.keys(STATS_FIELDS).sort(), file);
  assert.equal(new Set(Object.values(STATS_FIELDS)).size, Object.keys(STATS_FIELDS).length, 'one field per export');
  const heap = await load(DIST + 'linalloc.wasm');
  heap.free(heap.malloc(10));
  const stats = heap.stats();
  assert.deepEqual(Object.keys(stats).sort(), [...Object.values(STATS_FIELDS), 'memoryBytes', 'pages'].sort());
  assert.equal(stats.totalAllocations, 1);
  assert.equal(stats.peakInUseBytes, 10);
});

test("wasm-info.js re-exports abi.js's tables (no second copy)", () => {
  assert.equal(wasmInfo.ABI, ABI);
  assert.equal(wasmInfo.ABI_EXPORTS, ABI_EXPORTS);
  assert.equal(wasmInfo.CHECKED_EXPORTS, CHECKED_EXPORTS);
});
