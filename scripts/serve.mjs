// A small static file server for the examples and the tests: serves the repo
// on localhost with application/wasm for .wasm files, and cross-origin
// isolated (COOP same-origin + COEP require-corp), which browsers require
// before a page may share memory with workers (SharedArrayBuffer).
// CLI: node scripts/serve.mjs [port]    (default 8080; 0 picks a free port)
import { createServer } from 'node:http';
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
};

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
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const ext = extname(file);
      res.writeHead(200, { 'content-type': ext === '.wasm' ? wasmType : TYPES[ext] || 'application/octet-stream', 'cache-control': 'no-store', ...isolation });
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
  console.log(`serving ${ROOT} at ${s.url}`);
  console.log(`  plain page (no loader): ${s.url}examples/plain/`);
  console.log(`  records app (loader):   ${s.url}examples/records/`);
  console.log(`  runtime linking:        ${s.url}examples/link/`);
  console.log(`  workers, one heap:      ${s.url}examples/workers/`);
  console.log('press Ctrl+C to stop');
}
