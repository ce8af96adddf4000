// Writes the figures of bench/results.json into README.md between markers,
// so the README shows what `make bench` measured, never typed-in numbers.
// Usage: node bench/readme.mjs [results.json] [README.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TRACES } from './harness.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const r = JSON.parse(readFileSync(process.argv[2] ?? ROOT + 'bench/results.json', 'utf8'));
const readmePath = process.argv[3] ?? ROOT + 'README.md';

const sizes = [
  '| module | backend | raw bytes | gzip -9 bytes | brotli bytes |',
  '|---|---|---:|---:|---:|',
  ...r.backends.map((b) => `| \`${b.file}\` | ${b.name} (${b.kind}) | ${b.size.raw} | ${b.size.gzip} | ${b.size.brotli} |`),
  `| \`${r.noAllocator.file}\` | none: the ABI over an allocator that always fails (fixed cost) | ${r.noAllocator.size.raw} | ${r.noAllocator.size.gzip} | ${r.noAllocator.size.brotli} |`,
].join('\n');

const cell = (m) => (m.skipped ? 'skipped' : m.trapped ? 'trapped' : `${m.nsPerCall.toFixed(1)} ns (**${m.ratioToDlmalloc.toFixed(2)}×**)${m.failures ? ' OOM' : ''}`);
const speed = [
  `| backend | ${TRACES.join(' | ')} |`,
  `|---|${TRACES.map(() => '---:').join('|')}|`,
  ...r.backends.map((b) => `| ${b.name} | ${TRACES.map((t) => cell(b.traces[t])).join(' | ')} |`),
].join('\n');

const eff = [
  `| backend | ${TRACES.join(' | ')} |`,
  `|---|${TRACES.map(() => '---:').join('|')}|`,
  ...r.backends.map((b) => `| ${b.name} | ${TRACES.map((t) => (b.traces[t].skipped ? 'skipped' : b.traces[t].trapped ? 'trapped' : `${b.traces[t].efficiency.toFixed(2)} (${b.traces[t].pagesAtEnd} pages)`)).join(' | ')} |`),
].join('\n');

const jb = r.jsBoundary;
const boundary = [
  `| what (${jb.calls} calls / ${jb.records} records) | time | ratio |`,
  '|---|---:|---:|',
  `| \`heap.malloc\` + \`heap.free\` through the loader | ${jb.nsPerPair.loader.toFixed(1)} ns | **${jb.loaderOverRaw.toFixed(2)}×** raw |`,
  `| \`malloc\` + \`free\` raw exports | ${jb.nsPerPair.raw.toFixed(1)} ns | ${jb.rawOverTrivial.toFixed(2)}× two trivial export calls |`,
  `| two trivial export calls (\`stats_live_allocations\`) | ${jb.nsPerPair.trivialExportPair.toFixed(1)} ns | |`,
  `| records through the loader (\`createRecord\`, read \`id\`/\`x\`/\`y\`, \`free\`) | ${jb.recordsMs.loader.toFixed(1)} ms | **${jb.recordsLoaderOverRaw.toFixed(2)}×** raw |`,
  `| records through raw exports + typed arrays | ${jb.recordsMs.rawExportsAndTypedArrays.toFixed(1)} ms | ${jb.recordsRawOverJs.toFixed(2)}× plain JS |`,
  `| plain JS objects \`{ id, x, y }\` | ${jb.recordsMs.plainJsObjects.toFixed(1)} ms | |`,
].join('\n');

const meta = `Measured by \`make bench\` on ${r.date.slice(0, 10)}: Node ${r.engine.node} (V8 ${r.engine.v8}), ${r.machine.cpu}, ${r.machine.cores} cores; median of ${r.runs} runs after a warm-up, each on a fresh instance; ops per trace: ${Object.entries(r.ops).map(([k, v]) => `${k} ${v}`).join(', ')}; checksums ${r.checksumsAgree ? 'agree across all backends' : 'DISAGREE'}.`;

let text = readFileSync(readmePath, 'utf8');
const put = (name, body) => {
  const re = new RegExp(`(<!-- ${name} -->)[\\s\\S]*?(<!-- /${name} -->)`);
  if (!re.test(text)) throw new Error(`README has no <!-- ${name} --> markers`);
  text = text.replace(re, (_, open, close) => `${open}\n${body}\n${close}`);
};
put('size-table', sizes);
put('bench-meta', meta);
put('bench-speed', speed);
put('bench-memory', eff);
put('bench-boundary', boundary);
writeFileSync(readmePath, text);
console.log(`updated ${readmePath.replace(ROOT, '')} from the bench results`);
