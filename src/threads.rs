//! What the exports do differently in the threads build (feature `mt`):
//! serve small blocks from the calling thread's cache without the lock
//! (`crate::tcache`), set that cache up, add the caches' counters, and empty
//! the thread's cache before reporting out of memory. In every other build
//! each of these does nothing and compiles away.

use crate::backend::Active;
use crate::stats::Stats;

#[cfg(feature = "mt")]
mod imp {
    use super::*;
    use crate::backend::BUILD_ID;
    use crate::grow::WasmMemory;
    use crate::lin::tag::{block_for, HDR};
    use crate::lin::{check, LinHeap};
    use crate::tcache;

    /// A block for `size` bytes from this thread's cache (no lock), or null.
    #[inline(always)]
    pub fn cached(size: usize) -> *mut u8 {
        if size > tcache::SMALL - HDR {
            return core::ptr::null_mut();
        }
        let Some(state) = crate::owner::state(WasmMemory, BUILD_ID) else { return core::ptr::null_mut() };
        // SAFETY: the tag names this build: `state` is its LinHeap.
        let span = unsafe { LinHeap::bounds(state as *const Active) };
        tcache::pop(block_for(size), size, span) as *mut u8
    }

    /// Frees `ptr` into this thread's cache (no lock) when it is a live
    /// small block and the cache has room; false: take the locked path.
    ///
    /// # Safety
    /// As for the `free` export.
    #[inline(always)]
    pub unsafe fn uncache(ptr: *mut u8) -> bool {
        let Some(state) = crate::owner::state(WasmMemory, BUILD_ID) else { return false };
        // SAFETY: the tag names this build: `state` is its LinHeap.
        let (lo, hi) = unsafe { LinHeap::bounds(state as *const Active) };
        // SAFETY: [lo, hi) spans the heap's regions in memory 0.
        match unsafe { check(lo, hi, ptr) } {
            // SAFETY: a live block, freed by its owner (caller contract).
            Ok((b, size, n, key)) if size <= tcache::SMALL => unsafe { tcache::push(b, size, n, key) },
            _ => false,
        }
    }

    /// Sets up this thread's cache (the caller holds the lock).
    #[inline(always)]
    pub fn set_up() {
        tcache::set_up()
    }

    /// After a small request missed this thread's cache (the caller holds
    /// the lock): a few spare blocks of its size into the cache.
    #[inline(always)]
    pub fn refill(h: &mut Active, size: usize) {
        if size <= tcache::SMALL - HDR {
            tcache::refill(h, block_for(size))
        }
    }

    /// The heap's counters with the threads' caches' added.
    #[inline(always)]
    pub fn counters(h: &mut Active) -> Stats {
        let s = tcache::sum(crate::api::Allocator::stats(h));
        // kept: the peak never goes down between reads
        h.counters().peak = s.peak;
        s
    }

    /// The peak before an allocation under the lock.
    #[inline(always)]
    pub fn peak(h: &Active) -> usize {
        crate::api::Allocator::stats(h).peak
    }

    /// After an allocation under the lock: the peak is the highest of what
    /// it was and what is in use now, every cache's changes counted (the
    /// heap's own in-use count does not see blocks freed into the caches,
    /// so its own peak ran high; found by an adversarial run).
    #[inline(never)]
    pub fn settle_peak(h: &mut Active, before: usize) {
        let now = tcache::sum(crate::api::Allocator::stats(h)).in_use;
        h.counters().peak = before.max(now);
    }

    /// Allocation requests that failed so far.
    #[inline(always)]
    pub fn failures(h: &Active) -> usize {
        crate::api::Allocator::stats(h).failed
    }

    /// After an allocation failed: empties this thread's cache into the heap
    /// and uncounts the failure, so the caller can try once more; false
    /// when there was nothing to empty.
    pub fn retry_after_flush(h: &mut Active) -> bool {
        if !tcache::flush_mine(h) {
            return false;
        }
        h.counters().failed -= 1;
        true
    }

    /// Gives a finished worker's cache back (the caller holds the lock):
    /// only when `stack` is a live block as large as a worker's stack, so a
    /// stray address reads nothing (a trap here would leave the lock held).
    pub fn release(h: &mut Active, stack: usize) {
        if crate::api::Allocator::block_size(h, stack as *const u8).is_some_and(|n| n >= tcache::STACK) {
            tcache::release(h, stack)
        }
    }
}

#[cfg(not(feature = "mt"))]
mod imp {
    use super::*;

    #[inline(always)]
    pub fn cached(_size: usize) -> *mut u8 {
        core::ptr::null_mut()
    }

    /// # Safety
    /// As for the `free` export.
    #[inline(always)]
    pub unsafe fn uncache(_ptr: *mut u8) -> bool {
        false
    }

    #[inline(always)]
    pub fn set_up() {}

    #[inline(always)]
    pub fn refill(_h: &mut Active, _size: usize) {}

    #[inline(always)]
    #[allow(unused_imports)]
    pub fn counters(h: &mut Active) -> Stats {
        #[cfg(not(feature = "checked"))]
        use crate::api::Allocator;
        h.stats()
    }

    #[inline(always)]
    pub fn peak(_h: &Active) -> usize {
        0
    }

    #[inline(always)]
    pub fn settle_peak(_h: &mut Active, _before: usize) {}

    #[inline(always)]
    pub fn failures(_h: &Active) -> usize {
        0
    }

    #[inline(always)]
    pub fn retry_after_flush(_h: &mut Active) -> bool {
        false
    }
}

pub use imp::*;
