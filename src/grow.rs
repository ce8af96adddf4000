//! The one seam between allocator logic and linear memory.
//!
//! [`LinearMemory`] is `memory.size`/`memory.grow` on memory 0 ([`WasmMemory`])
//! or, on the host, a buffer that plays a memory with a current size and a
//! maximum ([`FakeMemory`]). [`Pages`] turns it into the regions a backend
//! manages: first the caller's pages (from the heap start to the end of the
//! memory when the heap started), then pages from `memory.grow`. Pages that
//! someone else grows later are never handed out.

use core::cell::Cell;

/// WebAssembly page size in bytes.
pub const PAGE: usize = 65536;

/// No region ends above this: the last 4 KiB below 4 GiB stay unused, so no
/// backend's end arithmetic wraps on wasm32. (16 bytes, as dlmalloc-rs keeps
/// back, were not enough for talc: with them a 4 GiB fill handed out page-0
/// addresses, found by tests/ownership.test.mjs.)
pub const END_LIMIT: usize = usize::MAX - 4095;

/// A linear memory: its size, and growing it.
pub trait LinearMemory: Copy {
    /// Address of byte 0 of the memory (0 on wasm; a real pointer on the host).
    fn base(self) -> usize;
    /// Current size in pages.
    fn pages(self) -> usize;
    /// Grows by `n` pages; the previous size in pages, or `None` when the
    /// memory cannot grow (its maximum, or 4 GiB).
    fn grow(self, n: usize) -> Option<usize>;
}

/// Memory 0 of the running wasm instance.
#[derive(Debug, Clone, Copy, Default)]
pub struct WasmMemory;

