//! The one place every allocation of the release builds goes through:
//! argument checks, the size header, exact stats, and the cheap bad-pointer
//! checks, over whichever backend is compiled in. (The checked build is its
//! own heap: `crate::checked`.)

use crate::api::Allocator;
use crate::backend::{Backend, MIN_ALIGN};
use crate::header::{self, HEADER};
use crate::stats::Stats;
use core::ptr::null_mut;

/// A backend plus the bookkeeping the exported ABI promises.
pub struct Heap<B: Backend> {
    backend: B,
    stats: Stats,
    /// Lowest block start and the last byte of the highest block ever handed
    /// out: a pointer outside `[lo, last]` cannot be one of ours. (`last`, not
    /// an end, so a block that ends exactly at 4 GiB needs no wrap.)
    lo: usize,
    last: usize,
    quick: crate::quick::QuickLists,
}

/// Whether a block of `size` user bytes behind a `hdr`-byte header is small
/// (served by the quick lists; its backend size is its class's).
#[inline]
fn is_small(size: usize, hdr: usize) -> bool {
    hdr == HEADER && size <= crate::quick::SMALL_MAX
}

/// Backend bytes of a block: a small block's class size, else exactly what
/// it needs. `free` recomputes this from the header, so both agree.
#[inline]
fn backend_bytes(size: usize, hdr: usize) -> usize {
    if is_small(size, hdr) {
        crate::quick::class_bytes(crate::quick::class(size))
    } else {
        size + hdr
    }
}

/// Why `free` refused a pointer (release build: ignored and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not aligned like every block this heap hands out.
    Misaligned,
    /// Outside every block this heap ever handed out.
    OutsideHeap,
    /// Its header cannot belong to a block (damaged, or not a block start;
    /// also a double free once the backend reused the freed header).
    BadHeader,
    /// Its header says it was freed already: a double free.
    DoubleFree,
}

impl<B: Backend> Heap<B> {
    /// A heap over `backend`, usable in a `static`.
    pub const fn new(backend: B) -> Self {
        Self { backend, stats: Stats::new(), lo: usize::MAX, last: 0, quick: crate::quick::QuickLists::new() }
    }

    // Not inlined into each allocating export: one copy keeps the module small.
    #[inline(never)]
    fn alloc_with_header(&mut self, size: usize, hdr: usize) -> *mut u8 {
        if header::block_size(size, hdr).is_none() {
            return self.fail();
        }
        let block = backend_bytes(size, hdr);
        let cached = if is_small(size, hdr) { self.pop_quick(crate::quick::class(size)) } else { null_mut() };
        let base = if !cached.is_null() {
            cached
        } else {
            // SAFETY: block > 0, hdr is a power of two >= MIN_ALIGN.
            let mut base = unsafe { self.backend.alloc(block, hdr) };
            if base.is_null() && self.flush() {
                // SAFETY: as above.
                base = unsafe { self.backend.alloc(block, hdr) };
            }
            if base.is_null() {
                return self.fail();
            }
            self.note_block(base as usize, block);
            base
        };
        // SAFETY: the block holds hdr + size bytes; the header
        // sits in the hdr bytes before the user pointer.
        let user = unsafe { base.add(hdr) };
        // SAFETY: as above.
        unsafe { header::write(user, size, hdr) };
        self.stats.on_alloc(size);
        user
    }

    /// Gives every block on the quick lists back to the backend (before a
    /// request fails: cached blocks must not make the heap run out, found by
    /// an adversarial run). True when there was one.
    #[cold]
    fn flush(&mut self) -> bool {
        let mut any = false;
        for c in 0..crate::quick::CLASSES {
            // bounded by the list's count, whatever the links say
            for _ in 0..self.quick.len(c) {
                let base = self.pop_quick(c);
                if base.is_null() {
                    break;
                }
                any = true;
                // SAFETY: a cached block of class c, allocated with these
                // bytes and alignment and freed by its owner.
                unsafe { self.backend.free(base, crate::quick::class_bytes(c), HEADER) };
            }
            self.quick.clear(c);
        }
        any
    }

