//! Backends built on a crate's `GlobalAlloc` (wee_alloc). Such
//! allocators call `memory.grow` themselves and never use the caller's
//! pages; their footprint is the pages they grew, measured around each call
//! (JavaScript cannot grow the memory while a wasm call runs).

use super::{realloc_by_copy, Backend};
use core::alloc::{GlobalAlloc, Layout};

/// Drives any `GlobalAlloc` through the backend trait.
pub struct GlobalAllocBackend<A: GlobalAlloc> {
    inner: A,
    /// Pages grown inside the wrapped allocator's calls.
    grown: usize,
}

impl<A: GlobalAlloc> GlobalAllocBackend<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner, grown: 0 }
    }
}

fn memory_pages() -> usize {
    #[cfg(target_arch = "wasm32")]
    return core::arch::wasm32::memory_size(0);
    #[cfg(not(target_arch = "wasm32"))]
    return 0;
}

#[inline]
fn layout(size: usize, align: usize) -> Layout {
    // SAFETY: Heap only passes power-of-two aligns and sizes far below isize::MAX.
    unsafe { Layout::from_size_align_unchecked(size, align) }
}

// SAFETY: the wrapped allocator returns disjoint blocks of the requested
// layout from pages it grew itself (both crates' wasm32 page source is
// `memory.grow`).
unsafe impl<A: GlobalAlloc> Backend for GlobalAllocBackend<A> {
    unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        let before = memory_pages();
        // SAFETY: size > 0 (trait contract).
        let mut p = unsafe { self.inner.alloc(layout(size, align)) };
        if p.is_null() && align > super::MIN_ALIGN {
            // wee_alloc splits an over-aligned block off a free cell only
            // when a 2 KiB remainder stays behind, and sizes a refill by
            // `size` alone, so a request just under a page never fits the
            // page it grows (e.g. 64 000 bytes aligned to 16). Grow a cell
            // with room for the padding and the remainder, give it back, and
            // try once more.
            let room = size.saturating_add(align).saturating_add(4096);
            // SAFETY: room > 0; MIN_ALIGN is a power of two.
            let tmp = unsafe { self.inner.alloc(layout(room, super::MIN_ALIGN)) };
            if !tmp.is_null() {
                // SAFETY: tmp was just allocated with this layout.
                unsafe { self.inner.dealloc(tmp, layout(room, super::MIN_ALIGN)) };
                // SAFETY: as for the first attempt.
                p = unsafe { self.inner.alloc(layout(size, align)) };
            }
        }
        self.grown += memory_pages() - before;
        p
    }
    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: ptr was allocated with this layout (trait contract).
        unsafe { self.inner.dealloc(ptr, layout(size, align)) }
    }
    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded trait contract.
        unsafe { realloc_by_copy(self, ptr, old, new_size) }
    }
    fn heap_bytes(&self) -> usize {
        self.grown * crate::grow::PAGE
    }
}
