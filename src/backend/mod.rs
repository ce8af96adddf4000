//! The allocator backends behind one small trait, and the compile-time choice
//! of exactly one of them for the drop-in module (on the host, tests may
//! enable several at once and drive each through `Heap`).
//!
//! A backend only sees requests that [`crate::heap::Heap`] has already
//! validated: `size > 0`, `align` a power of two between [`MIN_ALIGN`] and
//! [`crate::header::MAX_ALIGN`], `size + align` far below `isize::MAX`.

#[cfg(feature = "dlmalloc")]
pub mod dl;
pub mod global;
#[cfg(feature = "talc")]
pub mod talc;

/// Every block a backend returns is aligned to at least this.
pub const MIN_ALIGN: usize = 8;

/// A general-purpose allocator that `Heap` drives.
///
/// # Safety
/// Implementations must return blocks of at least `size` bytes aligned to
/// `align` that do not overlap any other live block, and must only use memory
/// they own (see the heap invariant in the README).
pub unsafe trait Backend {
    /// Allocates `size` bytes aligned to `align`; null when out of memory.
    ///
    /// # Safety
    /// `size > 0`; `align` is a power of two `>= MIN_ALIGN`.
    unsafe fn alloc(&mut self, size: usize, align: usize) -> *mut u8;

    /// Frees a block returned by `alloc`/`realloc` with this `size`/`align`.
    ///
    /// # Safety
    /// `ptr` is live and was allocated with exactly `size` and `align`.
    unsafe fn free(&mut self, ptr: *mut u8, size: usize, align: usize);

    /// Resizes a block allocated with `align == MIN_ALIGN`, preserving its
    /// first `min(old, new)` bytes. Null on failure, leaving `ptr` untouched.
    ///
    /// # Safety
    /// `ptr` is live, allocated with `old_size` and `MIN_ALIGN`; `new_size > 0`.
    unsafe fn realloc(&mut self, ptr: *mut u8, old_size: usize, new_size: usize) -> *mut u8;

    /// Bytes of memory this backend manages (its regions).
    fn heap_bytes(&self) -> usize;
}

/// Shared fallback for `realloc`: allocate, copy, free.
///
/// # Safety
/// As for [`Backend::realloc`].
pub unsafe fn realloc_by_copy<B: Backend + ?Sized>(b: &mut B, ptr: *mut u8, old_size: usize, new_size: usize) -> *mut u8 {
    // SAFETY: new_size > 0 and MIN_ALIGN is a power of two (caller contract).
    let new = unsafe { b.alloc(new_size, MIN_ALIGN) };
    if !new.is_null() {
        // SAFETY: both blocks are live, distinct, and hold at least the copied length.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr, new, old_size.min(new_size));
            b.free(ptr, old_size, MIN_ALIGN);
        }
    }
    new
}

// Exactly one backend per wasm build (or `checked`, `lin`, `bump`, which are
// heaps of their own).
#[cfg(all(
    target_arch = "wasm32",
    not(any(feature = "lin", feature = "bump", feature = "dlmalloc", feature = "wee_alloc", feature = "talc", feature = "checked"))
))]
compile_error!("linalloc: enable one backend feature: lin, bump, dlmalloc, wee_alloc, talc, checked");

#[cfg(all(
    target_arch = "wasm32",
    any(feature = "checked", feature = "lin", feature = "bump"),
    any(feature = "dlmalloc", feature = "wee_alloc", feature = "talc")
))]
compile_error!("linalloc: checked, lin and bump are heaps of their own; build one with --no-default-features --features <one>");

#[cfg(all(target_arch = "wasm32", any(all(feature = "checked", feature = "lin"), all(feature = "bump", any(feature = "checked", feature = "lin")))))]
compile_error!("linalloc: checked, lin and bump are heaps of their own; build one with --no-default-features --features <one>");

