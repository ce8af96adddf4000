// Turns a source (URL or path, Response, bytes, WebAssembly.Module) into a
// compiled module, with the loader's errors and warnings, and reads the
// module's layout from its bytes when the loader needs it.

import { LoadError, coded, describe, warn } from './errors.js';
import { hasWasmMagic, moduleLayout } from './wasm-info.js';

const IS_NODE = typeof process === 'object' && process.versions != null && process.versions.node != null;
const EMPTY = new Uint8Array(0);

let warnedMime = false;

/** The first bytes of a non-module, in hex and as text, for error messages. */
function describeBytes(bytes) {
  const head = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 40)).replace(/[^\x20-\x7e]/g, '.');
  return `first bytes: ${head || '(empty)'} ("${text}")`;
}

/** Throws a LoadError unless `bytes` compile; returns the module. */
async function compileBytes(bytes, where) {
  if (!hasWasmMagic(bytes)) {
    const html = /^\s*</.test(new TextDecoder().decode(bytes.subarray(0, 64)));
    throw new LoadError(
      `${where} is not a WebAssembly module${html ? ' (it looks like an HTML page: a wrong URL or an error page from the server?)' : ''}; ${describeBytes(bytes)}. ` +
        'Check the URL and that the server sends the .wasm file itself.',
      'NOT_WASM',
      { url: where, firstBytes: bytes.slice(0, 16) },
    );
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new LoadError(`${where} is a damaged or unsupported WebAssembly module (${e.message}). Rebuild it or download it again.`, 'INVALID_WASM', {
      url: where,
      cause: e,
    });
  }
}

/** A Uint8Array over an ArrayBuffer or a view's bytes (no copy), or null for anything else. */
export function toBytes(source) {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  return null;
}

/** What to do about a module file that is not at `path`. */
function missingFileAdvice(path) {
  const relative = !/^([a-z]:)?[\\/]/i.test(path) ? ` A relative path is read from the current directory (${process.cwd()}), not from the importing module: use new URL('file.wasm', import.meta.url) for a file beside it.` : '';
  if (!/(^|[\\/])linalloc(-[a-z]+)?\.wasm$/.test(path)) return `Check the path.${relative}`;
  return (
    `linalloc's builds are in its dist/ folder: node_modules/linalloc/dist/ when installed from npm (npm install linalloc; ` +
    `import.meta.resolve('linalloc/dist/linalloc-mt.wasm') is a URL load() takes), dist/ in a clone of the repository. ` +
    `load() without a source, { checked: true } and { shared: true } find them by themselves.${relative}`
  );
}

/** Reads a file in Node; a LoadError naming the path when that fails. */
async function readNodeFile(url) {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(url));
  } catch (e) {
    const path = url instanceof URL ? decodeURIComponent(url.pathname) : url;
    throw new LoadError(`could not read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}. ${missingFileAdvice(path)}`, 'NOT_FOUND', {
      url: String(url),
      cause: e,
    });
  }
}

/**
 * Compiles a fetched module, streaming when it is served as application/wasm;
 * keeps a clone of the response (`spare`) to read the bytes from later.
 */
async function compileResponse(responsePromise, where) {
  let response;
  try {
    response = await responsePromise;
  } catch (e) {
    throw new LoadError(`could not fetch ${where}: ${e.message}. Check the URL and that the server is running.`, 'FETCH_FAILED', { url: where, cause: e });
  }
  const url = response.url || where;
  if (!response.ok) {
    throw new LoadError(`fetching ${url} failed with HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}. Check the URL and that the file is deployed.`, 'HTTP_ERROR', {
      url,
      status: response.status,
    });
  }
  const type = (response.headers.get('content-type') || '').split(';')[0].trim();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    const spare = response.clone(); // to explain a failure with the bytes themselves
    try {
      const module = await WebAssembly.compileStreaming(response);
      return { module, bytes: null, spare, url };
    } catch {
      return { module: await compileBytes(new Uint8Array(await spare.arrayBuffer()), url), bytes: null, spare: null, url };
    }
  }
  if (!warnedMime) {
    warnedMime = true;
    warn(`${url} was served as "${type || 'no content type'}", not application/wasm; compiling without streaming. Configure the server to send application/wasm for .wasm files.`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { module: await compileBytes(bytes, url), bytes, spare: null, url };
}

/**
 * Compiles any supported source. Returns `{ module, bytes, url }` where
 * `bytes` may be null (streamed, or a WebAssembly.Module); `layoutOf()` reads
 * them from the response when it needs them.
 */
export async function compileSource(source) {
  if (source instanceof WebAssembly.Module) return { module: source, bytes: null, url: '(WebAssembly.Module)' };
  const bytes = toBytes(source);
  if (bytes) return { module: await compileBytes(bytes, '(bytes)'), bytes, url: '(bytes)' };
  if (typeof Response !== 'undefined' && (source instanceof Response || (source && typeof source.then === 'function'))) {
    return compileResponse(source, '(Response)');
  }
  if (typeof source === 'string' || source instanceof URL) {
    if (IS_NODE) {
      const s = String(source);
      if (source instanceof URL ? source.protocol === 'file:' : !/^[a-z][a-z0-9+.-]*:/i.test(s) || s.startsWith('file:')) {
        const target = source instanceof URL || s.startsWith('file:') ? new URL(s) : s;
        const fileBytes = await readNodeFile(target);
        return { module: await compileBytes(fileBytes, s), bytes: fileBytes, url: s };
      }
    }
    const url = String(source);
    return compileResponse(fetch(url), url);
  }
  throw coded(new TypeError(`linalloc: cannot load from ${describe(source)}; pass a URL or path, a Response, bytes (ArrayBuffer or typed array) or a WebAssembly.Module`), 'BAD_SOURCE');
}

/** The module's bytes, read from the spare response when it was streamed; null for a WebAssembly.Module. */
async function bytesOf(compiled) {
  if (compiled.bytes) return compiled.bytes;
  if (compiled.spare) {
    compiled.bytes = new Uint8Array(await compiled.spare.arrayBuffer());
    compiled.spare = null;
  }
  return compiled.bytes;
}

/** The module's layout read from its bytes (cached); a LoadError when they are malformed. */
export async function layoutOf(compiled) {
  if (compiled.layout) return compiled.layout;
  const bytes = (await bytesOf(compiled)) ?? EMPTY;
  try {
    compiled.layout = moduleLayout(bytes);
  } catch (e) {
    throw new LoadError(`${compiled.url ?? compiled.name} has a damaged section (${e.message}); the engine accepted it, but linalloc cannot read its imports or custom sections. Rebuild the module.`, 'BAD_SECTION', {
      url: compiled.url,
      cause: e,
    });
  }
  return compiled.layout;
}
