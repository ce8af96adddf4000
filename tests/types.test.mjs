// js/linalloc.d.ts compiles under `tsc --strict` and types typical use of the
// loader (tests/types/usage.ts); `load`, `linkModules`, the Heap API and the
// error classes must be declared as the code uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as loader from '../js/linalloc.js';
import { readFileSync } from 'node:fs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('tsc --strict accepts js/linalloc.d.ts and tests/types/usage.ts', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2022,dom', 'js/linalloc.d.ts', 'tests/types/usage.ts'], { cwd: ROOT, stdio: 'pipe' });
});

test('every runtime export of js/linalloc.js is declared in the .d.ts', () => {
  const dts = readFileSync(ROOT + 'js/linalloc.d.ts', 'utf8');
  for (const name of Object.keys(loader)) assert.match(dts, new RegExp(`export (declare )?(const|function|class) ${name}\\b`), name);
});
