// Writes the figures the reliability suites recorded (test-output/reliability/)
// into the README's "Reliability" section. Run by `make test` and `make fuzz`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = ROOT + 'test-output/reliability/';
const read = (n) => (existsSync(`${DIR}${n}.json`) ? JSON.parse(readFileSync(`${DIR}${n}.json`, 'utf8')) : null);
const fuzz = read('fuzz');
const long = read('fuzz-long');
const checked = read('checked');
const rel = read('reliability');
if (!fuzz || !checked || !rel) {
  console.log('reliability: figures missing (run make test); README left as is');
  process.exit(0);
}
const lines = [];
lines.push(`Figures from the last \`make test\` (${fuzz.date.slice(0, 10)}):`);
lines.push('');
lines.push(`- **Differential fuzzing** (seed ${fuzz.seed}): ${Object.entries(fuzz.operationsPerTarget).map(([f, n]) => `${n.toLocaleString('en')} operations on \`${f}\``).join(', ')}; no discrepancy with the shadow model; the same seed gives the same pointers and stats.`);
if (long) lines.push(`- **Long fuzzing** (\`make fuzz SECONDS=${long.seconds}\`, ${long.date.slice(0, 10)}): ${Object.entries(long.operations).map(([f, n]) => `${n.toLocaleString('en')} on \`${f}\``).join(', ')}.`);
lines.push(`- **Misuse caught**: ${checked.total} cases provoked for real: ${Object.entries(checked.caught).map(([k, n]) => `${k} ×${n}`).join('; ')}.`);
lines.push(`- **Out of memory**: ${rel.oom.length} scenarios (every backend and the checked build at maxima of ${[...new Set(rel.oom.map((o) => o.maximum))].join(', ')} pages): \`malloc\` returns 0 and is counted, \`realloc\` failure leaves the block intact, \`calloc(0x10000, 0x10000)\` and \`malloc(0xFFFFFFF8)\` return 0. Freed space fits the same sizes again: ${rel.oom.map((o) => `${o.backend}@${o.maximum}: ${o.refitted}/${o.blocks}`).join(', ')}.`);
lines.push(`- **The whole 4 GiB**: ${rel.fourGiB.map((f) => `${f.backend}: ${f.blocks} blocks up to 0x${f.topAddress.toString(16)}, a record at 0x${f.recordAt.toString(16)}`).join('; ')}.`);
lines.push(`- **Hostile input to the loader**: ${rel.hostile.cases} random, truncated and bit-flipped modules: ${Object.entries(rel.hostile.outcomes).map(([k, n]) => `${k} ${n}`).join(', ')}; never an uncaught engine error from \`load()\`. API misuse: ${rel.misuse} kinds of bad arguments, each a TypeError/RangeError with nothing allocated or freed.`);

const readme = ROOT + 'README.md';
let text = readFileSync(readme, 'utf8');
const re = /(<!-- reliability -->)[\s\S]*?(<!-- \/reliability -->)/;
if (!re.test(text)) throw new Error('README has no <!-- reliability --> markers');
text = text.replace(re, (_, a, b) => `${a}\n${lines.join('\n')}\n${b}`);
writeFileSync(readme, text);
console.log('reliability: README updated from test-output/reliability/');
