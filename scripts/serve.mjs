// A small static file server for the examples and the tests: serves the repo
// on localhost with application/wasm for .wasm files, and cross-origin
// isolated (COOP same-origin + COEP require-corp), which browsers require
// before a page may share memory with workers (SharedArrayBuffer). A folder
// URL without its trailing slash redirects to the slash form (so a page's
// relative CSS and JS resolve); `/` and `/examples/` list every example page.
// CLI: node scripts/serve.mjs [port]    (default 8080; 0 picks a free port)
import { createServer } from 'node:http';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

/** Example pages under `root`: `[{ path: 'examples/records/', title }]`, one per examples/<name>/index.html. */
export function examplePages(root = ROOT) {
  const dir = join(root, 'examples');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'index.html')))
    .map((d) => {
      const html = readFileSync(join(dir, d.name, 'index.html'), 'utf8');
      const title = /<title>([^<]*)<\/title>/.exec(html)?.[1].replace(/^linalloc:?\s*/, '') ?? d.name;
      return { path: `examples/${d.name}/`, title };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The index page of `/` and `/examples/`: a link to every example page (hrefs from the site root). */
function indexPage(root) {
  const items = examplePages(root).map((e) => `<li><a href="/${e.path}">${e.path}</a>: ${e.title}</li>`).join('\n');
  return `<!doctype html>\n<meta charset="utf-8">\n<title>linalloc examples</title>\n<link rel="icon" href="data:,">\n` +
    `<style>body{font:15px system-ui,sans-serif;margin:1.5rem;max-width:50rem}li{margin:.3rem 0}</style>\n` +
    `<h1>linalloc examples</h1>\n<ul id="examples">\n${items}\n</ul>\n` +
    `<p>The Node demo: <code>make demo</code>. Docs: <a href="/README.md">README.md</a>, <a href="/docs/LOADER.md">docs/LOADER.md</a>.</p>\n`;
}

/**
 * Starts a server. Options for tests: `delayMs` delays every response;
 * `wasmType` overrides the .wasm content type (to test the MIME fallback);
 * `isolate: false` leaves out the cross-origin isolation headers.
 * Resolves to `{ url, port, close() }`.
 */
export function serve({ root = ROOT, port = 0, host = '127.0.0.1', delayMs = 0, wasmType = 'application/wasm', isolate = true } = {}) {
  const isolation = isolate ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer(async (req, res) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let file = join(root, path);
    if (!file.startsWith(normalize(root + sep)) && file !== normalize(root)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    const headers = (type) => ({ 'content-type': type, 'cache-control': 'no-store', ...isolation });
    try {
      if ((await stat(file)).isDirectory()) {
        if (!path.endsWith(sep) && !path.endsWith('/')) {
          const url = new URL(req.url, 'http://x');
          res.writeHead(301, { location: `${url.pathname}/${url.search}`, ...headers('text/plain; charset=utf-8') }).end('moved');
          return;
        }
        if ((path === '/' || path === '/examples/') && !existsSync(join(file, 'index.html'))) {
          res.writeHead(200, headers(TYPES['.html'])).end(indexPage(root));
          return;
        }
        file = join(file, 'index.html');
      }
      const body = await readFile(file);
      const ext = extname(file);
      res.writeHead(200, headers(ext === '.wasm' ? wasmType : TYPES[ext] || 'application/octet-stream'));
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><h1>404 Not Found</h1><p>${path}</p>`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({ url: `http://${host}:${p}/`, port: p, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);
  const s = await serve({ port });
  console.log(`serving ${ROOT} at ${s.url} (index of the examples)`);
  for (const e of examplePages()) console.log(`  ${`${s.url}${e.path}`.padEnd(s.url.length + 18)} ${e.title}`);
  console.log('press Ctrl+C to stop');
}
