// Fixed-layout clients as current linkers lay them out: stack first (LLD's
// LLD 22's default, zig cc's always), whose stack the loader moves, and
// the OVERLAP error's --global-base advice, followed until it links. Each
// case links examples/link/strtab.c with wasm-ld here (scripts/setup-clang.sh).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkModules, LinkError } from '../js/linalloc.js';
import { moduleLayout } from '../js/wasm-info.js';
import { stackFirst } from '../js/link-stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLANG = process.env.CLANG ?? 'clang';
const WASM_LD = process.env.WASM_LD ?? 'wasm-ld';
const hasClang = (() => {
  try {
    execFileSync(CLANG, ['--version']);
    execFileSync(WASM_LD, ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const skip = hasClang ? false : `needs ${CLANG} and ${WASM_LD}: scripts/setup-clang.sh (make setup-clang) installs them`;

let dir;
let object;
before(() => {
  if (!hasClang) return;
  dir = mkdtempSync(join(tmpdir(), 'linalloc-layout-'));
  object = join(dir, 'strtab.o');
  execFileSync(CLANG, ['--target=wasm32', '-mbulk-memory', '-O2', '-nostdlib', '-c', ROOT + 'examples/link/strtab.c', '-o', object]);
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

/** strtab.c linked with the Makefile's fixed-layout flags and `flags` (default stack 16 KiB); the module's bytes. */
function link(name, flags) {
  const out = join(dir, `${name}.wasm`);
  const stack = flags.some((f) => f.startsWith('stack-size=')) ? [] : ['-z', 'stack-size=16384'];
  execFileSync(WASM_LD, ['--no-entry', '--import-memory', '--allow-undefined', ...stack, ...flags, object, '-o', out]);
  return readFileSync(out);
}

/** LLD 22 places the stack first unless told not to; LLD 19 and older know no --no-stack-first. */
const dataFirst = () => (execFileSync(WASM_LD, ['--help']).toString().includes('--no-stack-first') ? ['--no-stack-first'] : []);

/** Interns and looks up a few strings through strtab client `x`. */
function exercise(heap, x) {
  const t = x.st_new(31) >>> 0;
  assert.notEqual(t, 0);
  const ids = ['alpha', 'beta', 'alpha', 'gamma'].map((w) => {
    const p = heap.writeString(w);
    const id = x.st_intern(t, p);
    heap.free(p);
    return id;
  });
  assert.equal(ids[0], ids[2]);
  assert.equal(heap.readString(x.st_lookup(t, ids[3]) >>> 0), 'gamma');
  const a = heap.writeString('usr');
  const b = heap.writeString('lib');
  assert.equal(heap.readString(x.st_lookup(t, x.st_intern_path(t, a, b)) >>> 0), 'usr/lib', 'the stack works');
  heap.free(a);
  heap.free(b);
  x.st_free(t);
}

describe('stack-first fixed-layout clients', { skip }, () => {
  test('the stack at [0, size) is moved above every static region; data stays where it was linked', async () => {
    // the data follows the stack (LLD before 19 ignores --global-base with --stack-first)
    const bytes = link('first', ['--stack-first', '-z', 'stack-size=65536']);
    const layout = moduleLayout(bytes);
    assert.deepEqual(stackFirst(layout), { size: 65536 }, 'wasm-ld put the stack first');
    const { heap, instances, regions } = await linkModules({ strtab: bytes });
    const mine = regions.filter((r) => r.module === 'strtab');
    assert.equal(mine.length, 2, 'data and the moved stack');
    const [data, stack] = mine;
    assert.equal(data.start, 65536);
    assert.ok(stack.stack && stack.start >= data.end && stack.end - stack.start === 65536, JSON.stringify(stack));
    exercise(heap, instances.strtab.exports);
    assert.ok(heap.heapStart >= stack.end, `the heap starts above the moved stack: ${heap.heapStart}`);
  });

  test('two stack-first clients get one stack each, above both modules\' data', async () => {
    const a = link('a', ['--stack-first', '-z', 'stack-size=65536']);
    const b = link('b', ['--stack-first', '-z', 'stack-size=131072']);
    const { heap, instances, regions } = await linkModules({ a, b });
    const stacks = regions.filter((r) => r.stack);
    assert.equal(stacks.length, 2);
    assert.ok(stacks[0].end <= stacks[1].start || stacks[1].end <= stacks[0].start, 'distinct stacks');
    for (const s of stacks) for (const r of regions.filter((x) => !x.stack && x.module !== 'linalloc')) assert.ok(s.start >= r.end, 'stacks above all data');
    exercise(heap, instances.a.exports);
    exercise(heap, instances.b.exports);
  });
});

describe('the OVERLAP advice converges', { skip }, () => {
  // where each layout's data starts: --global-base, or the stack's size when it comes first
  const at = {
    'data first': (base) => [...dataFirst(), `--global-base=${base}`],
    'stack first': (base) => ['--stack-first', '-z', `stack-size=${base}`],
  };
  for (const [layout, flags] of Object.entries(at)) {
    test(`${layout}: relinking as the OVERLAP error says links on the next try`, async () => {
      const a = link('a', flags(65536));
      let b = link('b', flags(65536));
      for (let attempt = 1; ; attempt++) {
        try {
          const { heap, instances } = await linkModules({ a, b });
          exercise(heap, instances.a.exports);
          exercise(heap, instances.b.exports);
          assert.equal(attempt, 2, 'one relink is enough');
          return;
        } catch (e) {
          assert.ok(e instanceof LinkError && e.code === 'OVERLAP', e.message);
          assert.ok(attempt < 2, `still overlapping after relinking at the advice: ${e.message}`);
          const advice = layout === 'stack first' ? `-z stack-size=${e.suggestedGlobalBase}` : `--global-base=${e.suggestedGlobalBase}`;
          assert.ok(e.message.includes(advice), `the error says ${advice}: ${e.message}`);
          b = link('b', flags(e.suggestedGlobalBase));
        }
      }
    });
  }
});
