// The libc path: C and C++ programs built against wasi-libc (Debian's clang)
// and zig's C library, with build/libc/linalloc-libc.o as their allocator,
// run as WASI commands and reactors under node:wasi, linked at load time to
// real dist/*.wasm builds; output compared byte for byte with gcc's native
// build. And the refusals: a program that keeps libc's own allocator, or a
// memory of its own. Built by `make libc` (scripts/build-libc.sh).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { WASI } from 'node:wasi';
import { HeapCorruptionError, linkModules, LinkError } from '../js/linalloc.js';
import { memoryGrowth } from '../js/wasm-code.js';
import { moduleLayout } from '../js/wasm-info.js';
import { stackFirst } from '../js/link-stack.js';
import { DIST, WITH_CHECKED } from './helpers/support.mjs';

// Node 20's V8 crashes (SIGSEGV, or "Fatal error … unreachable code" in a GC
// that memory.grow starts) in about half the runs of a WASI program that
// grows its memory by tens of MB -- brotli here -- with wasi-libc's own
// allocator as with linalloc; never without concurrent marking.
v8.setFlagsFromString('--no-concurrent-marking');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = ROOT + 'build/libc/';
const EXAMPLES = ROOT + 'examples/libc/';
const missing = ['linalloc-libc.o', 'inventory.wasm', 'wordfreq.wasm', 'greet.wasm', 'inventory-zig.wasm', 'wordfreq-zig.wasm', 'sqlite.wasm', 'sqlite-overrun.wasm', 'sqlite-native', 'brotli.wasm', 'brotli-native'].filter((f) => !existsSync(OUT + f));
const skip = missing.length ? `build/libc lacks ${missing.join(', ')}: run make libc (scripts/setup-wasi.sh, scripts/setup-zig.sh, scripts/build-libc.sh)` : false;