    /// A cached block of class `c` (its backend pointer), or null; a
    /// damaged link drops the list, counted.
    #[inline]
    fn pop_quick(&mut self, c: usize) -> *mut u8 {
        match self.quick.pop(c, self.lo, self.last) {
            Ok(base) => base,
            Err(_) => {
                self.stats.on_corruption();
                null_mut()
            }
        }
    }

    /// Widens `[lo, last]` to cover a block of `block` bytes at `addr`.
    #[inline]
    fn note_block(&mut self, addr: usize, block: usize) {
        if addr < self.lo {
            self.lo = addr;
        }
        // block > 0 and the block lies in the address space: no wrap
        let last = addr + (block - 1);
        if last > self.last {
            self.last = last;
        }
    }

    /// Whether the block at user address `a` (inside `[lo + HEADER, last + 1]`)
    /// carries a gone mark at one of the offsets it can have.
    #[cold]
    fn gone(&self, a: usize) -> bool {
        let room = self.last.saturating_sub(a);
        let mut off = 0;
        while off <= header::GONE_MAX && off + 7 <= room {
            // SAFETY: the mark lies in [lo, last] (a <= last + 1, room checked).
            if unsafe { header::is_gone(a as *const u8, off) } {
                return true;
            }
            off += 8;
        }
        false
    }

    /// A pointer `validate` refused: counted and ignored.
    #[cold]
    fn refuse(&mut self) {
        self.stats.on_invalid_free();
    }

    /// The cheap checks that keep a stray pointer from corrupting the heap:
    /// alignment, bounds, header key. `Ok((size, hdr))` for a live block.
    // Not inlined: free, realloc, dealloc and heap_block_size share one copy.
    #[inline(never)]
    fn validate(&self, ptr: *const u8) -> Result<(usize, usize), Rejected> {
        let a = ptr as usize;
        if a % MIN_ALIGN != 0 {
            return Err(Rejected::Misaligned);
        }
        // a - 1 cannot wrap: a >= lo + HEADER > 0 once the first check passed
        if a < self.lo.saturating_add(HEADER) || a - 1 > self.last {
            return Err(Rejected::OutsideHeap);
        }
        // SAFETY: [a - HEADER, a) lies inside [lo, last], memory the heap owns.
        let (size, hdr) = match unsafe { header::read(ptr) } {
            Ok(v) => v,
            Err(header::BadHeader::Freed) => return Err(Rejected::DoubleFree),
            // a block the backend took back (and wrote over its header):
            // its second mark, where one lies inside the heap
            Err(header::BadHeader::Garbage) if self.gone(a) => return Err(Rejected::DoubleFree),
            Err(header::BadHeader::Garbage) => return Err(Rejected::BadHeader),
        };
        // bytes from a to the last byte of the heap: 0 when a == last + 1
        let room = self.last.wrapping_sub(a).wrapping_add(1);
        if a - hdr < self.lo || size > room {
            return Err(Rejected::BadHeader);
        }
        Ok((size, hdr))
    }
}

impl<B: Backend> Allocator for Heap<B> {
    fn alloc(&mut self, n: usize, align: usize) -> *mut u8 {
        match header::header_len(align) {
            Some(hdr) => self.alloc_with_header(n, hdr),
            None => self.fail(),
        }
    }

    fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// Current counters.
    fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes of memory the backend manages.
    fn heap_bytes(&self) -> usize {
        self.backend.heap_bytes()
    }

