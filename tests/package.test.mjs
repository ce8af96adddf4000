// `npm pack` produces a usable package: it installs into an empty folder and
// loads in Node through its `exports` map, with only what users need inside:
// the loader's modules, its types, the drop-in files, the docs (with their
// images, so the packed README shows them) and licenses. The Node versions
// the README, `engines` and the Makefile claim agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
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
    // every loader module (js/*.js) and doc page ships; nothing else from the repository
    const jsModules = readdirSync(ROOT + 'js').filter((f) => f.endsWith('.js')).map((f) => `js/${f}`);
    const docs = readdirSync(ROOT + 'docs').filter((f) => /\.(md|png)$/.test(f)).map((f) => `docs/${f}`);
    assert.ok(jsModules.includes('js/linalloc.js') && jsModules.includes('js/internal.js') && jsModules.includes('js/wasm-info.js'), jsModules.join(', '));
    const expected = ['LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'bench/results.svg', 'dist/linalloc-bump.wasm', 'dist/linalloc-checked.wasm', 'dist/linalloc-dlmalloc.wasm', 'dist/linalloc-mt.wasm', 'dist/linalloc-talc.wasm', 'dist/linalloc-wee.wasm', 'dist/linalloc.wasm', ...docs, 'js/linalloc.d.ts', ...jsModules, 'package.json'];
    assert.deepEqual(files, expected.sort());
    // every image the packed README and docs show is in the package, where their relative links point
    for (const page of files.filter((f) => f.endsWith('.md'))) {
      const md = readFileSync(join(ROOT, page), 'utf8');
      for (const [, src] of md.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)) {
        if (/^[a-z]+:/.test(src)) continue;
        const inPackage = join(page, '..', src).replaceAll('\\', '/');
        assert.ok(files.includes(inPackage), `${page} shows ${src}, which is not in the package`);
      }
    }
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
      }
      // the loader's private modules are not part of the package's interface
      console.log(JSON.stringify(await import('linalloc/js/internal.js').then(() => 'reachable', (e) => e.code)));`);
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l)), [[5, 1.5, 2.5, 1], [5, 1.5, 2.5, 1], 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Node version claims agree: README, package.json engines and the Makefile name one oldest Node', (t) => {
  const readme = readFileSync(ROOT + 'README.md', 'utf8');
  const claims = {
    README: [...readme.matchAll(/Node ≥ (\d+)/g)].map((m) => Number(m[1])),
    'package.json engines': [Number(/^>=(\d+)$/.exec(JSON.parse(readFileSync(ROOT + 'package.json', 'utf8')).engines.node)?.[1])],
    'package-lock.json': [Number(/^>=(\d+)$/.exec(JSON.parse(readFileSync(ROOT + 'package-lock.json', 'utf8')).packages[''].engines.node)?.[1])],
    Makefile: [...readFileSync(ROOT + 'Makefile', 'utf8').matchAll(/Node\.js (\d+) or later/g)].map((m) => Number(m[1])),
  };
  for (const [where, found] of Object.entries(claims)) assert.ok(found.length > 0 && found.every(Number.isInteger), `${where} states the oldest Node`);
  const versions = new Set(Object.values(claims).flat());
  assert.equal(versions.size, 1, `one oldest Node version, found ${JSON.stringify(claims)}`);
  const [oldest] = versions;
  const running = Number(process.versions.node.split('.')[0]);
  assert.ok(running >= oldest, `this run's Node ${process.versions.node} is older than the claimed ${oldest}`);
  t.diagnostic(`oldest Node claimed: ${oldest}; this run: ${process.versions.node}${running === oldest ? ' (the oldest claimed)' : ''}`);
});
