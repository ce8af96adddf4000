// Memory per block of the default build: a 24-byte record takes 32 bytes of
// heap (8-byte tag + 24), measured as the memory the heap needs for 100 000
// records, and freeing them all lets the same records fit again without growing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantiate } from './helpers/support.mjs';

test('default build: 100 000 records take at most 32 bytes each, and fit again after freeing', () => {
  const h = instantiate('linalloc.wasm', { initial: 1, maximum: 65536 });
  const first = h.x.createRecord(0, 0, 0) >>> 0;
  const before = h.x.stats_heap_bytes() >>> 0;
  const used0 = h.memory.buffer.byteLength;
  const ptrs = [first];
  for (let i = 1; i < 100_000; i++) {
    const p = h.x.createRecord(i, i / 2, i * 2) >>> 0;
    assert.notEqual(p, 0);
    ptrs.push(p);
  }
  const grown = h.memory.buffer.byteLength - used0;
  const perRecord = grown / (ptrs.length - 1);
  assert.ok(perRecord <= 32.5, `${perRecord.toFixed(2)} bytes of memory per record`);
  // the records are 32 bytes apart when allocated in a row
  const sorted = [...ptrs].sort((a, b) => a - b);
  let minGap = Infinity;
  for (let i = 1; i < sorted.length; i++) minGap = Math.min(minGap, sorted[i] - sorted[i - 1]);
  assert.equal(minGap, 32);
  assert.equal(h.x.stats_in_use_bytes() >>> 0, 24 * 100_000);
  assert.ok((h.x.stats_heap_bytes() >>> 0) >= before);
  for (const p of ptrs) h.x.deleteRecord(p);
  const size = h.memory.buffer.byteLength;
  for (let i = 0; i < 100_000; i++) assert.notEqual(h.x.createRecord(i, 0, 0), 0);
  assert.equal(h.memory.buffer.byteLength, size, 'the freed records were reused, the memory did not grow');
});
