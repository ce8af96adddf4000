// A fixed slice of differential fuzzing for every backend and the checked
// build (long runs: `make fuzz SECONDS=N`), plus determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from './helpers/fuzz.mjs';
import { BACKENDS } from './helpers/support.mjs';
import { report } from './helpers/report.mjs';

const OPS = Number(process.env.FUZZ_OPS ?? 1_000_000);
const SEED = Number(process.env.SEED ?? 0x5eed);
const done = {};

for (const file of [...Object.values(BACKENDS), 'linalloc-checked.wasm']) {
  test(`${file}: ${OPS} fuzzed operations against the shadow model (seed ${SEED})`, () => {
    const r = fuzz({ file, seed: SEED, ops: OPS });
    assert.equal(r.ops, OPS);
    done[file] = r.ops;
  });
}

test('the same seed gives the same pointers and the same final stats', () => {
  for (const file of Object.values(BACKENDS)) {
    const a = fuzz({ file, seed: 99, ops: 20_000 });
    const b = fuzz({ file, seed: 99, ops: 20_000 });
    assert.deepEqual(a.pointers, b.pointers, file);
    assert.deepEqual(a.stats, b.stats, file);
    assert.ok(a.pointers.length === 64);
  }
  report('fuzz', { seed: SEED, operationsPerTarget: done });
});
