//! talc backend: a binning allocator with in-place realloc, fed with regions
//! from our [`Grow`] seam; adjacent regions extend the same arena.

use super::{realloc_by_copy, Backend};
use crate::grow::Grow;
use core::alloc::Layout;
use core::ptr::NonNull;
use talc::base::{binning::Binning, Talc, CHUNK_UNIT};
use talc::wasm::WasmBinning;

/// talc's memory source: claim regions, extend the arena when they are adjacent.
#[derive(Debug)]
pub struct GrowSource<G: Grow> {
    pages: G,
    end: Option<NonNull<u8>>,
    /// A region reached `TALC_END`: the arena cannot grow any more.
    full: bool,
}

// SAFETY: `acquire` only claims/extends with regions fresh from `Grow`, cut
// at `TALC_END` (so talc's end arithmetic cannot wrap), and
// never calls back into the allocator.
unsafe impl<G: Grow + core::fmt::Debug> talc::source::Source for GrowSource<G> {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        // Room for the chunk, its tag, alignment slack and (first time) the
        // bin table talc keeps at the start of its first arena.
        let need = layout.size().checked_add(layout.align() + 4 * CHUNK_UNIT + talc::min_first_heap_size::<B>()).ok_or(())?;
        if talc.source.full {
            return Err(());
        }
        let (base, bytes) = talc.source.pages.claim(need).ok_or(())?;
        // talc's search of its last bin tests `start + size <= end`, which
        // wraps past 2^32 for a large request near the top of a wasm32
        // memory (found by an adversarial run: a block handed out across
        // 4 GiB, its tag written over the owner tag). Below TALC_END no
        // start + size can wrap, so the arena stops there.
        let room = TALC_END.saturating_sub(base as usize);
        if bytes > room {
            // the pages past TALC_END are lost to talc: claim no more
            talc.source.full = true;
        }
        let bytes = bytes.min(room);
        if bytes == 0 {
            return Err(());
        }
        let new_end = base.wrapping_add(bytes);
        if let Some(old_end) = talc.source.end {
            if old_end.as_ptr() == base {
                // SAFETY: [old_end, new_end) is fresh memory directly after the arena.
                talc.source.end = Some(unsafe { talc.extend(old_end, new_end) });
                return Ok(());
            }
        }
        // SAFETY: [base, base + bytes) is fresh, unused memory we now own.
        talc.source.end = unsafe { talc.claim(base, bytes) };
        talc.source.end.map(|_| ()).ok_or(())
    }
}

/// Where talc's arena ends at the latest: half the address space, so that
/// no block start plus request size (each below 2^31) wraps. The talc
/// build's heap is at most 2 GiB: its pages are `limited` to this address
/// (so no page past it is grown), and `acquire` cuts any region a source
/// hands out there.
pub const TALC_END: usize = 1 << (usize::BITS - 1);

/// The talc backend.
pub struct TalcBackend<G: Grow + core::fmt::Debug>(Talc<GrowSource<G>, WasmBinning>);

impl<G: Grow + core::fmt::Debug> TalcBackend<G> {
    /// A talc that takes pages from `pages`.
    pub const fn new(pages: G) -> Self {
        Self(Talc::new(GrowSource { pages, end: None, full: false }))
    }
}

#[inline]
fn layout(size: usize, align: usize) -> Layout {
    // SAFETY: Heap only passes power-of-two aligns and sizes far below isize::MAX.
    unsafe { Layout::from_size_align_unchecked(size, align) }
}

// SAFETY: talc returns disjoint blocks of the requested layout, from regions
// handed out by `GrowSource` only.
unsafe impl<G: Grow + core::fmt::Debug> Backend for TalcBackend<G> {
    #[inline]
    unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: size > 0 (trait contract).
        match unsafe { self.0.allocate(layout(size, align)) } {
            Some(p) => p.as_ptr(),
            None => core::ptr::null_mut(),
        }
    }
    #[inline]
    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: ptr was allocated with this layout (trait contract).
        unsafe { self.0.deallocate(ptr, layout(size, align)) }
    }
    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, old: usize, new_size: usize) -> *mut u8 {
        // talc computes the grown block's end with a wrapping add, so near the
        // top of a 4 GiB memory growing in place would wrap past 4 GiB and
        // "succeed" (found by tests/reliability.test.mjs). Only try in place
        // when the end cannot wrap.
        let fits = (ptr as usize).checked_add(new_size + 2 * CHUNK_UNIT).is_some();
        // SAFETY: ptr is live with layout (old, MIN_ALIGN) and new_size > 0.
        unsafe {
            if fits && self.0.try_realloc_in_place(ptr, layout(old, super::MIN_ALIGN), new_size) {
                return ptr;
            }
            realloc_by_copy(self, ptr, old, new_size)
        }
    }
    fn heap_bytes(&self) -> usize {
        self.0.source.pages.owned_bytes()
    }
}
