//! wee_alloc backend (legacy): the smallest module, but unmaintained
//! (RUSTSEC-2022-0054) and known to leak on mixed sizes. It calls
//! `memory.grow` itself, so its footprint is read from `memory.size`.

use super::{realloc_by_copy, Backend};
use core::alloc::{GlobalAlloc, Layout};

/// The wee_alloc backend.
pub struct WeeBackend {
    wee: wee_alloc::WeeAlloc<'static>,
    /// `memory.size` in pages when the first allocation arrived.
    start_pages: usize,
}

impl WeeBackend {
    /// A fresh wee_alloc.
    pub const fn new() -> Self {
        Self { wee: wee_alloc::WeeAlloc::INIT, start_pages: usize::MAX }
    }
}

impl Default for WeeBackend {
    fn default() -> Self {
        Self::new()
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

// SAFETY: wee_alloc returns disjoint blocks of the requested layout from pages
// it grew itself (its wasm32 page source is `memory.grow`).
unsafe impl Backend for WeeBackend {
    unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        if self.start_pages == usize::MAX {
            self.start_pages = memory_pages();
        }
        // SAFETY: size > 0 (trait contract).
        unsafe { self.wee.alloc(layout(size, align)) }
    }
    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: ptr was allocated with this layout (trait contract).
        unsafe { self.wee.dealloc(ptr, layout(size, align)) }
    }
    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded trait contract.
        unsafe { realloc_by_copy(self, ptr, old, new_size) }
    }
    fn heap_bytes(&self) -> usize {
        if self.start_pages == usize::MAX {
            return 0;
        }
        (memory_pages() - self.start_pages) * crate::grow::PAGE
    }
}
