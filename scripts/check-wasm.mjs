// Checks a built drop-in module: it compiles, imports exactly env.memory with
// a minimum of at most 2 pages and no maximum, and exports the whole ABI.
// Usage: node scripts/check-wasm.mjs file.wasm...
import { readFileSync } from 'node:fs';
import { memoryImportLimits, ABI_EXPORTS } from '../js/wasm-info.js';

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
    const lim = memoryImportLimits(bytes);
    if (!lim || lim.initial > 2 || lim.maximum !== undefined) {
      problems.push(`memory import limits must be initial <= 2, no maximum; found ${JSON.stringify(lim)}`);
    }
    const exported = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
    const missing = ABI_EXPORTS.filter((n) => !exported.has(n));
    if (missing.length) problems.push(`missing exports: ${missing.join(', ')}`);
  }
  for (const p of problems) console.error(`${file}: ${p}`);
  bad += problems.length;
}
process.exit(bad ? 1 : 0);
