// `make serve` (scripts/serve.mjs) helps a newcomer: a folder URL typed
// without its trailing slash redirects to the slash form (else the page's
// relative CSS and JS would 404), and `/` and `/examples/` list every
// example page instead of a 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serve } from '../scripts/serve.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// every examples/<name>/ with a page, read here rather than from the server
const PAGES = readdirSync(ROOT + 'examples').filter((d) => existsSync(`${ROOT}examples/${d}/index.html`)).sort();

let server;
before(async () => { server = await serve(); });
after(async () => { await server?.close(); });

const get = (path) => fetch(server.url + path, { redirect: 'manual' });

test('a folder URL without a trailing slash redirects to the slash form, query kept', async () => {
  assert.ok(PAGES.length >= 4 && PAGES.includes('records'), PAGES.join(', '));
  for (const name of PAGES) {
    const r = await get(`examples/${name}`);
    assert.equal(r.status, 301, `examples/${name}`);
    assert.equal(r.headers.get('location'), `/examples/${name}/`);
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const page = await fetch(new URL(r.headers.get('location'), server.url));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>/);
  }
  assert.equal((await get('examples')).headers.get('location'), '/examples/');
  assert.equal((await get('examples/records?seed=3')).headers.get('location'), '/examples/records/?seed=3');
  // files are not folders: they are served (or 404) as before
  assert.equal((await get('examples/records/app.js')).status, 200);
  assert.equal((await get('examples/records/missing.js')).status, 404);
  assert.equal((await get('dist/linalloc.wasm')).headers.get('content-type'), 'application/wasm');
});

test('/ and /examples/ serve an index linking every example page', async () => {
  for (const path of ['', 'examples/']) {
    const r = await get(path);
    assert.equal(r.status, 200, `/${path}`);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    const html = await r.text();
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    for (const name of PAGES) assert.ok(links.includes(`/examples/${name}/`), `/${path} links /examples/${name}/: ${links.join(', ')}`);
    for (const link of links.filter((l) => l.startsWith('/examples/'))) assert.equal((await get(link.slice(1))).status, 200, link);
  }
});

test('the CLI prints the index and every example page', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [fileURLToPath(new URL('../scripts/serve.mjs', import.meta.url)), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    for await (const chunk of child.stdout) {
      out += chunk;
      if (out.includes('Ctrl+C')) break;
    }
    assert.match(out, /serving .* at http:\/\/127\.0\.0\.1:\d+\/ /);
    for (const name of PAGES) assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:\\d+/examples/${name}/`));
  } finally {
    child.kill();
  }
});