let dir;
before(() => { dir = mkdtempSync(join(tmpdir(), 'linalloc-libc-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** A node:wasi instance reading `input` on stdin, writing stdout to a file; `output()` reads it back. */
function wasiFor(name, input, args = []) {
  const out = join(dir, `${name}-${Math.random().toString(36).slice(2)}.out`);
  const fds = { stdin: openSync(input ?? '/dev/null', 'r'), stdout: openSync(out, 'w') };
  const wasi = new WASI({ version: 'preview1', args: [name, ...args], env: {}, returnOnExit: true, ...fds });
  const output = () => {
    for (const fd of Object.values(fds)) {
      try {
        closeSync(fd);
      } catch {
        // the program closed it itself (fd_close)
      }
    }
    return readFileSync(out);
  };
  return { wasi, output };
}

/**
 * Links `wasm` against allocator `dist` as a WASI command with `input` on
 * stdin (and `args`; `initial` pages of memory); its exit code, stdout, heap.
 */
async function runCommand(wasm, input, dist = 'linalloc.wasm', { args = [], initial } = {}) {
  const { wasi, output } = wasiFor('app', input, args);
  try {
    const { heap, exitCodes } = await linkModules({ linalloc: DIST + dist, app: OUT + wasm }, { wasi, ...(initial ? { initial } : {}) });
    return { exitCode: exitCodes.app, stdout: output(), heap };
  } catch (e) {
    output(); // closes the files
    throw e;
  }
}

const native = (exe, input, args = []) => execFileSync(OUT + exe, args, { input: readFileSync(input), maxBuffer: 64 << 20 });

const PROGRAMS = [
  { name: 'inventory (C: stdio, strtod, qsort, snprintf, strdup, strndup, getline, asprintf)', base: 'inventory', input: EXAMPLES + 'inventory.txt' },
  { name: 'wordfreq (C++: new/delete, aligned new, std::string, std::vector, std::map)', base: 'wordfreq', input: EXAMPLES + 'tale.txt' },
];

describe('a real program: Brotli\'s command-line tool (its sources from PyPI) compressing and decompressing', { skip }, () => {
  // inputs: SQLite's 9.5 MB amalgamation, its first megabyte, a page of Dickens
  const SQLITE_C = ROOT + 'build/third_party/sqlite3/sqlite3.c';
  const CASES = [
    { name: 'sqlite3.c (9.5 MB), -q 1', input: SQLITE_C, args: ['-q', '1'] },
    { name: 'sqlite3.c\'s first MB, -q 9', input: 'head', args: ['-q', '9'] },
    { name: 'tale.txt, -q 11 -w 24', input: EXAMPLES + 'tale.txt', args: ['-q', '11', '-w', '24'] },
  ];
  let head;
  before(() => {
    head = join(dir, 'sqlite3-head.c');
    writeFileSync(head, readFileSync(SQLITE_C).subarray(0, 1 << 20));
  });

  for (const c of CASES) {
    test(`${c.name}: the same bytes as gcc's native build, and decompressed back, on every build`, async () => {
      const input = c.input === 'head' ? head : c.input;
      const expected = native('brotli-native', input, ['-c', ...c.args]);
      for (const [backend, file] of Object.entries(WITH_CHECKED)) {
        const packed = await runCommand('brotli.wasm', input, file, { args: ['-c', ...c.args] });
        assert.equal(packed.exitCode, 0, backend);
        assert.ok(packed.stdout.equals(expected), `${backend}: compressed bytes as native (${packed.stdout.length} vs ${expected.length})`);
        assert.equal(packed.heap.stats().invalidFrees, 0, backend);
        const back = join(dir, `packed-${backend}.br`);
        writeFileSync(back, packed.stdout);
        const unpacked = await runCommand('brotli.wasm', back, file, { args: ['-d', '-c'] });
        assert.equal(unpacked.exitCode, 0, backend);
        assert.ok(unpacked.stdout.equals(readFileSync(input)), `${backend}: decompressed to the input`);
      }
    });
  }
});

describe('a real program: SQLite (its amalgamation from the npm registry) running a SQL script', { skip }, () => {
  const script = EXAMPLES + 'sqlite-script.sql';
  test('output byte for byte as gcc\'s native build, tens of thousands of blocks, all freed, on every build', async () => {
    const expected = native('sqlite-native', script);
    assert.match(expected.toString(), /^5000\|2145000\.0\|2026-01-01\|2026-12-31$/m, 'the script ran natively');
    for (const [backend, file] of Object.entries(WITH_CHECKED)) {
      const { exitCode, stdout, heap } = await runCommand('sqlite.wasm', script, file);
      assert.equal(exitCode, 0, backend);
      assert.equal(stdout.toString(), expected.toString(), `${backend}: stdout`);
      const s = heap.stats();
      assert.ok(s.totalAllocations > 10_000, `${backend}: ${s.totalAllocations} allocations`);
      assert.ok(s.peakInUseBytes > 1_000_000, `${backend}: peak ${s.peakInUseBytes} bytes`);
      assert.equal(s.liveAllocations, 0, `${backend}: sqlite3_close freed everything`);
      assert.equal(s.invalidFrees, 0, `${backend}: no free refused (no false positive in the checked build)`);
    }
  });

  test('the checked build catches a byte written past a block (sqlite-run.c -DPLANT_OVERRUN), naming it', async () => {
    await assert.rejects(runCommand('sqlite-overrun.wasm', script, 'linalloc-checked.wasm'), (e) => {
      assert.ok(e instanceof HeapCorruptionError, e.message);
      assert.equal(e.code, 'OVERFLOW');
      assert.equal(e.size, 24, 'sqlite3_malloc(16): 16 bytes and its 8-byte size header');
      assert.equal(e.at, e.ptr + 24, 'the first byte past the block');
      return true;
    });
    const { exitCode } = await runCommand('sqlite-overrun.wasm', script);
    assert.equal(exitCode, 0, 'the release build does not look');
  });
});

describe('wasi-libc programs with linalloc as their allocator', { skip }, () => {
  for (const p of PROGRAMS) {
    for (const [toolchain, suffix] of [['clang + wasi-libc', ''], ['zig', '-zig']]) {
      test(`${p.name}, ${toolchain}: output byte for byte as gcc's native build, on every build`, async () => {
        const expected = native(`${p.base}-native`, p.input);
        const wasm = `${p.base}${suffix}.wasm`;
        const bytes = readFileSync(OUT + wasm);
        assert.deepEqual([...memoryGrowth(bytes).grows], [], 'no allocator of its own: the program never grows the memory');
        // zig links the stack first, at 0: the loader moves it
        assert.equal(stackFirst(moduleLayout(bytes)) !== null, suffix === '-zig', 'stack first exactly for zig');
        for (const [backend, file] of Object.entries(WITH_CHECKED)) {
          const { exitCode, stdout, heap } = await runCommand(wasm, p.input, file);
          assert.equal(exitCode, 0, backend);
          assert.equal(stdout.toString(), expected.toString(), `${backend}: stdout`);
          assert.ok(stdout.equals(expected), `${backend}: byte for byte`);
          const s = heap.stats();
          assert.ok(s.totalAllocations > 20, `${backend}: the program's (and libc's) allocations went to linalloc: ${s.totalAllocations}`);
          assert.equal(s.liveAllocations, 0, `${backend}: every block freed, strdup's and getline's included`);
          assert.equal(s.invalidFrees, 0, `${backend}: no free refused`);
          if (suffix === '-zig') assert.ok(heap.regions.some((r) => r.module === 'app' && r.stack), 'its stack was moved');
        }
      });
    }
  }

  test('a command\'s exit code comes back (proc_exit); the heap goes on after it', async () => {
    // brotli -d on text that is not brotli data fails: exit code 1
    const { exitCode, heap } = await runCommand('brotli.wasm', EXAMPLES + 'tale.txt', 'linalloc.wasm', { args: ['-d', '-c'] });
    assert.equal(exitCode, 1);
    assert.equal(heap.stats().invalidFrees, 0);
    const p = heap.malloc(100);
    assert.ok(p);
    heap.free(p);
  });

  test('a reactor: libc\'s strdup/asprintf blocks freed by JS, a JS block freed by C, stdout through WASI', async () => {
    const { wasi, output } = wasiFor('greet');
    const { heap, instances, exitCodes } = await linkModules({ greet: OUT + 'greet.wasm' }, { wasi });
    assert.deepEqual(exitCodes, {}, 'a reactor is initialized, not run');
    const x = instances.greet.exports;
    const base = heap.stats().liveAllocations;
    const s = heap.writeString('linalloc');
    const loud = x.shout(s) >>> 0;
    assert.equal(heap.readString(loud), 'LINALLOC');
    const bill = x.owes(s, 12.5) >>> 0;
    assert.equal(heap.readString(bill), 'linalloc owes 12.50');
    heap.free(loud); // strdup's block: linalloc's
    heap.free(bill); // asprintf's block
    heap.free(s);
    assert.equal(heap.stats().liveAllocations, base);
    assert.equal(x.print_and_free(heap.writeString('printed by C, freed by C')), 25);
    assert.equal(heap.stats().liveAllocations, base, 'C freed the JS block');
    assert.equal(heap.stats().invalidFrees, 0);
    assert.equal(output().toString(), 'printed by C, freed by C\n');
  });

  test('without options.wasi, the WASI imports are named with what to pass', async () => {
    await assert.rejects(linkModules({ app: OUT + 'inventory.wasm' }), (e) => e instanceof LinkError && e.code === 'MISSING_IMPORT' && /wasi_snapshot_preview1\.fd_write/.test(e.message) && /options\.wasi/.test(e.message) && /node:wasi/.test(e.message));
  });

  test('options.wasi: one WASI instance serves one module; a map names them; anything else is a TypeError', async () => {
    const a = wasiFor('a');
    const b = wasiFor('b');
    await assert.rejects(linkModules({ a: OUT + 'greet.wasm', b: OUT + 'greet.wasm' }, { wasi: a.wasi }), (e) => e instanceof TypeError && /one WASI instance/.test(e.message) && /a: new WASI/.test(e.message));
    await assert.rejects(linkModules({ a: OUT + 'greet.wasm' }, { wasi: 42 }), (e) => e instanceof TypeError && /options\.wasi must be a WASI instance/.test(e.message));
    await assert.rejects(linkModules({ a: OUT + 'greet.wasm' }, { wasi: { c: a.wasi } }), (e) => e instanceof TypeError && /names no module/.test(e.message));
    a.output();
    b.output();
  });
});

describe('two allocators on one memory are refused', { skip }, () => {
  test('wasi-libc\'s own dlmalloc (no linalloc-libc.o): OWN_ALLOCATOR, naming the module and the fix', async () => {
    const own = OUT + 'inventory-own.wasm';
    assert.ok(memoryGrowth(readFileSync(own)).grows.has(0), 'the fixture carries sbrk');
    const { wasi, output } = wasiFor('own');
    await assert.rejects(linkModules({ app: own }, { wasi }), (e) => {
      assert.ok(e instanceof LinkError, e.message);
      assert.equal(e.code, 'OWN_ALLOCATOR');
      assert.equal(e.module, 'app');
      assert.match(e.message, /^app brings an allocator of its own/);
      assert.match(e.message, /memory\.grow/);
      assert.match(e.message, /linalloc-libc\.o/);
      assert.match(e.message, /-Wl,--import-memory/);
      return true;
    });
    output();
  });

  test('a memory of its own (no --import-memory) with linalloc\'s malloc: OWN_MEMORY', async () => {
    const { wasi, output } = wasiFor('own-memory');
    await assert.rejects(linkModules({ app: OUT + 'inventory-own-memory.wasm' }, { wasi }), (e) => e instanceof LinkError && e.code === 'OWN_MEMORY' && /--import-memory/.test(e.message) && e.module === 'app');
    output();
  });
});

describe('two allocators on one memory are refused (hand-made modules)', () => {
  // A module importing env.memory, exporting function `malloc` (i32)->i32:
  // its own (a body returning 0), or linalloc's passed on (the import re-exported).
  const name = (s) => [s.length, ...new TextEncoder().encode(s)];
  const section = (id, body) => [id, body.length, ...body];
  function module({ ownMalloc, body = [0x41, 0x00, 0x0b] }) {
    const types = section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]);
    const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]];
    if (!ownMalloc) imports.push([...name('env'), ...name('malloc'), 0x00, 0x00]);
    const imp = section(2, [imports.length, ...imports.flat()]);
    const funcs = ownMalloc ? section(3, [1, 0]) : [];
    const exp = section(7, [1, ...name('malloc'), 0x00, 0x00]);
    const code = ownMalloc ? section(10, [1, body.length + 1, 0, ...body]) : [];
    return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imp, ...funcs, ...exp, ...code]);
  }

  test('a module that defines and exports malloc is refused; one passing linalloc\'s malloc on is linked', async () => {
    await assert.rejects(linkModules({ mine: module({ ownMalloc: true }) }), (e) => e instanceof LinkError && e.code === 'OWN_ALLOCATOR' && e.module === 'mine' && /defines and exports malloc/.test(e.message) && e.growsMemory === false);
    const { instances, heap } = await linkModules({ passOn: module({ ownMalloc: false }) });
    const live = heap.stats().liveAllocations;
    const p = instances.passOn.exports.malloc(10) >>> 0;
    assert.ok(p !== 0 && heap.stats().liveAllocations === live + 1, 'its malloc is linalloc\'s');
    heap.free(p);
  });

  test('memory.grow in the code is found by decoding, not by a byte scan', async () => {
    // block (empty) unreachable end: the bytes 0x40 0x00 without a memory.grow
    const noGrow = [0x02, 0x40, 0x00, 0x0b, 0x41, 0x00, 0x0b];
    const grow = [0x41, 0x01, 0x40, 0x00, 0x0b];
    assert.deepEqual([...memoryGrowth(module({ ownMalloc: true, body: noGrow })).grows], []);
    assert.deepEqual([...memoryGrowth(module({ ownMalloc: true, body: grow })).grows], [0]);
    for (const f of Object.values(WITH_CHECKED)) {
      const { grows, complete } = memoryGrowth(readFileSync(DIST + f));
      assert.ok(grows.has(0) && complete, `${f}: an allocator grows its memory, and every instruction was read`);
    }
    for (const f of ['strtab.wasm', 'strtab-pic.wasm', 'rust-client.wasm']) {
      const { grows, complete } = memoryGrowth(readFileSync(ROOT + 'examples/link/' + f));
      assert.ok(grows.size === 0 && complete, f);
    }
  });
});
