//! dlmalloc backend: Doug Lea's allocator as ported by `dlmalloc-rs`, fed
//! with regions from our [`Grow`] seam instead of its own wasm glue, so it
//! only touches the heap's own pages.

use super::{Backend, MIN_ALIGN};
use crate::grow::{Grow, PAGE};
use dlmalloc::{Allocator, Dlmalloc};

/// dlmalloc's system interface, backed by a [`Grow`].
pub struct DlSystem<G: Grow>(G);

// SAFETY: `alloc` returns fresh regions that nothing else uses; we never
// release or remap, which dlmalloc handles.
unsafe impl<G: Grow + Send> Allocator for DlSystem<G> {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        // Regions end at or below END_LIMIT, so `base + len` never wraps.
        match self.0.claim(size) {
            Some((base, len)) => (base, len, 0),
            None => (core::ptr::null_mut(), 0, 0),
        }
    }
    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        core::ptr::null_mut()
    }
    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }
    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }
    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        // the caller's pages may hold old bytes
        false
    }
    fn page_size(&self) -> usize {
        PAGE
    }
}

/// The dlmalloc backend.
pub struct DlBackend<G: Grow + Send>(Dlmalloc<DlSystem<G>>);

impl<G: Grow + Send> DlBackend<G> {
    /// A dlmalloc that takes pages from `pages`.
    pub const fn new(pages: G) -> Self {
        Self(Dlmalloc::new_with_allocator(DlSystem(pages)))
    }
}

// SAFETY: dlmalloc returns disjoint blocks of the requested size and
// alignment, from regions handed out by `DlSystem` only.
unsafe impl<G: Grow + Send> Backend for DlBackend<G> {
    #[inline]
    unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: align is a power of two (trait contract).
        unsafe { self.0.c_memalign(align, size) }
    }
    #[inline]
    unsafe fn free(&mut self, ptr: *mut u8, _size: usize, _align: usize) {
        // SAFETY: ptr is a live dlmalloc block (trait contract); dlmalloc
        // finds its size in its own chunk header.
        unsafe { self.0.c_free(ptr) }
    }
    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, _old: usize, new_size: usize) -> *mut u8 {
        const { assert!(MIN_ALIGN <= 8) };
        // SAFETY: ptr is live and MIN_ALIGN-aligned; c_realloc keeps 8-byte
        // alignment and leaves ptr valid on failure.
        unsafe { self.0.c_realloc(ptr, new_size) }
    }
    fn heap_bytes(&self) -> usize {
        self.0.allocator().0.owned_bytes()
    }
}