impl LinearMemory for WasmMemory {
    fn base(self) -> usize {
        0
    }
    #[cfg(target_arch = "wasm32")]
    fn pages(self) -> usize {
        core::arch::wasm32::memory_size(0)
    }
    #[cfg(target_arch = "wasm32")]
    fn grow(self, n: usize) -> Option<usize> {
        let prev = core::arch::wasm32::memory_grow(0, n);
        (prev != usize::MAX).then_some(prev)
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn pages(self) -> usize {
        0
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn grow(self, _n: usize) -> Option<usize> {
        None
    }
}

/// Host stand-in for a wasm memory: `max` pages of real, zeroed memory, of
/// which the first `pages` are "in the memory". Tests grow it from outside
/// the heap too, as JavaScript would.
#[derive(Debug, Clone, Copy)]
pub struct FakeMemory(&'static FakeState);

#[derive(Debug)]
struct FakeState {
    base: usize,
    pages: Cell<usize>,
    max: usize,
}

// SAFETY: a FakeMemory is only used by the one test thread that made it.
unsafe impl Send for FakeMemory {}

#[cfg(not(target_arch = "wasm32"))]
impl FakeMemory {
    /// A memory of `initial` pages that can grow to `max` pages (leaked: it
    /// lives as long as the test process).
    pub fn new(initial: usize, max: usize) -> Self {
        extern crate std;
        use std::alloc::{alloc_zeroed, Layout};
        assert!(initial <= max && max > 0);
        let layout = Layout::from_size_align(max * PAGE, PAGE).unwrap();
        // SAFETY: non-zero size.
        let base = unsafe { alloc_zeroed(layout) };
        assert!(!base.is_null());
        let state = std::boxed::Box::leak(std::boxed::Box::new(FakeState { base: base as usize, pages: Cell::new(initial), max }));
        Self(state)
    }

    /// Address one past the memory's current last byte.
    pub fn end(self) -> usize {
        self.0.base + self.0.pages.get() * PAGE
    }
}

impl LinearMemory for FakeMemory {
    fn base(self) -> usize {
        self.0.base
    }
    fn pages(self) -> usize {
        self.0.pages.get()
    }
    fn grow(self, n: usize) -> Option<usize> {
        let prev = self.0.pages.get();
        if n > self.0.max - prev {
            return None;
        }
        self.0.pages.set(prev + n);
        Some(prev)
    }
}

/// A source of fresh memory for a backend.
pub trait Grow {
    /// A region `(start, len)` the caller now owns, of at least `min` bytes
    /// when possible. When the memory cannot grow, the rest of the caller's
    /// pages is returned even if shorter than `min`; `None` when nothing is left.
    fn claim(&self, min: usize) -> Option<(*mut u8, usize)>;
    /// Bytes of memory this source has handed out (the heap's footprint).
    fn owned_bytes(&self) -> usize;
}

/// The heap's pages: the part of the caller's memory it was given, then
/// pages it grows itself.
#[derive(Debug)]
pub struct Pages<M: LinearMemory, const LIMIT: usize = END_LIMIT> {
    mem: M,
    /// Bytes owned but not handed out yet: `[next, end)` of the caller's pages.
    next: Cell<usize>,
    end: Cell<usize>,
    owned: Cell<usize>,
}

impl<M: LinearMemory> Pages<M> {
    /// Pages of `mem` from `start` to `end` (the memory's end when the heap
    /// started), then whatever `memory.grow` gives. `start <= end <= END_LIMIT`.
    pub const fn new(mem: M, start: usize, end: usize) -> Self {
        Self { mem, next: Cell::new(start), end: Cell::new(end), owned: Cell::new(0) }
    }
}

impl<M: LinearMemory, const LIMIT: usize> Pages<M, LIMIT> {
    /// These pages, handing out nothing at or past `L` (below `END_LIMIT`):
    /// the caller's pages are cut there, and the memory is not grown for
    /// pages past it (the talc build's arena stops at 2 GiB). A constant,
    /// so the other builds carry no check.
    pub fn limited<const L: usize>(self) -> Pages<M, L> {
        Pages { mem: self.mem, next: Cell::new(self.next.get().min(L)), end: Cell::new(self.end.get().min(L)), owned: self.owned }
    }

    /// The memory these pages live in.
    pub fn memory(&self) -> M {
        self.mem
    }

    /// Grows by enough pages for `bytes`; the new region `[start, end)`.
    fn grow_bytes(&self, bytes: usize) -> Option<(usize, usize)> {
        let n = pages_for(bytes)?;
        if LIMIT < END_LIMIT {
            // pages that would end past a backend's limit are not grown at all
            let at = self.mem.base().checked_add(self.mem.pages().checked_mul(PAGE)?)?;
            if n > LIMIT.saturating_sub(at) / PAGE {
                return None;
            }
        }
        let prev = self.mem.grow(n)?;
        let start = self.mem.base() + prev * PAGE;
        let end = start.saturating_add(n.saturating_mul(PAGE)).min(LIMIT.min(END_LIMIT));
        Some((start, end))
    }

    fn hand_out(&self, start: usize, end: usize) -> Option<(*mut u8, usize)> {
        if end <= start {
            return None;
        }
        self.owned.set(self.owned.get() + (end - start));
        Some((start as *mut u8, end - start))
    }
}

impl<M: LinearMemory, const LIMIT: usize> Grow for Pages<M, LIMIT> {
    fn claim(&self, min: usize) -> Option<(*mut u8, usize)> {
        let (next, end) = (self.next.get(), self.end.get());
        let left = end.saturating_sub(next);
        let (start, stop) = if left >= min && left > 0 {
            self.next.set(end);
            (next, end)
        } else {
            // Only pages that follow the caller's join them: when someone
            // else grew the memory since (the memory no longer ends where
            // the caller's pages do), the new pages alone must hold `min`
            // (found by an adversarial run: asking for `min - left` then
            // gave a false out of memory on a growable memory).
            let joins = left > 0 && self.mem.base().checked_add(self.mem.pages().saturating_mul(PAGE)) == Some(end);
            match self.grow_bytes(if joins { min - left } else { min }) {
                // contiguous with what is left of the caller's pages: one region
                Some((start, new_end)) if left > 0 && start == end => {
                    self.next.set(new_end);
                    self.end.set(new_end);
                    (next, new_end)
                }
                // someone else grew in between: the new pages alone; what is
                // left of the caller's pages waits for the next claim
                Some(region) => region,
                None => {
                    self.next.set(end);
                    (next, end)
                }
            }
        };
        self.hand_out(start, stop)
    }

    fn owned_bytes(&self) -> usize {
        self.owned.get()
    }
}

/// Number of pages that hold `bytes`, or `None` if that overflows.
pub fn pages_for(bytes: usize) -> Option<usize> {
    Some(bytes.checked_add(PAGE - 1)? / PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_pages_first_then_growth() {
        let mem = FakeMemory::new(2, 8);
        let start = mem.base() + 1000;
        let p = Pages::new(mem, start, mem.end());
        let (a, len) = p.claim(100).unwrap();
        assert_eq!((a as usize, len), (start, 2 * PAGE - 1000), "the whole rest of the caller's pages");
        assert_eq!(mem.pages(), 2, "no growth while the caller's pages last");
        let (b, len) = p.claim(PAGE + 1).unwrap();
        assert_eq!((b as usize, len), (mem.base() + 2 * PAGE, 2 * PAGE));
        assert_eq!(p.owned_bytes(), 4 * PAGE - 1000);
    }

    #[test]
    fn pages_grown_by_others_are_skipped() {
        let mem = FakeMemory::new(1, 8);
        let p = Pages::new(mem, mem.base() + 64, mem.end());
        p.claim(8).unwrap();
        mem.grow(2).unwrap(); // "JavaScript" grows pages 1 and 2
        let (b, _) = p.claim(8).unwrap();
        assert_eq!(b as usize, mem.base() + 3 * PAGE, "pages 1-2 stay the caller's");
    }

    #[test]
    fn pages_grown_by_others_do_not_shorten_a_claim() {
        // the heap started on 16 pages, took none yet; JS grew the memory
        let mem = FakeMemory::new(16, 1024);
        let start = mem.base() + 15 * PAGE;
        let p = Pages::new(mem, start, mem.end());
        mem.grow(1).unwrap();
        let (a, len) = p.claim(1 << 20).unwrap();
        assert!(len >= 1 << 20, "a claim of 1 MiB got {len} bytes");
        assert_eq!(a as usize, mem.base() + 17 * PAGE, "the new pages, after the ones JS grew");
        // the caller's page waits for the next claim that fits in it
        assert_eq!(p.claim(100).unwrap(), (start as *mut u8, PAGE));
    }

    #[test]
    fn short_caller_region_joins_contiguous_growth() {
        let mem = FakeMemory::new(1, 8);
        let start = mem.base() + PAGE - 100;
        let p = Pages::new(mem, start, mem.end());
        let (a, len) = p.claim(1000).unwrap();
        assert_eq!((a as usize, len), (start, 100 + PAGE));
        // fixed memory: what is left is handed out even when short
        let mem = FakeMemory::new(1, 1);
        let p = Pages::new(mem, mem.base() + 64, mem.end());
        assert_eq!(p.claim(PAGE * 4).unwrap().1, PAGE - 64);
        assert!(p.claim(8).is_none());
    }

    #[test]
    fn regions_never_reach_4gib() {
        assert_eq!(END_LIMIT.wrapping_add(4096), 0, "END_LIMIT is 4 KiB below the end of the address space");
        assert_eq!(END_LIMIT % 16, 0);
    }
}
