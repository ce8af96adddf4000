// Checks a built drop-in module: it compiles, imports exactly env.memory with
// a minimum of at most 2 pages and no maximum (the threads build: shared, up
// to 65536 pages), exports the whole ABI with the
// right signatures, and keeps its data segments below the heap floor (so no
// build's instantiation writes over another build's running heap).
// Usage: node scripts/check-wasm.mjs file.wasm...
import { readFileSync } from 'node:fs';
import { ABI, ABI_EXPORTS, HEAP_FLOOR, exportSignature, moduleLayout } from '../js/wasm-info.js';

let bad = 0;
for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  const problems = [];
  let mod;
  try {
    mod = new WebAssembly.Module(bytes);
  } catch (e) {
    problems.push(`does not compile: ${e.message}`);
  }
  if (mod) {
    const imports = WebAssembly.Module.imports(mod);
    if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory' || imports[0].kind !== 'memory') {
      problems.push(`imports must be exactly env.memory, found ${JSON.stringify(imports)}`);
    }
    const layout = moduleLayout(bytes);
    const lim = layout.memory;
    // the threads build imports a shared memory, which must declare a maximum (4 GiB)
    if (lim?.shared ? lim.initial > 2 || lim.maximum !== 65536 : !lim || lim.initial > 2 || lim.maximum !== undefined) {
      problems.push(`memory import limits must be initial <= 2 and no maximum (shared: maximum 65536); found ${JSON.stringify(lim)}`);
    }
    const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
    const missing = ABI_EXPORTS.filter((n) => !exported.has(n));
    if (missing.length) problems.push(`missing exports: ${missing.join(', ')}`);
    for (const n of ABI_EXPORTS.filter((x) => exported.has(x))) {
      const sig = exportSignature(layout, n);
      if (sig !== ABI[n]) problems.push(`export ${n} has signature ${sig}, js/wasm-info.js says ${ABI[n]}`);
    }
    for (const d of layout.data) {
      if (d.offset === undefined || d.offset + d.size > HEAP_FLOOR) problems.push(`data segment at ${d.offset} (${d.size} bytes) reaches above the heap floor ${HEAP_FLOOR}`);
    }
    for (const b of [...bytes.toString('latin1').matchAll(/\/(root|home|Users)\/[\x21-\x7e]{3,}/g)]) problems.push(`contains a machine path: ${b[0]}`);
  }
  for (const p of problems) console.error(`${file}: ${p}`);
  bad += problems.length;
}
process.exit(bad ? 1 : 0);
