// Type-checks typical loader use against js/linalloc.d.ts (tests/types.test.mjs).
import { load, linkModules, Heap, DoubleFreeError } from '../../js/linalloc.js';
async function main() {
  const heap: Heap = await load(undefined, { checked: true, track: true });
  const p: number = heap.malloc(10);
  const r = heap.createRecord(1, 2, 3); r.x += 1;
  const { instances, regions } = await linkModules({ app: 'app.wasm' }, { heap });
  try { heap.free(p); } catch (e) { if (e instanceof DoubleFreeError) console.log(e.ptr, e.allocationStack); }
  console.log(heap.stats().invalidFrees, instances.app, regions[0].start, heap.readArray(Float64Array, p, 1));
}
main();
