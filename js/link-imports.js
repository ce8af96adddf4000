// Resolving a linked client's imports: where each one comes from (the user's
// imports, the allocator, another client), and the check, before anything is
// instantiated, that every import of every client has a provider.

import { LinkError } from './errors.js';
import { isWasiImport, wasiFunction } from './link-wasi.js';

/** Globals a side module (PIC) gets from the linker itself. */
const PIC_GLOBALS = new Set(['__memory_base', '__table_base', '__stack_pointer']);

/**
 * True when `imp` of side module `c` is a weak undefined symbol (dylink.0):
 * with no provider it binds to null (a 0 address, the null table slot).
 */
export function isWeak(c, imp) {
  const module = imp.module === 'GOT.func' || imp.module === 'GOT.mem' ? 'env' : imp.module;
  return c.pic && c.layout.weakImports.has(`${module}.${imp.name}`);
}

/**
 * Where import `imp` of client `c` comes from, in order: `options.imports`
 * (`{ user }`), the WASI instance serving `c` (`{ user }`, for
 * wasi_snapshot_preview1), the allocator's exports for module `env` or the allocator's
 * name (`{ alloc: name }`), the client named by the import's module, or for
 * `env` any other client exporting it (`{ provider }`); null when none.
 */
export function resolveImport(plan, c, imp) {
  const { existing, allocator } = plan;
  const user = plan.userImports[imp.module]?.[imp.name];
  if (user !== undefined) return { user };
  const wasi = wasiFunction(plan, c, imp);
  if (wasi !== undefined) return { user: wasi };
  if ((imp.module === 'env' || imp.module === plan.allocName) && (existing || allocator?.exportNames.has(imp.name))) {
    if (existing ? typeof existing.exports[imp.name] === 'function' : true) return { alloc: imp.name };
  }
  const named = plan.byName.get(imp.module);
  if (named && named !== allocator && named.exportNames.has(imp.name)) return { provider: named };
  if (imp.module === 'env') {
    const p = plan.clients.find((o) => o !== c && o.exportNames.has(imp.name));
    if (p) return { provider: p };
  }
  return null;
}

/** What client `c` lacks for import `imp`, or null when it resolves (or the linker provides it, or it is weak). */
function unresolved(plan, c, imp) {
  if (imp.kind === 'memory' || (imp.kind === 'table' && imp.name === '__indirect_function_table')) return null;
  if (isWeak(c, imp)) return null;
  if (imp.kind === 'global' && c.pic && (PIC_GLOBALS.has(imp.name) || imp.module === 'GOT.mem' || imp.module === 'GOT.func')) {
    if (imp.module === 'GOT.func' && !resolveImport(plan, c, { module: 'env', name: imp.name })) return `${c.name}: ${imp.module}.${imp.name} (global; no module exports a function ${imp.name})`;
    return null;
  }
  return resolveImport(plan, c, imp) ? null : `${c.name}: ${imp.module}.${imp.name} (${imp.kind})`;
}

/** A LinkError naming every import of the plan's clients that nothing provides. */
export function checkLinkImports(plan) {
  const missing = [];
  for (const c of plan.clients) {
    for (const imp of c.imports) {
      const lack = unresolved(plan, c, imp);
      if (lack !== null) missing.push(lack);
    }
  }
  if (!missing.length) return;
  const allocNames = plan.allocator ? plan.allocator.exportNames : Object.keys(plan.existing.exports);
  const available = [...allocNames.values()].map((n) => `${plan.allocName}.${n}`);
  for (const c of plan.clients) for (const n of c.exportNames) available.push(`${c.name}.${n}`);
  const wasi = plan.clients.some((c) => !plan.wasi?.has(c.name) && c.imports.some(isWasiImport))
    ? " For wasi_snapshot_preview1, pass a WASI instance as options.wasi (Node: new (await import('node:wasi')).WASI({ version: 'preview1', returnOnExit: true }); browsers: @bjorn3/browser_wasi_shim)."
    : '';
  throw new LinkError(
    `${missing.length} import${missing.length > 1 ? 's are' : ' is'} not provided by any module or options.imports: ${missing.join('; ')}. ` +
      `Available: ${available.join(', ')}. Pass JS functions in options.imports, e.g. { imports: { env: { name: (...) => ... } } }.${wasi}`,
    'MISSING_IMPORT',
    { missing },
  );
}
