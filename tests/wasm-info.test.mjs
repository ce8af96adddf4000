// Unit tests of the wasm binary reader (js/wasm-info.js) the loader and the
// linker rely on: its view of real modules agrees with the engine's own
// reflection, it reads the layouts wasm-ld was asked for, and damaged or
// truncated input is a RangeError, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sections, moduleLayout, memoryImportLimits, exportSignature, staticRegion, readOwnerTag, buildName, OWNER_TAG } from '../js/wasm-info.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const wasmIn = (dir) => (existsSync(ROOT + dir) ? readdirSync(ROOT + dir).filter((f) => f.endsWith('.wasm')).map((f) => `${dir}/${f}`) : []);
const FILES = [...wasmIn('dist'), ...wasmIn('examples/link'), ...wasmIn('build/tests/fixtures'), ...wasmIn('build/bench')];
const KIND = { function: 0, table: 1, memory: 2, global: 3 };

// a minimal module encoder for hand-made cases
const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const str = (t) => [...leb(t.length), ...new TextEncoder().encode(t)];
const section = (id, body) => [id, ...leb(body.length), ...body];
const wasm = (...secs) => new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...secs.flat()]);

test(`real modules (${FILES.length}): sections tile the file, exports and imports agree with the engine`, () => {
  assert.ok(FILES.length >= 10, FILES.join(', '));
  for (const f of FILES) {
    const bytes = new Uint8Array(readFileSync(ROOT + f));
    let at = 8;
    let last = 0;
    for (const s of sections(bytes)) {
      assert.ok(s.start > at && s.end >= s.start, `${f}: section ${s.id} bounds`);
      if (s.id !== 0) {
        assert.ok(s.id !== last, `${f}: section ${s.id} twice`);
        last = s.id;
      }
      at = s.end;
    }
    assert.equal(at, bytes.length, `${f}: sections end at the file's end`);
    const mod = new WebAssembly.Module(bytes);
    const layout = moduleLayout(bytes);
    assert.deepEqual([...layout.exports].map(([name, e]) => [name, e.kind]), WebAssembly.Module.exports(mod).map((e) => [e.name, KIND[e.kind]]), `${f}: exports`);
    const mem = WebAssembly.Module.imports(mod).find((i) => i.kind === 'memory');
    assert.deepEqual(layout.memory && [layout.memory.module, layout.memory.name], mem ? [mem.module, mem.name] : null, `${f}: memory import`);
    assert.equal(layout.importedFunctions, WebAssembly.Module.imports(mod).filter((i) => i.kind === 'function').length, `${f}: imported functions`);
    // every defined exported function's signature has the arity the engine reports
    if (!WebAssembly.Module.imports(mod).every((i) => i.kind === 'memory')) continue;
    const shared = Boolean(layout.memory?.shared); // the threads build
    const memory = new WebAssembly.Memory({ initial: Math.max(2, layout.memory?.initial ?? 0), ...(shared ? { maximum: layout.memory.maximum, shared } : {}) });
    const { exports } = new WebAssembly.Instance(mod, { env: { memory } });
    for (const [name, e] of layout.exports) {
      if (e.kind !== 0) continue;
      const sig = exportSignature(layout, name);
      assert.ok(sig, `${f}: ${name} has a signature`);
      const params = sig.split('->')[0];
      assert.equal(params ? params.split(',').length : 0, exports[name].length, `${f}: ${name} ${sig}`);
    }
  }
});

