//! The one place every allocation goes through: argument checks, the size
//! header, and exact stats, over whichever backend is compiled in.

use crate::backend::{Backend, MIN_ALIGN};
use crate::header::{self, HEADER};
use crate::stats::Stats;
use core::ptr::null_mut;

/// A backend plus the bookkeeping the exported ABI promises.
pub struct Heap<B: Backend> {
    backend: B,
    stats: Stats,
}

impl<B: Backend> Heap<B> {
    /// A heap over `backend`, usable in a `static`.
    pub const fn new(backend: B) -> Self {
        Self { backend, stats: Stats::new() }
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes the backend has taken from `memory.grow`.
    pub fn heap_bytes(&self) -> usize {
        self.backend.heap_bytes()
    }

    /// `size` bytes aligned to 8; null when out of memory.
    #[inline]
    pub fn malloc(&mut self, size: usize) -> *mut u8 {
        self.alloc_with_header(size, HEADER)
    }

    /// `size` bytes aligned to `align` (a power of two up to 64 KiB); null otherwise.
    pub fn aligned_alloc(&mut self, align: usize, size: usize) -> *mut u8 {
        match header::header_len(align) {
            Some(hdr) => self.alloc_with_header(size, hdr),
            None => self.fail(),
        }
    }

    /// `n * size` zeroed bytes; null on overflow or when out of memory.
    pub fn calloc(&mut self, n: usize, size: usize) -> *mut u8 {
        let Some(total) = header::array_size(n, size) else {
            return self.fail();
        };
        let p = self.malloc(total);
        if !p.is_null() {
            // SAFETY: p is a fresh block of at least `total` bytes.
            unsafe { core::ptr::write_bytes(p, 0, total) };
        }
        p
    }

    #[inline]
    fn alloc_with_header(&mut self, size: usize, hdr: usize) -> *mut u8 {
        let Some(block) = header::block_size(size, hdr) else {
            return self.fail();
        };
        // SAFETY: block > 0, hdr is a power of two >= MIN_ALIGN.
        let base = unsafe { self.backend.alloc(block, hdr) };
        if base.is_null() {
            return self.fail();
        }
        // SAFETY: the block holds hdr + size bytes; the header sits in the
        // hdr bytes before the user pointer.
        let user = unsafe { base.add(hdr) };
        // SAFETY: as above.
        unsafe { header::write(user, size, hdr) };
        self.stats.on_alloc(size);
        user
    }

    #[cold]
    fn fail(&mut self) -> *mut u8 {
        self.stats.on_fail();
        null_mut()
    }

    /// Frees a block; null is a no-op.
    ///
    /// # Safety
    /// `ptr` is null or a live pointer returned by this heap.
    #[inline]
    pub unsafe fn free(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: ptr is live (caller contract), so its header is intact.
        let (size, hdr) = unsafe { header::read(ptr) };
        self.stats.on_free(size);
        // SAFETY: base and layout are exactly what alloc_with_header used.
        unsafe { self.backend.free(ptr.sub(hdr), size + hdr, hdr) };
    }

    /// C `realloc`: null `ptr` allocates, size 0 frees and returns null, on
    /// failure returns null and leaves `ptr` intact.
    ///
    /// # Safety
    /// `ptr` is null or a live pointer returned by this heap.
    pub unsafe fn realloc(&mut self, ptr: *mut u8, size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.malloc(size);
        }
        if size == 0 {
            // SAFETY: forwarded caller contract.
            unsafe { self.free(ptr) };
            return null_mut();
        }
        // SAFETY: ptr is live (caller contract).
        let (old, hdr) = unsafe { header::read(ptr) };
        let Some(block) = header::block_size(size, hdr) else {
            return self.fail();
        };
        if hdr == HEADER {
            debug_assert_eq!(hdr, MIN_ALIGN);
            // SAFETY: the block was allocated with (old + HEADER, MIN_ALIGN).
            let base = unsafe { self.backend.realloc(ptr.sub(HEADER), old + HEADER, block) };
            if base.is_null() {
                return self.fail();
            }
            // SAFETY: the new block holds HEADER + size bytes.
            let user = unsafe { base.add(HEADER) };
            // SAFETY: as above.
            unsafe { header::write(user, size, HEADER) };
            self.stats.on_resize(old, size);
            return user;
        }
        // Over-aligned blocks keep their alignment: allocate, copy, free.
        let new = self.alloc_with_header(size, hdr);
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the copy fits both.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, old.min(size));
                self.free(ptr);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests;
