// Filling a heap until allocation fails: shared by the out-of-memory and
// whole-4-GiB suites.

/** Bytes in a WebAssembly page. */
export const PAGE = 65536;

/**
 * For each size in turn, allocates blocks of that size until `malloc` (an
 * unsigned pointer, 0 on failure) fails. Calls `each(p, size)` for every
 * block it gets and appends `[p, size]` to `blocks`, which it returns.
 */
export function fillUntilFull(malloc, sizes, each = () => {}, blocks = []) {
  for (const size of sizes) {
    for (let p; (p = malloc(size)) !== 0;) {
      each(p, size);
      blocks.push([p, size]);
    }
  }
  return blocks;
}
