// The ID/X/Y record demo in Node, on the raw exports of the drop-in file:
// create records in wasm memory, read them back, free them, show the stats.
import { readFileSync } from 'node:fs';

const url = new URL('../../dist/linalloc.wasm', import.meta.url);
const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
const { instance } = await WebAssembly.instantiate(readFileSync(url), { env: { memory } });
const x = instance.exports;

const points = [[1, 0.5, 2.25], [2, -3, 4.75], [3, 10.125, -1], [42, Math.PI, Math.E]];
const ptrs = points.map(([id, px, py]) => x.createRecord(id, px, py) >>> 0);

const dv = new DataView(memory.buffer); // fresh: taken after the last allocation
console.log('ptr        id    x            y');
for (const p of ptrs) {
  const row = [dv.getUint32(p, true), dv.getFloat64(p + 8, true), dv.getFloat64(p + 16, true)];
  console.log(`${String(p).padEnd(10)} ${String(row[0]).padEnd(5)} ${String(row[1]).padEnd(12)} ${row[2]}`);
}
const stats = () => `live=${x.stats_live_allocations()} inUse=${x.stats_in_use_bytes()}B heap=${x.stats_heap_bytes()}B memory=${memory.buffer.byteLength}B`;
console.log('stats:', stats());
ptrs.forEach((p) => x.deleteRecord(p));
console.log('after deleteRecord:', stats());
