// The checked build's side of a Heap: recognising the build, turning its
// fault traps into named errors, and decoding the fault it recorded.

import { CHECKED_EXPORTS } from './abi.js';
import { faultError } from './errors.js';
import { INTERNAL } from './internal.js';

/** True when `exports` are the checked build's (it has every CHECKED_EXPORTS function). */
export function isCheckedBuild(exports) {
  return CHECKED_EXPORTS.every((n) => typeof exports[n] === 'function');
}

/**
 * The error for the fault the checked module `raw` (its unwrapped exports)
 * recorded last, which this clears; `siteOf(ptr)` finds the block's tracked
 * allocation `{ size, site }`, if any, `tracking` says whether it could.
 * Null when no known fault is recorded.
 */
export function takeFault(raw, siteOf, tracking) {
  const code = raw.checked_error_code();
  const ptr = raw.checked_error_ptr() >>> 0;
  let size = raw.checked_error_size() >>> 0;
  const at = raw.checked_error_at() >>> 0;
  raw.checked_error_clear();
  const site = siteOf(ptr);
  if (!size && site) size = site.size;
  return faultError(code, { ptr, size, at, site, tracking });
}

/**
 * The checked build's exports, each turning the module's fault trap into the
 * matching LinallocError from `heap` (raw calls through `heap.exports` get
 * them too).
 */
export function checkedExports(raw, heap) {
  const out = {};
  for (const [name, v] of Object.entries(raw)) {
    if (typeof v !== 'function' || name.startsWith('checked_error_')) {
      out[name] = v;
      continue;
    }
    out[name] = (...args) => {
      try {
        return v(...args);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) {
          const error = heap[INTERNAL].fault();
          if (error) throw error;
        }
        throw e;
      }
    };
  }
  return Object.freeze(out);
}
