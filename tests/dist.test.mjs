// The committed drop-in files (dist/) and example modules are what a fresh
// build makes: `make test` builds everything under build/ and this test
// compares, byte for byte. When it fails, run `make dist` and commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RELEASED = [
  ...readdirSync(ROOT + 'dist').filter((f) => f.endsWith('.wasm')).map((f) => `dist/${f}`),
  ...readdirSync(ROOT + 'examples/link').filter((f) => f.endsWith('.wasm')).map((f) => `examples/link/${f}`),
];

test('the committed dist/ and example modules are the fresh build (else: make dist)', () => {
  assert.ok(RELEASED.length >= 8, `committed modules: ${RELEASED.join(', ')}`);
  const stale = [];
  for (const f of RELEASED) {
    const built = `${ROOT}build/${f}`;
    assert.ok(existsSync(built), `build/${f} is missing: run make build examples (make test does)`);
    if (!readFileSync(built).equals(readFileSync(ROOT + f))) stale.push(f);
  }
  assert.deepEqual(stale, [], `stale: ${stale.join(', ')}; run make dist and commit the result`);
});
