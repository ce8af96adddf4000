// Prints a size table (raw, gzip -9, brotli bytes) of the given .wasm files.
// Usage: node scripts/size.mjs dist/*.wasm [--json]
import { readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rows = files.map((file) => {
  const b = readFileSync(file);
  return {
    file,
    raw: b.length,
    gzip: gzipSync(b, { level: 9 }).length,
    brotli: brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
});
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log('| file | raw bytes | gzip -9 bytes | brotli bytes |\n|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.file} | ${r.raw} | ${r.gzip} | ${r.brotli} |`);
}
