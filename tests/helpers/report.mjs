// Reliability figures produced by the test suites: each suite records what
// it ran into test-output/reliability/<name>.json; scripts/reliability.mjs
// writes them into the README's "Reliability" section.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../test-output/reliability/', import.meta.url));

/** Records `figures` (plain JSON) under `name`. */
export function report(name, figures) {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}${name}.json`, JSON.stringify({ ...figures, date: new Date().toISOString() }, null, 2));
}