    /// [`Heap::free`], saying why a pointer was refused.
    ///
    /// # Safety
    /// As for [`Heap::free`].
    // Not inlined: the exports that free (free, try_free, dealloc,
    // deleteRecord, realloc) share one copy, which keeps the module small.
    #[inline(never)]
    unsafe fn try_free(&mut self, ptr: *mut u8) -> Result<(), Rejected> {
        if ptr.is_null() {
            return Ok(());
        }
        let (size, hdr) = match self.validate(ptr) {
            Ok(v) => v,
            Err(why) => {
                self.refuse();
                return Err(why);
            }
        };
        self.stats.on_free(size);
        // SAFETY: ptr is a live block (validated); from here on it is freed.
        unsafe { header::mark_freed(ptr) };
        // SAFETY: ptr - hdr is the block start alloc_with_header got.
        let base = unsafe { ptr.sub(hdr) };
        // SAFETY: base starts the block of size's class being freed here.
        if is_small(size, hdr) && unsafe { self.quick.push(crate::quick::class(size), base) } {
            return Ok(());
        }
        // SAFETY: base and layout are exactly what alloc_with_header used.
        unsafe { self.backend.free(base, backend_bytes(size, hdr), hdr) };
        if let Some(off) = header::gone_at(size, hdr) {
            // SAFETY: the block was just freed; the backends keep nothing there.
            unsafe { header::mark_gone(ptr, off) };
        }
        Ok(())
    }

    /// Requested size of the live block at `ptr`, or `None` when `ptr` is not
    /// one (the same checks as `free`, nothing counted).
    fn block_size(&self, ptr: *const u8) -> Option<usize> {
        self.validate(ptr).ok().map(|(size, _)| size)
    }

    /// `realloc` of a live block (not null, `size > 0`): on failure null,
    /// and `ptr` intact. A pointer `validate` refuses is left alone,
    /// counted, and null is returned.
    ///
    /// # Safety
    /// `ptr` is a pointer returned by this heap, not null.
    unsafe fn resize(&mut self, ptr: *mut u8, size: usize) -> *mut u8 {
        let (old, hdr) = match self.validate(ptr) {
            Ok(v) => v,
            Err(_) => {
                self.refuse();
                return null_mut();
            }
        };
        let Some(block) = header::block_size(size, hdr) else {
            return self.fail();
        };
        if is_small(old, hdr) && is_small(size, hdr) && crate::quick::class(old) == crate::quick::class(size) {
            // same class: the block already has room
            // SAFETY: ptr is live; its block holds the class's bytes.
            unsafe { header::write(ptr, size, HEADER) };
            self.stats.on_resize(old, size);
            return ptr;
        }
        if hdr == HEADER && !is_small(old, hdr) && !is_small(size, hdr) {
            // Marked freed first: when the backend moves the block, the old
            // pointer must be refused (found by an adversarial run: a stale
            // pointer was freed twice into the backend).
            // SAFETY: ptr is a live block (validated).
            unsafe { header::mark_freed(ptr) };
            // SAFETY: the block was allocated with (old + HEADER, MIN_ALIGN).
            let base = unsafe { self.backend.realloc(ptr.sub(HEADER), old + HEADER, block) };
            if base.is_null() {
                // SAFETY: the block is still live and unchanged: its header back.
                unsafe { header::write(ptr, old, HEADER) };
                return self.fail();
            }
            if let Some(off) = header::gone_at(old, HEADER) {
                let (mark, new_base) = (ptr as usize + off, base as usize);
                if new_base >= mark + 8 || new_base + block <= mark {
                    // moved, and the old block's mark lies outside the new one
                    // SAFETY: the old block was freed by the backend's realloc.
                    unsafe { header::mark_gone(ptr, off) };
                }
            }
            self.note_block(base as usize, block);
            // SAFETY: the new block holds HEADER + size bytes.
            let user = unsafe { base.add(HEADER) };
            // SAFETY: as above.
            unsafe { header::write(user, size, HEADER) };
            self.stats.on_resize(old, size);
            return user;
        }
        // Small blocks changing class and over-aligned blocks (which keep
        // their alignment) move: allocate, copy, free. The old bytes leave
        // the count while the new block is taken, so the peak never holds
        // both (found by an adversarial run); `free` takes them out once.
        self.stats.in_use -= old;
        let new = self.alloc_with_header(size, hdr);
        self.stats.in_use += old;
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the copy fits both.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, old.min(size));
                self.free(ptr);
            }
            // alloc_with_header counted this realloc once in `total`, as documented.
        }
        new
    }
}

#[cfg(test)]
pub(crate) mod tests;
