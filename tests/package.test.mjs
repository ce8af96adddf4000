// `npm pack` produces a usable package: it installs into an empty folder and
// loads in Node through its `exports` map, with only what users need inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack -> install into an empty folder -> import "linalloc" and allocate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-pack-'));
  try {
    const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], ROOT));
    const files = info.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['README.md', 'dist/linalloc-checked.wasm', 'dist/linalloc-dlmalloc.wasm', 'dist/linalloc-talc.wasm', 'dist/linalloc-wee.wasm', 'dist/linalloc.wasm', 'js/linalloc.d.ts', 'js/linalloc.js', 'js/wasm-info.js', 'package.json']);
    const app = join(dir, 'app');
    npm(['init', '-y'], (execFileSync('mkdir', ['-p', app]), app));
    npm(['install', '--no-audit', '--no-fund', '--offline', join(dir, info.filename)], app);
    writeFileSync(join(app, 'main.mjs'), `
      import { load } from 'linalloc';
      import { createRequire } from 'node:module';
      const wasm = createRequire(import.meta.url).resolve('linalloc/dist/linalloc-dlmalloc.wasm');
      for (const heap of [await load(), await load(wasm)]) {
        const r = heap.createRecord(5, 1.5, 2.5);
        console.log(JSON.stringify([r.id, r.x, r.y, heap.stats().liveAllocations]));
      }`);
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l)), [[5, 1.5, 2.5, 1], [5, 1.5, 2.5, 1]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
