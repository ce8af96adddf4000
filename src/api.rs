//! The allocation API every release heap offers (the default `lin` heap,
//! the bump arena, and `Heap` over a backend), with what is the same for all
//! of them written once: argument checks, `calloc`, `free`, `dealloc`.
//! The exports (`exports.rs`) and the shared host tests drive heaps through it.

use crate::header::MAX_ALIGN;
use crate::heap::Rejected;
use crate::stats::Stats;
use core::ptr::null_mut;

/// A heap behind the C ABI.
pub trait Allocator {
    /// `n` bytes whose address is a multiple of `align` (a power of two from
    /// 1 to `MAX_ALIGN`, checked by the caller), counted in the stats; null,
    /// counted as failed, when it cannot be had.
    fn alloc(&mut self, n: usize, align: usize) -> *mut u8;

    /// Frees a block; null is a no-op. A pointer that cannot be a live block
    /// of this heap (one freed already included) is left alone, counted in
    /// `stats().invalid_frees`, and the reason returned.
    ///
    /// # Safety
    /// `ptr` is null or a pointer this heap returned (a stale or stray
    /// pointer is refused unless its header is still intact, e.g. a block
    /// freed and handed out again at the same address).
    unsafe fn try_free(&mut self, ptr: *mut u8) -> Result<(), Rejected>;

    /// `realloc` of a block to `n > 0` bytes: on failure null, and `ptr`
    /// intact; a refused pointer is counted and null returned. An
    /// over-aligned block stays as aligned.
    ///
    /// # Safety
    /// `ptr` is a pointer this heap returned, not null (as for
    /// [`Allocator::try_free`]).
    unsafe fn resize(&mut self, ptr: *mut u8, n: usize) -> *mut u8;

    /// Requested size of the live block at `ptr`, or `None` when `ptr` is
    /// not one (the checks of `free`, nothing counted).
    fn block_size(&self, ptr: *const u8) -> Option<usize>;

    /// The counters.
    fn stats_mut(&mut self) -> &mut Stats;

    /// Current counters.
    fn stats(&self) -> Stats;

    /// Bytes of memory the heap manages.
    fn heap_bytes(&self) -> usize;

    /// Counts a failed request; null.
    #[cold]
    fn fail(&mut self) -> *mut u8 {
        self.stats_mut().on_fail();
        null_mut()
    }

    /// `size` bytes aligned to 8; null when out of memory.
    #[inline]
    fn malloc(&mut self, size: usize) -> *mut u8 {
        self.alloc(size, 8)
    }

    /// `size` bytes aligned to `align` (a power of two up to 64 KiB); null otherwise.
    fn aligned_alloc(&mut self, align: usize, size: usize) -> *mut u8 {
        if !align.is_power_of_two() || align > MAX_ALIGN {
            return self.fail();
        }
        self.alloc(size, align)
    }

    /// `n * size` zeroed bytes; null on overflow or when out of memory.
    fn calloc(&mut self, n: usize, size: usize) -> *mut u8 {
        let Some(total) = n.checked_mul(size) else { return self.fail() };
        let p = self.alloc(total, 8);
        if !p.is_null() {
            // SAFETY: p is a fresh block of at least `total` bytes.
            unsafe { core::ptr::write_bytes(p, 0, total) };
        }
        p
    }

    /// C `realloc`: null `ptr` allocates, size 0 frees and returns null,
    /// else [`Allocator::resize`].
    ///
    /// # Safety
    /// As for [`Allocator::try_free`].
    unsafe fn realloc(&mut self, ptr: *mut u8, n: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(n, 8);
        }
        if n == 0 {
            // SAFETY: forwarded caller contract.
            unsafe { self.free(ptr) };
            return null_mut();
        }
        // SAFETY: forwarded caller contract; ptr is not null.
        unsafe { self.resize(ptr, n) }
    }

    /// [`Allocator::try_free`] that says only whether the pointer was taken.
    ///
    /// # Safety
    /// As for [`Allocator::try_free`].
    #[inline]
    unsafe fn free(&mut self, ptr: *mut u8) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { self.try_free(ptr) }.is_ok()
    }

    /// Frees a block from `alloc(size, align)`: the header knows both (the
    /// checked build, a heap of its own, verifies them).
    ///
    /// # Safety
    /// As for [`Allocator::try_free`].
    unsafe fn dealloc(&mut self, ptr: *mut u8, _size: usize, _align: usize) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { self.free(ptr) }
    }
}
