// Tracking for a Heap loaded with { track: true }: the live blocks allocated
// through it with their allocation sites, and (checked build) the sites of
// recent frees, so a double free can say where the block came from.

import { userStack } from './errors.js';

/** Frees remembered for the checked build's double-free messages. */
const FREED_SITES = 4096;

/** Live blocks `ptr -> { size, site }` of one Heap, and recently freed ones. */
export class Tracker {
  /** @param {boolean} checked remember recent frees (the checked build reports double frees) */
  constructor(checked) {
    this.checked = checked;
    this.live = new Map(); // ptr -> { size, site: Error }
    this.freed = null; // checked: recently freed ptr -> { size, site }
  }

  /** Remembers block `ptr` of `size` bytes, allocated here. */
  add(ptr, size) {
    // V8 and SpiderMonkey capture frames here but format `.stack` lazily.
    this.live.set(ptr, { size, site: new Error('allocated here') });
  }

  /** Forgets block `ptr` (freed); the checked build keeps its site a while. */
  forget(ptr) {
    const b = this.live.get(ptr);
    if (b === undefined) return;
    this.live.delete(ptr);
    if (this.checked) {
      this.freed ??= new Map();
      this.freed.set(ptr, b);
      if (this.freed.size > FREED_SITES) this.freed.delete(this.freed.keys().next().value);
    }
  }

  /** The tracked `{ size, site }` of a live or recently freed block `ptr`, or undefined. */
  siteOf(ptr) {
    return this.live.get(ptr) ?? this.freed?.get(ptr);
  }

  /** Live blocks `[{ ptr, size, stack }]`, by address. */
  blocks() {
    return [...this.live].map(([ptr, b]) => ({ ptr, size: b.size, get stack() { return userStack(b.site); } })).sort((a, b) => a.ptr - b.ptr);
  }
}
