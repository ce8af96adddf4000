// What linkModules refuses before laying anything out: a client that brings
// an allocator of its own (two heaps on one memory hand out the same bytes
// twice, silently), and a client that uses linalloc's functions but keeps a
// memory of its own (its pointers and the heap's would never meet).

import { LinkError } from './errors.js';
import { memoryGrowth } from './wasm-code.js';

/** The allocation functions a client imports when linalloc is its allocator. */
const ALLOC_FUNCTIONS = ['malloc', 'free', 'calloc', 'realloc', 'aligned_alloc', 'alloc', 'dealloc'];

/** C's allocation entry points: a client exporting one it does not import defines it itself. */
const C_ALLOCATOR = ['malloc', 'free', 'calloc', 'realloc'];

const HOW_TO_IMPORT =
  'Build it so that it imports malloc instead: a C program with a C library links build/libc/linalloc-libc.o (make libc) and -Wl,--import-memory ' +
  '(clang --target=wasm32-wasi -O2 app.c build/libc/linalloc-libc.o -Wl,--import-memory,--global-base=65536 -o app.wasm); ' +
  'C without a C library uses -nostdlib -Wl,--allow-undefined; a Rust cdylib has a #[global_allocator] over env.malloc/free (examples/link/rust-client). See docs/LINKING.md.';

/** What client `c` shows about its memory and allocator, read from its imports, exports and code. */
function allocatorFacts(plan, c) {
  const fromAllocator = (i) => i.kind === 'function' && (i.module === 'env' || i.module === plan.allocName);
  const imported = new Set(c.imports.filter(fromAllocator).map((i) => i.name));
  const exported = WebAssembly.Module.exports(c.module);
  const importsMemory = c.imports.some((i) => i.kind === 'memory');
  return {
    usesLinalloc: ALLOC_FUNCTIONS.some((n) => imported.has(n)),
    ownMemory: !importsMemory && exported.some((e) => e.kind === 'memory'),
    // its own malloc: an exported allocation function that is not linalloc's, passed on
    defines: C_ALLOCATOR.filter((n) => exported.some((e) => e.name === n && e.kind === 'function') && !imported.has(n)),
    // memory 0 is the shared memory when imported, else the module's own
    grows: c.bytes ? memoryGrowth(c.bytes).grows.has(0) : false,
  };
}

/** The OWN_ALLOCATOR LinkError for client `c` with facts `f`. */
function ownAllocator(c, f) {
  const signs = [];
  if (f.defines.length) signs.push(`it defines and exports ${f.defines.join('/')}`);
  if (f.grows) signs.push(`its code executes memory.grow on ${f.ownMemory ? 'its own memory' : 'the shared memory'} (an allocator's sbrk, e.g. wasi-libc's dlmalloc or zig's)`);
  const memory = f.ownMemory ? ' It also has a memory of its own (it exports one and imports none): link it with -Wl,--import-memory.' : '';
  return new LinkError(
    `${c.name} brings an allocator of its own: ${signs.join(', and ')}. Two allocators on one memory hand out the same bytes twice, so linalloc refuses to link it.${memory} ${HOW_TO_IMPORT}`,
    'OWN_ALLOCATOR',
    { module: c.name, defines: f.defines, growsMemory: f.grows },
  );
}

/**
 * A LinkError for the first client of `plan` that brings its own allocator
 * (OWN_ALLOCATOR) or calls linalloc on a memory of its own (OWN_MEMORY).
 */
export function refuseForeignHeaps(plan) {
  for (const c of plan.clients) {
    const f = allocatorFacts(plan, c);
    if (f.defines.length || f.grows) throw ownAllocator(c, f);
    if (f.ownMemory && f.usesLinalloc) {
      throw new LinkError(
        `${c.name} calls linalloc's ${ALLOC_FUNCTIONS.filter((n) => c.imports.some((i) => i.name === n)).join('/')} but has a memory of its own (it exports one and imports none), so the blocks it gets are addresses in another memory. Link it with -Wl,--import-memory (wasm-ld --import-memory), so that it imports env.memory.`,
        'OWN_MEMORY',
        { module: c.name },
      );
    }
  }
}
