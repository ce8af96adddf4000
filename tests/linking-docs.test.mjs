// docs/LINKING.md, followed verbatim: its C example and the command blocks
// marked `run` are extracted and run here with Debian's clang and wasm-ld
// (scripts/setup-clang.sh), the modules must import linalloc's malloc and
// free, and its JS example must print what the doc says. The libc commands
// must be those scripts/build-libc.sh runs (tests/libc.test.mjs runs them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOC = readFileSync(ROOT + 'docs/LINKING.md', 'utf8');
const hasClang = (() => {
  try {
    execFileSync('clang', ['--version']);
    execFileSync('wasm-ld', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const skip = hasClang ? false : 'needs clang and wasm-ld: scripts/setup-clang.sh (make setup-clang) installs them';

/** The fenced blocks of the doc: `{ lang, tag, body }` (```lang tag). */
const blocks = [...DOC.matchAll(/^```(\w+)(?: (\S+))?\n([\s\S]*?)^```$/gm)].map(([, lang, tag, body]) => ({ lang, tag, body }));

let dir;
before(() => { dir = mkdtempSync(join(tmpdir(), 'linalloc-docs-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const importsOf = (file) => WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(dir, file)))).map((i) => `${i.module}.${i.name}`);

test('the C example builds with the documented commands, both ways, and imports malloc and free', { skip }, () => {
  const sources = blocks.filter((b) => b.lang === 'c' && b.tag);
  assert.ok(sources.length >= 1, 'the doc has a C example with a file name');
  for (const b of sources) writeFileSync(join(dir, b.tag), b.body);
  const commands = blocks.filter((b) => b.lang === 'sh' && b.tag === 'run').flatMap((b) => b.body.split('\n').filter((l) => l.trim()));
  assert.ok(commands.length >= 4, 'fixed-layout and side-module commands');
  for (const line of commands) execFileSync('sh', ['-ec', line], { cwd: dir, stdio: 'pipe' });
  for (const wasm of ['app.wasm', 'app-pic.wasm']) {
    const imports = importsOf(wasm);
    assert.ok(imports.includes('env.malloc') && imports.includes('env.free'), `${wasm} imports malloc and free (clang kept them): ${imports.join(' ')}`);
  }
});

test('the JS example runs on the modules built, and prints what the doc says', { skip }, () => {
  const js = blocks.find((b) => b.lang === 'js' && b.body.includes("linkModules({ app: 'app.wasm' })"));
  assert.ok(js, 'the doc has the example');
  const expected = js.body.match(/console\.log\(.*\/\/ (.*)$/m)[1].trim(); // "ababab 2"
  const loader = pathToFileURL(ROOT + 'js/linalloc.js').href;
  for (const wasm of ['app.wasm', 'app-pic.wasm']) {
    const body = js.body.replace("'./js/linalloc.js'", `'${loader}'`).replace("'app.wasm'", `'${wasm}'`);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', body], { cwd: dir }).toString().trim();
    assert.equal(out, expected, wasm);
  }
});

test('the libc commands in the doc are the ones scripts/build-libc.sh runs', () => {
  const script = readFileSync(ROOT + 'scripts/build-libc.sh', 'utf8');
  for (const v of ['LINK_CLANG', 'LINK_ZIG']) {
    const flags = script.match(new RegExp(`^${v}="(.*)"$`, 'm'))[1];
    assert.ok(DOC.includes(flags), `docs/LINKING.md has ${v}: ${flags}`);
  }
  assert.match(DOC, /clang --target=wasm32-wasi -O2 app\.c build\/libc\/linalloc-libc\.o/);
  assert.match(DOC, /zig cc --target=wasm32-wasi -O2 app\.c build\/libc\/linalloc-libc\.o/);
});
