//! The one seam between allocator logic and `memory.grow`.
//!
//! Backends that can be handed a page source ask a [`Grow`] for fresh pages.
//! On wasm32 that is [`WasmPages`] (the real `memory.grow` on memory 0); on the
//! host, tests use [`FakePages`], a fixed buffer carved into 64 KiB pages, so
//! the same backend code runs under `cargo test`.

use core::cell::Cell;

/// WebAssembly page size in bytes.
pub const PAGE: usize = 65536;

/// A source of fresh, zeroed, page-aligned memory that is never given back.
pub trait Grow {
    /// Obtains `pages` new pages; returns their base address, or null when the
    /// memory cannot grow (its maximum, or the 4 GiB limit, is reached).
    fn grow(&self, pages: usize) -> *mut u8;
    /// Bytes obtained through [`Grow::grow`] so far (the heap's footprint).
    fn grown_bytes(&self) -> usize;
}

/// Pages from the real `memory.grow` on linear memory 0.
#[derive(Debug, Default)]
pub struct WasmPages {
    grown: Cell<usize>,
}

impl WasmPages {
    /// A page source that has not grown anything yet.
    pub const fn new() -> Self {
        Self { grown: Cell::new(0) }
    }
}

impl Grow for WasmPages {
    #[cfg(target_arch = "wasm32")]
    fn grow(&self, pages: usize) -> *mut u8 {
        let prev = core::arch::wasm32::memory_grow(0, pages);
        if prev == usize::MAX {
            return core::ptr::null_mut();
        }
        self.grown.set(self.grown.get() + pages * PAGE);
        (prev * PAGE) as *mut u8
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn grow(&self, _pages: usize) -> *mut u8 {
        core::ptr::null_mut()
    }

    fn grown_bytes(&self) -> usize {
        self.grown.get()
    }
}

/// Host-side stand-in for linear memory: a caller-provided buffer handed out
/// page by page, failing once it is used up, like a memory at its maximum.
#[derive(Debug)]
pub struct FakePages {
    base: *mut u8,
    pages: usize,
    used: Cell<usize>,
}

// SAFETY: the buffer is only touched through the allocator that owns this
// value, and tests never share one allocator between threads.
unsafe impl Send for FakePages {}

impl FakePages {
    /// Pages out of `[base, base + pages * PAGE)`.
    ///
    /// # Safety
    /// The range must be valid, writable, zeroed, `PAGE`-aligned and used by
    /// nothing else for as long as this value (and the heap using it) lives.
    pub const unsafe fn new(base: *mut u8, pages: usize) -> Self {
        Self { base, pages, used: Cell::new(0) }
    }
}

impl Grow for FakePages {
    fn grow(&self, pages: usize) -> *mut u8 {
        let used = self.used.get();
        if pages > self.pages - used {
            return core::ptr::null_mut();
        }
        self.used.set(used + pages);
        self.base.wrapping_add(used * PAGE)
    }

    fn grown_bytes(&self) -> usize {
        self.used.get() * PAGE
    }
}

/// Number of pages that hold `bytes`, or `None` if that overflows.
pub fn pages_for(bytes: usize) -> Option<usize> {
    Some(bytes.checked_add(PAGE - 1)? / PAGE)
}
