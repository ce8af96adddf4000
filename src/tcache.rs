//! Per-thread caches of the threads build (feature `mt`): small blocks freed
//! by a thread are kept for that thread and handed out again to it without
//! the heap lock, so threads churning small blocks do not wait for each
//! other.
//!
//! Where a thread's cache lives: every instance runs on its own stack
//! (`js/threads.js`). The main instance's stack is the module's own, below
//! 16 KiB, and its cache sits at `MAIN`; a worker's stack is a block of the
//! heap aligned to its size (`STACK`), and its cache sits at the bottom of
//! that block, far below where the stack is used. So the address of any
//! local variable says which cache is this thread's.
//!
//! ```text
//!  cache: [ MAGIC | heads[33] | lens[33] | live, total, in_use deltas ]
//! ```
//!
//! Cached blocks stay live for their neighbours and carry the quick lists'
//! freed mark, so a second free is refused as everywhere. The counters a
//! thread changes without the lock are kept in its cache and added to the
//! heap's when the counters are read (`sum`) and when a worker's cache is
//! released (`release`, through the `thread_release` export, which gives its
//! blocks back to the heap). The registry of caches sits beside the main one.

use crate::lin::tag::{key, low, rd, wr, HDR, W};
use crate::lin::{claim, listed, relive, LinHeap, QUICKFREED};
use crate::stats::Stats;

/// Size and alignment of a worker's stack block (`WORKER_STACK` in js/threads.js).
pub const STACK: usize = 65536;
/// The main instance's cache: in the module's own stack region (16 KiB,
/// growing down from its top), far below where the stack is used.
const MAIN: usize = 2048;
/// The registry: a count and the addresses of every cache in use.
const REGISTRY: usize = 4096;
const MAX_CACHES: usize = 255;
/// Blocks of up to this many bytes are cached.
pub const SMALL: usize = 256;
const CLASSES: usize = SMALL / 8 + 1;
/// Most blocks one list of a cache keeps.
const CAP: u32 = 64;
const MAGIC: u32 = 0x7CAC_4E01;

/// One thread's cache.
#[repr(C)]
pub struct Cache {
    magic: u32,
    heads: [usize; CLASSES],
    lens: [u32; CLASSES],
    live: usize,
    total: usize,
    in_use: usize,
    /// Lists this thread dropped for a damaged link (added to the heap's
    /// `corruptions` like the other counters).
    corruptions: usize,
}

fn local_address() -> usize {
    let here = 0u8;
    core::hint::black_box(&here) as *const u8 as usize
}

/// Address of this thread's cache.
#[inline(always)]
fn mine() -> usize {
    let sp = local_address();
    if sp <= crate::owner::HEAP_FLOOR {
        MAIN
    } else {
        (sp - 1) & !(STACK - 1)
    }
}

/// This thread's cache if it is set up (`None`: use the locked path, which
/// sets it up).
#[inline(always)]
fn ready() -> Option<&'static mut Cache> {
    let c = mine() as *mut Cache;
    // SAFETY: the cache area is this thread's: the bottom of its own stack
    // block (or the main instance's), which nothing else writes; no other
    // reference to it is live while this thread runs an export.
    unsafe { ((*c).magic == MAGIC).then(|| &mut *c) }
}

/// A cached block of exactly `size` bytes for `n` requested bytes, key
/// written and counted; 0 when the cache has none. The heap's span `(lo,
/// hi)` bounds the blocks: a link (the first user word of a freed block,
/// which the program can still write) that names no block this cache left
/// there drops the list, counted, and is never followed.
#[inline(always)]
pub fn pop(size: usize, n: usize, (lo, hi): (usize, usize)) -> usize {
    let Some(c) = ready() else { return 0 };
    let k = size / 8;
    let b = c.heads[k];
    if b == 0 {
        return 0;
    }
    // SAFETY: `listed` reads inside the heap's span only; then b is a
    // block on this thread's list, its link in its first user word; the
    // mark is swapped for a fresh key atomically (a damaged link could have
    // put it on another thread's list too).
    unsafe {
        if c.lens[k] == 0 || !listed(lo, hi, b, size) || !relive(b, key(b + HDR, size, low(8, size - HDR - n))) {
            drop_list(c, k);
            return 0;
        }
        c.heads[k] = rd(b + HDR);
    }
    c.lens[k] -= 1;
    c.live = c.live.wrapping_add(1);
    c.total = c.total.wrapping_add(1);
    c.in_use = c.in_use.wrapping_add(n);
    b + HDR
}

/// Keeps the block `b` of `size` bytes (`n` requested, key word `key`),
/// which this thread frees, when its list has room; false otherwise (the
/// locked path then frees it, or refuses it).
///
/// # Safety
/// `b` is a block of the heap that `check` found live with key word `key`.
#[inline(always)]
pub unsafe fn push(b: usize, size: usize, n: usize, key: usize) -> bool {
    let Some(c) = ready() else { return false };
    let k = size / 8;
    // marked atomically: of two threads freeing one block at once, one wins
    // SAFETY: caller contract.
    if c.lens[k] >= CAP || !unsafe { claim(b, key) } {
        return false;
    }
    // SAFETY: caller contract: the block's words are the freer's now.
    unsafe { wr(b + HDR, c.heads[k]) };
    c.heads[k] = b;
    c.lens[k] += 1;
    c.live = c.live.wrapping_sub(1);
    c.in_use = c.in_use.wrapping_sub(n);
    true
}

#[cold]
fn drop_list(c: &mut Cache, k: usize) {
    c.heads[k] = 0;
    c.lens[k] = 0;
    c.corruptions = c.corruptions.wrapping_add(1);
}

