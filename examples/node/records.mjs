// The ID/X/Y record demo in Node, through the loader: records live in wasm
// memory; the table below is read back from it. `make demo` runs this.
import { load } from '../../js/linalloc.js';

const heap = await load();
const records = [
  heap.createRecord(1, 0.5, 2.25),
  heap.createRecord(2, -3, 4.75),
  heap.createRecord(3, 10.125, -1),
  heap.createRecord(42, Math.PI, Math.E),
];
records[1].x += 1; // fields are read and written in place

console.table(records.map((r) => r.toJSON()));

// Memory growth does not invalidate records: force the heap to grow.
const filler = heap.malloc(8 << 20);
console.log(`after a growth to ${heap.stats().pages} pages, record 42 still reads`, records[3].toJSON());
heap.free(filler);

const s = heap.stats();
console.log(`stats: ${s.liveAllocations} live blocks, ${s.inUseBytes} bytes in use (peak ${s.peakInUseBytes}), heap ${s.heapBytes} bytes, memory ${s.pages} pages`);
records.forEach((r) => r.free());
console.log(`after free(): ${heap.stats().liveAllocations} live blocks, ${heap.stats().inUseBytes} bytes in use`);

console.log(`
The same demo in a browser:  make serve   then open the printed URLs
  examples/plain/    the drop-in file with 30 lines of hand-written JS, no loader
  examples/records/  the records app on the loader (form, table, plot, heap map)`);
