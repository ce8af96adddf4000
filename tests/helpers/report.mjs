// Reliability figures produced by the test suites: each suite records what
// it ran into test-output/reliability/<name>.json (untracked);
// scripts/reliability.mjs (`make report`, `make fuzz`) merges them into
// docs/RELIABILITY.md; its FIGURES table says which name feeds which line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../test-output/reliability/', import.meta.url));

/** Records `figures` (plain JSON) under `name`. */
export function report(name, figures) {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}${name}.json`, JSON.stringify({ ...figures, date: new Date().toISOString() }, null, 2));
}
