// Smoke test of the benchmark harness (`make bench QUICK=1`): it runs every
// backend through the same driver binary and their checksums agree. No timing
// is asserted here; performance is reported by `make bench` only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('bench --quick runs every backend and trace; checksums agree', () => {
  mkdirSync(ROOT + 'test-output', { recursive: true });
  const out = ROOT + 'test-output/bench-quick.json';
  execFileSync(process.execPath, [ROOT + 'bench/run.mjs', '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.backends.map((b) => b.name), ['dlmalloc', 'lin', 'talc', 'bump', 'wee_alloc']);
  for (const t of ['random', 'small', 'batch', 'grow', 'records']) {
    const sums = new Set(r.backends.filter((b) => !b.traces[t].failures).map((b) => b.traces[t].checksum));
    assert.equal(sums.size, 1, `${t}: one checksum for all backends`);
    assert.ok(r.backends.find((b) => b.name === 'dlmalloc').traces[t].calls > 500, `${t} made calls`);
  }
  assert.ok(r.backends.every((b) => b.size.raw > 1000 && b.size.gzip < b.size.raw));
});

test('a peer allocator module is benchmarked side by side (ALLOCATORS=...)', () => {
  const out = ROOT + 'test-output/bench-peer.json';
  // Any module importing env.memory and exporting malloc/free/realloc is a
  // peer; a copy of the talc build stands in for a third-party one (the
  // registry peers of `make bench PEERS=1` need emscripten, not installed by make test).
  copyFileSync(ROOT + 'build/dist/linalloc-talc.wasm', ROOT + 'test-output/some-peer-speed.wasm');
  execFileSync(process.execPath, [ROOT + 'bench/run.mjs', '--quick', '--out', out, 'test-output/some-peer-speed.wasm'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const peer = r.backends.find((b) => b.kind === 'peer');
  assert.equal(peer.name, 'some-peer-speed');
  assert.equal(r.vsBestPeer.size.peer, 'some-peer-speed', 'the linalloc vs best peer summary names it');
  assert.ok(r.vsBestPeer.random.ratio > 0);
  assert.equal(peer.traces.random.checksum, r.backends[0].traces.random.checksum);
  assert.deepEqual(r.problems, []);
});
