// Runtime linking in Node: linalloc.wasm plus client modules that need
// malloc/free, fetched/read in parallel and linked into one memory.
import { linkModules } from '../../js/linalloc.js';

const here = (f) => new URL(f, import.meta.url);
const { heap, instances, regions } = await linkModules({
  strtab: here('strtab.wasm'), // C, fixed layout (--global-base=65536)
  strtabPic: here('strtab-pic.wasm'), // C, position-independent side module
  rust: here('rust-client.wasm'), // Rust no_std, Vec/String in linalloc's heap
});

console.log('static regions:');
for (const r of regions) console.log(`  ${r.module.padEnd(10)} [0x${r.start.toString(16)}, 0x${r.end.toString(16)})${r.sideModule ? '  (data block allocated by linalloc)' : ''}`);

const c = instances.strtab.exports;
const table = c.st_new(64);
const words = 'the quick brown fox jumps over the lazy dog the end'.split(' ');
const ids = words.map((w) => {
  const p = heap.writeString(w);
  const id = c.st_intern(table, p);
  heap.free(p);
  return id;
});
console.log(`\nC strtab: ${words.length} words -> ids ${ids.join(' ')} (${c.st_count(table)} distinct)`);
console.log(`  heap after interning: ${heap.stats().liveAllocations} live blocks, ${heap.stats().inUseBytes} bytes (allocated by the C code)`);

const r = instances.rust.exports;
const text = heap.writeString(words.join(' '));
const sorted = r.sorted_words(text, words.join(' ').length);
console.log(`Rust sorted_words: ${heap.readString(sorted)}`);
heap.free(sorted);
heap.free(text);

c.st_free(table);
console.log(`after st_free: ${heap.stats().liveAllocations} live blocks (the side module's data block and stack), ${heap.stats().totalAllocations} allocations in total`);