/// The heap type of this wasm build: linalloc's own heap (the default), the
/// release [`crate::heap::Heap`] over another backend, or the checked heap.
#[cfg(all(target_arch = "wasm32", feature = "lin"))]
pub type Active = crate::lin::LinHeap<crate::grow::Pages<crate::grow::WasmMemory>>;
/// The heap type of this wasm build: the bump arena.
#[cfg(all(target_arch = "wasm32", feature = "bump"))]
pub type Active = crate::bump::BumpHeap<crate::grow::Pages<crate::grow::WasmMemory>>;
/// The heap type of this wasm build: the release [`crate::heap::Heap`] over
/// the selected backend, or the checked build's own heap.
#[cfg(all(target_arch = "wasm32", not(any(feature = "checked", feature = "lin", feature = "bump"))))]
pub type Active = crate::heap::Heap<Selected>;
/// The heap type of this wasm build: the release [`crate::heap::Heap`] over
/// the selected backend, or the checked build's own heap.
#[cfg(all(target_arch = "wasm32", feature = "checked"))]
pub type Active = crate::checked::CheckedHeap<crate::grow::Pages<crate::grow::WasmMemory>>;

/// Writes this build's heap over the region `[start, end)` of memory 0 at `p`.
///
/// # Safety
/// `p` is valid for writing an `Active`.
#[cfg(target_arch = "wasm32")]
pub unsafe fn init_active(p: *mut Active, start: usize, end: usize) {
    let pages = crate::grow::Pages::new(crate::grow::WasmMemory, start, end);
    // SAFETY: caller contract.
    #[cfg(feature = "lin")]
    return unsafe { crate::lin::LinHeap::init_at(p, pages) };
    // SAFETY: caller contract.
    #[cfg(not(feature = "lin"))]
    return unsafe { p.write(active(pages)) };
}

/// This build's heap over `pages` (the region `[start, end)` of memory 0).
#[cfg(all(target_arch = "wasm32", not(feature = "lin")))]
#[allow(unused_variables)]
fn active(pages: crate::grow::Pages<crate::grow::WasmMemory>) -> Active {
    #[cfg(feature = "checked")]
    return crate::checked::CheckedHeap::new(pages);
    #[cfg(feature = "bump")]
    return crate::bump::BumpHeap::new(pages);
    #[cfg(not(any(feature = "checked", feature = "lin", feature = "bump")))]
    return crate::heap::Heap::new(selected(pages));
}

#[cfg(all(
    target_arch = "wasm32",
    any(all(feature = "dlmalloc", any(feature = "wee_alloc", feature = "talc")), all(feature = "wee_alloc", feature = "talc"),)
))]
compile_error!("linalloc: backend features are exclusive; build with --no-default-features --features <one>");

/// The backend compiled into this build.
#[cfg(all(target_arch = "wasm32", feature = "dlmalloc"))]
pub type Selected = dl::DlBackend<crate::grow::Pages<crate::grow::WasmMemory>>;
/// The backend compiled into this build.
#[cfg(all(target_arch = "wasm32", feature = "talc"))]
pub type Selected = talc::TalcBackend<crate::grow::Pages<crate::grow::WasmMemory, { talc::TALC_END }>>;
/// The backend compiled into this build.
#[cfg(all(target_arch = "wasm32", feature = "wee_alloc"))]
pub type Selected = global::GlobalAllocBackend<wee_alloc::WeeAlloc<'static>>;

/// The selected backend over the heap's pages (backends that grow memory
/// themselves ignore them).
#[cfg(all(target_arch = "wasm32", not(any(feature = "checked", feature = "lin", feature = "bump"))))]
#[allow(unused_variables)]
pub fn selected(pages: crate::grow::Pages<crate::grow::WasmMemory>) -> Selected {
    #[cfg(feature = "dlmalloc")]
    return dl::DlBackend::new(pages);
    #[cfg(feature = "talc")]
    return talc::TalcBackend::new(pages.limited::<{ talc::TALC_END }>());
    #[cfg(feature = "wee_alloc")]
    return global::GlobalAllocBackend::new(wee_alloc::WeeAlloc::INIT);
}

/// Build id written into the memory's owner tag (`crate::owner`): the
/// backend in the low byte, the checked and bench-only variants above it.
/// Instances of the same build share a heap; other builds refuse it.
pub const BUILD_ID: u32 = {
    let backend = if cfg!(feature = "checked") {
        6
    } else if cfg!(feature = "lin") {
        7
    } else if cfg!(feature = "bump") {
        8
    } else if cfg!(feature = "talc") {
        1
    } else if cfg!(feature = "dlmalloc") {
        2
    } else {
        3 // wee_alloc
    };
    // (4 and 5 were bench-only builds; 0x200 marked one without quick lists)
    backend | (cfg!(feature = "checked") as u32) << 8
};