test('memory limits, shared flag and the allocator modules\' minimum', () => {
  const limits = (flags, ...v) => moduleLayout(wasm(section(2, [1, ...str('env'), ...str('memory'), 2, flags, ...v.flatMap(leb)]))).memory;
  assert.deepEqual(limits(0, 3), { module: 'env', name: 'memory', initial: 3, maximum: undefined, shared: false });
  assert.deepEqual(limits(1, 3, 70000), { module: 'env', name: 'memory', initial: 3, maximum: 70000, shared: false });
  assert.deepEqual(limits(3, 1, 16), { module: 'env', name: 'memory', initial: 1, maximum: 16, shared: true });
  for (const f of wasmIn('dist')) {
    const l = memoryImportLimits(readFileSync(ROOT + f));
    // the threads build's shared memory must declare its maximum: all 4 GiB
    if (f.endsWith('-mt.wasm')) assert.ok(l.shared && l.initial <= 2 && l.maximum === 65536, `${f}: ${JSON.stringify(l)}`);
    else assert.ok(!l.shared && l.initial <= 2 && l.maximum === undefined, `${f}: ${JSON.stringify(l)}`);
  }
});

test('static regions: what wasm-ld was asked for', () => {
  const region = (f) => staticRegion(moduleLayout(readFileSync(ROOT + f)));
  // examples/link/strtab.wasm: --global-base=65536 -z stack-size=16384, data then stack
  const s = region('examples/link/strtab.wasm');
  assert.equal(s.start, 65536);
  assert.ok(s.end > s.start + 16384 && s.end < 65536 + 4 * 65536, JSON.stringify(s));
  // the fixtures: --global-base=393216 / 458752, 4 KiB stacks
  for (const [f, base] of [['build/tests/fixtures/ping.wasm', 393216], ['build/tests/fixtures/pong.wasm', 458752]]) {
    if (!existsSync(ROOT + f)) continue;
    const r = region(f);
    assert.equal(r.start, base, f);
    assert.ok(r.end >= base + 4096 && r.end < base + 65536, `${f}: ${JSON.stringify(r)}`);
  }
  // a side module places nothing at fixed addresses; it says how much it needs
  const pic = moduleLayout(readFileSync(ROOT + 'examples/link/strtab-pic.wasm'));
  assert.equal(staticRegion(pic), null);
  assert.ok(pic.dylink && pic.dylink.memorySize > 0, JSON.stringify(pic.dylink));
  // i32.const offsets are signed LEB: a segment at 0x80000000 reads as 2 GiB, not negative
  const seg = moduleLayout(wasm(section(11, [1, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x78, 0x0b, 2, 7, 7])));
  assert.deepEqual(seg.data, [{ offset: 0x80000000, global: undefined, size: 2 }]);
});

test('truncated and damaged modules are a RangeError at every cut, never another error', () => {
  const bytes = new Uint8Array(readFileSync(ROOT + 'examples/link/strtab.wasm'));
  let refused = 0;
  for (let cut = 9; cut < bytes.length; cut += Math.max(1, bytes.length >> 8)) {
    try {
      moduleLayout(bytes.subarray(0, cut));
    } catch (e) {
      assert.ok(e instanceof RangeError, `cut at ${cut}: ${e.constructor.name}: ${e.message}`);
      refused++;
    }
  }
  assert.ok(refused > 0);
  assert.throws(() => moduleLayout(wasm(section(2, [1, ...str('env'), ...str('x'), 9]))), RangeError, 'unknown import kind');
  assert.throws(() => moduleLayout(wasm(section(1, [1, 0x50, 0, 0]))), RangeError, 'unknown type form');
  assert.throws(() => moduleLayout(wasm([7, 0x80])), RangeError, 'a section size past the end');
});

test('owner tag and build names', () => {
  const buf = new ArrayBuffer(65536);
  assert.equal(readOwnerTag(buf), null, 'no tag in fresh memory');
  assert.equal(readOwnerTag(new ArrayBuffer(100)), null, 'a memory too small for a tag');
  new Uint32Array(buf, OWNER_TAG.address, 4).set([OWNER_TAG.magic, 2, 17424, 0]);
  assert.deepEqual(readOwnerTag(buf), { build: 2, name: 'dlmalloc', heapStart: 17424, reserve: 0 });
  assert.equal(buildName(1), 'talc');
  assert.equal(buildName(7), 'lin');
  assert.equal(buildName(8), 'bump');
  assert.equal(buildName(0x106), 'checked');
  assert.match(buildName(0x109), /unknown backend 9 \(checked\)/);
});