/// Frees the blocks of one list of a cache into the heap (the caller holds
/// the lock): at most `len` of them, each checked before its link is
/// followed; a damaged one ends the walk (the rest stay unused), counted.
///
/// # Safety
/// The list's blocks are no one else's (its thread is this one, or ended).
unsafe fn empty_list(heap: &mut LinHeap<crate::grow::Pages<crate::grow::WasmMemory>>, mut b: usize, len: u32, size: usize) {
    let (lo, hi) = heap.span();
    for _ in 0..len.min(CAP) {
        if b == 0 {
            break;
        }
        // SAFETY: `listed` reads inside the heap only; then b is a cached
        // block, live for its neighbours, its link in its first user word.
        unsafe {
            if !listed(lo, hi, b, size) || !relive(b, 0) {
                heap.counters().on_corruption();
                return;
            }
            let next = rd(b + HDR);
            heap.release_cached(b);
            b = next;
        }
    }
}

/// Blocks a cache takes from the heap at once when a request finds its
/// list empty (under the lock it holds then anyway).
const REFILL: usize = 8;

/// After a request of `size` block bytes missed this thread's cache (the
/// caller holds the lock): fills that list with a few spare blocks.
pub fn refill(heap: &mut LinHeap<crate::grow::Pages<crate::grow::WasmMemory>>, size: usize) {
    let Some(c) = ready() else { return };
    for _ in 0..REFILL {
        if c.lens[size / 8] >= CAP {
            return;
        }
        let Some((b, have)) = heap.spare(size - HDR) else { return };
        // a block that came out larger (an unsplit rest) goes on its own list
        let k = have / 8;
        if have > SMALL || c.lens[k] >= CAP {
            // SAFETY: a fresh block, never counted, no one else's.
            unsafe { heap.release_cached(b) };
            return;
        }
        // SAFETY: b is a fresh block of `have` bytes, never counted, now
        // this thread's cached block.
        unsafe {
            wr(b + W, QUICKFREED);
            wr(b + HDR, c.heads[k]);
        }
        c.heads[k] = b;
        c.lens[k] += 1;
    }
}

fn registry() -> *mut usize {
    REGISTRY as *mut usize
}

/// Sets up this thread's cache (the caller holds the heap lock).
pub fn set_up() {
    let c = mine();
    // SAFETY: the registry and the cache areas lie in memory no block uses
    // (below the heap floor, or the bottom of a worker's stack block); the
    // caller holds the lock, which every access to the registry needs.
    unsafe {
        if (*(c as *const Cache)).magic == MAGIC {
            return;
        }
        let reg = registry();
        let n = reg.read();
        if n >= MAX_CACHES {
            return; // this thread uses the locked path only
        }
        (c as *mut Cache).write(Cache { magic: MAGIC, heads: [0; CLASSES], lens: [0; CLASSES], live: 0, total: 0, in_use: 0, corruptions: 0 });
        reg.add(1 + n).write(c);
        reg.write(n + 1);
    }
}

/// The heap's counters with every cache's changes added (the caller holds
/// the lock; the caches' own threads may be running, so this is exact when
/// they are not).
pub fn sum(mut s: Stats) -> Stats {
    // SAFETY: as in `set_up`; the count is the registry's own.
    unsafe {
        let reg = registry();
        let n = reg.read().min(MAX_CACHES);
        for i in 0..n {
            let c = &*(reg.add(1 + i).read() as *const Cache);
            s.live = s.live.wrapping_add(c.live);
            s.total = s.total.wrapping_add(c.total);
            s.in_use = s.in_use.wrapping_add(c.in_use);
            s.corruptions = s.corruptions.wrapping_add(c.corruptions);
        }
    }
    // blocks handed out by caches never passed the heap's peak: at least now
    s.peak = s.peak.max(s.in_use);
    s
}

/// Gives a finished worker's cache back: its blocks to the heap, its counts
/// to the heap's counters, its slot in the registry. The caller holds the
/// lock; `base` is the worker's stack block, whose thread has ended.
pub fn release(heap: &mut LinHeap<crate::grow::Pages<crate::grow::WasmMemory>>, base: usize) {
    if base % STACK != 0 || base < crate::owner::HEAP_FLOOR {
        return;
    }
    // SAFETY: as in `set_up`; the cache's thread has ended (caller contract
    // of the export), so its area and blocks are no one else's.
    unsafe {
        let c = base as *mut Cache;
        if (*c).magic != MAGIC {
            return;
        }
        for k in 0..CLASSES {
            empty_list(heap, (*c).heads[k], (*c).lens[k], k * 8);
        }
        let s = heap.counters();
        s.live = s.live.wrapping_add((*c).live);
        s.total = s.total.wrapping_add((*c).total);
        s.in_use = s.in_use.wrapping_add((*c).in_use);
        s.corruptions = s.corruptions.wrapping_add((*c).corruptions);
        (*c).magic = 0;
        let reg = registry();
        let n = reg.read().min(MAX_CACHES);
        for i in 0..n {
            if reg.add(1 + i).read() == base {
                reg.add(1 + i).write(reg.add(n).read());
                reg.write(n - 1);
                break;
            }
        }
    }
}

/// Frees this thread's own cached blocks into the heap (the caller holds
/// the lock): before the heap reports out of memory. False when it held none.
pub fn flush_mine(heap: &mut LinHeap<crate::grow::Pages<crate::grow::WasmMemory>>) -> bool {
    let Some(c) = ready() else { return false };
    if c.lens.iter().all(|&n| n == 0) {
        return false;
    }
    for k in 0..CLASSES {
        let (b, len) = (core::mem::take(&mut c.heads[k]), core::mem::take(&mut c.lens[k]));
        // SAFETY: the blocks of this thread's own list.
        unsafe { empty_list(heap, b, len, k * 8) };
    }
    true
}
