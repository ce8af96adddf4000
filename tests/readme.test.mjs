// The README's Node snippets run as a user would paste them: each code block
// whose files are marked `// Node: <file>` is split into those files in a
// temporary folder, `'linalloc'` pointing at this checkout's loader, and its
// first file is run; so is the loader snippet. (The HTML quick start runs in
// tests/browser/.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(ROOT + 'README.md', 'utf8');
const LOADER = pathToFileURL(ROOT + 'js/linalloc.js').href;

/** The README's code blocks that hold `// Node: <file>` files: `[[{ file, source }]]`. */
function nodeSnippets(md) {
  return [...md.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((code) => /^\/\/ Node: \S+$/m.test(code))
    .map((code) => code.split(/^(?=\/\/ Node: )/m).filter((part) => part.startsWith('// Node: ')).map((part) => ({ file: /^\/\/ Node: (\S+)/.exec(part)[1], source: part })));
}

test("the README's loader snippet runs in Node from the repository's root", () => {
  const [code] = [...README.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]).filter((c) => c.includes("from './js/linalloc.js'") && c.includes('heap.createRecord(1, 0.5, 2.25)'));
  assert.ok(code, 'the loader snippet');
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-readme-'));
  try {
    writeFileSync(join(dir, 'snippet.mjs'), code.replaceAll("from './js/linalloc.js'", `from '${LOADER}'`));
    const out = execFileSync(process.execPath, [join(dir, 'snippet.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.match(out, /^héllo \{ ptr: \d+, id: 1, x: 1\.5, y: 2\.25 \}/, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README has a Node worker_threads snippet (main and worker files)', () => {
  const snippets = nodeSnippets(README);
  assert.equal(snippets.length, 1, 'one Node threads snippet');
  assert.deepEqual(snippets[0].map((f) => f.file), ['main.mjs', 'worker.mjs']);
  assert.match(snippets[0][1].source, /parentPort/);
  assert.match(snippets[0][0].source, /const init = heap\.workerInit\(\)[\s\S]*heap\.workerDone\(init\)/, 'keeps init for workerDone');
});

test("the README's Node threads snippet runs: the worker's record is read on the main thread, its stack given back", () => {
  const dir = mkdtempSync(join(tmpdir(), 'linalloc-readme-'));
  try {
    const [files] = nodeSnippets(README);
    for (const { file, source } of files) writeFileSync(join(dir, file), source.replaceAll("from 'linalloc'", `from '${LOADER}'`));
    // workerDone runs in the worker's exit handler: a refused stack would throw there and fail the run
    const out = execFileSync(process.execPath, [join(dir, files[0].file)], { cwd: dir, encoding: 'utf8', timeout: 20_000 }).trim();
    assert.match(out, /^\{ ptr: \d+, id: 1, x: 2, y: 3 \}$/, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
