// js/linalloc.d.ts compiles under `tsc --strict` and types every documented
// use of the loader: tests/types/usage.ts touches every member docs/LOADER.md
// documents and every public member of the runtime, compiles without casts,
// and runs. The lists are derived from LOADER.md and from the runtime, so a
// newly documented or added member fails here until the types and the usage
// file cover it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as loader from '../js/linalloc.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const TSC_FLAGS = ['--strict', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2022,dom'];
const USAGE = readFileSync(ROOT + 'tests/types/usage.ts', 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
const DTS = readFileSync(ROOT + 'js/linalloc.d.ts', 'utf8');

/** True when usage.ts (comments left out) uses `name`: as a member (`.x`) for one- or two-letter names, else as a word. */
const used = (name) => new RegExp(name.length <= 2 ? `\\.${name}(?![\\w$])` : `(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(USAGE);

/**
 * Names `docs/LOADER.md` documents in its API part (up to "## Examples"),
 * each a backticked identifier: functions, options, Heap members, fields.
 * From the errors table only the error classes. Not names of this API:
 * error codes (`NOT_FOUND`: they have their own test), the module's raw
 * exports (`thread_release`: DESIGN.md's ABI), files, flags, literals,
 * dotted engine names (`memory.grow`), and the plain words in NOT_API.
 */
const NOT_API = new Set([
  'TypeError', 'RangeError', 'RuntimeError', 'Response', 'TextDecoder', 'SharedArrayBuffer', 'BigInt', 'NaN', // the engine's
  'fs', 'file', 'compileStreaming', 'arrayBuffer', 'terminate', // Node's and the browser's
  'linalloc', 'tsc', 'npm', 'node', 'make', // the package's name, tools
  'source', 'options', 'p', 'n', // parameter names in signatures and examples
]);
function documentedNames(md) {
  const api = md.slice(0, md.indexOf('\n## Examples'));
  const lines = api.split('\n');
  const spans = (text) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const names = new Set();
  for (const s of spans(lines.filter((l) => l.startsWith('|')).join('\n'))) if (/^[A-Z]\w*Error$/.test(s) && !NOT_API.has(s)) names.add(s);
  for (let s of spans(lines.filter((l) => !l.startsWith('|')).join('\n'))) {
    if (s.startsWith('{')) {
      for (const [w] of s.matchAll(/[A-Za-z_$][\w$]*/g)) names.add(w);
      continue;
    }
    s = s.replace(/^heap\./, '');
    if (/[/]|^[^A-Za-z_$]|\.(js|ts|wasm|md)$/.test(s)) continue;
    const [name] = /^[A-Za-z_$][\w$]*/.exec(s);
    if (s[name.length] === '.') continue; // memory.grow, env.memory, WebAssembly.Module
    if (/^[A-Z][A-Z_]*[A-Z]$/.test(name) || /^[a-z]+(_[a-z0-9]+)+$/.test(name)) continue; // NOT_FOUND; thread_release
    if (!NOT_API.has(name)) names.add(name);
  }
  return [...names].sort();
}

test('tsc --strict compiles tests/types/usage.ts against js/linalloc.d.ts, and the output runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-types-'));
  try {
    execFileSync(process.execPath, [TSC, ...TSC_FLAGS, '--rootDir', 'tests/types', '--outDir', join(dir, 'tests/types'), 'js/linalloc.d.ts', 'tests/types/usage.ts'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    // the compiled file imports ../../js/, reads ../../dist/ and ../../examples/: the same tree, by links
    for (const d of ['js', 'dist', 'examples']) symlinkSync(join(ROOT, d), join(dir, d), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const out = execFileSync(process.execPath, [join(dir, 'tests/types/usage.js')], { encoding: 'utf8', stdio: 'pipe' });
    assert.equal(out.trim(), 'usage.ts: ok');
  } catch (e) {
    assert.fail(`${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tests/types/usage.ts uses every name docs/LOADER.md documents', () => {
  const names = documentedNames(readFileSync(ROOT + 'docs/LOADER.md', 'utf8'));
  // the extraction finds the API (a broken scan would pass vacuously)
  for (const n of ['load', 'blockSize', 'heapStart', 'reserved', 'build', 'reserve', 'createRecord', 'workerInit', 'attach', 'HEAP8', 'LoadError']) assert.ok(names.includes(n), `${n} not found in LOADER.md: ${names.join(', ')}`);
  assert.deepEqual(names.filter((n) => !used(n)), [], 'documented in docs/LOADER.md but not used in tests/types/usage.ts');
});

test('tests/types/usage.ts uses every export, every public Heap and RecordView member and stats field, and the .d.ts declares them', async () => {
  assert.deepEqual(Object.keys(loader).filter((n) => !used(n) && n !== 'Record'), [], 'exports of js/linalloc.js not used');
  const heap = await loader.load();
  const members = (o) => Object.getOwnPropertyNames(o).filter((n) => n !== 'constructor');
  const classBody = (name) => DTS.slice(DTS.indexOf(`export class ${name} `), DTS.indexOf('\n}\n', DTS.indexOf(`export class ${name} `)));
  for (const [cls, names] of [['Heap', [...members(loader.Heap.prototype), ...Object.keys(heap)]], ['RecordView', members(loader.RecordView.prototype)]]) {
    const body = classBody(cls);
    assert.deepEqual(names.filter((n) => !new RegExp(`\\n  (readonly )?${n.replace(/\$/g, '\\$')}\\b`).test(body)), [], `${cls} members missing from js/linalloc.d.ts`);
    assert.deepEqual(names.filter((n) => !new RegExp(`\\.${n.replace(/\$/g, '\\$')}(?![\\w$])`).test(USAGE)), [], `${cls} members not used in tests/types/usage.ts`);
  }
  const stats = DTS.slice(DTS.indexOf('export interface HeapStats {'), DTS.indexOf('\n}\n', DTS.indexOf('export interface HeapStats {')));
  const fields = Object.keys(heap.stats());
  assert.deepEqual(fields.filter((f) => !new RegExp(`\\n  ${f}: number;`).test(stats)), [], 'stats() fields missing from HeapStats');
  assert.deepEqual(fields.filter((f) => !used(f)), [], 'stats() fields not used in tests/types/usage.ts');
});

test('the extraction of documented names sees new API names and skips the rest', () => {
  const md = 'x\n- `load(source?)`, `heap.frob(ptr)`, `{ alpha, beta }`, `memory.grow`, `dist/a.wasm`, `TypeError`, `-1`, `OVERLAP`, `heap_reset()`, `HEAPU64`\n| `WhatError` `SOME_CODE` `RangeError` | when |\n## Examples\n`later`';
  assert.deepEqual(documentedNames(md), ['HEAPU64', 'WhatError', 'alpha', 'beta', 'frob', 'load']);
});

test('every runtime export of js/linalloc.js is declared in the .d.ts', () => {
  const dts = readFileSync(ROOT + 'js/linalloc.d.ts', 'utf8');
  for (const name of Object.keys(loader)) assert.match(dts, new RegExp(`export (declare )?(const|function|class) ${name}\\b`), name);
});
