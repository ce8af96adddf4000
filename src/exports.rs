//! The exported C ABI: thin wrappers over the one global [`Heap`].
//!
//! All pointers are byte offsets into `env.memory` (unsigned: JavaScript
//! sees addresses above 2 GiB as negative i32, normalise with `>>> 0`);
//! 0 means failure.

use crate::backend::{selected, Selected};
use crate::heap::Heap;
use crate::record::Record;

static mut HEAP: Heap<Selected> = Heap::new(selected());

#[inline(always)]
fn heap() -> &'static mut Heap<Selected> {
    // SAFETY: wasm32 without threads runs one call at a time and no export
    // re-enters another, so this is the only live reference to HEAP.
    unsafe { &mut *core::ptr::addr_of_mut!(HEAP) }
}

/// At least `size` bytes aligned to 8; `malloc(0)` is a unique pointer; 0 when out of memory.
#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    heap().malloc(size)
}

/// Frees a block from any allocation export; `free(0)` does nothing. A
/// pointer that cannot be a block (misaligned, outside the heap, bad header)
/// is ignored and counted in `stats_invalid_frees`.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    // SAFETY: caller contract.
    unsafe { heap().free(ptr) };
}

/// `free` that reports: 0 when freed (or `ptr` is 0), 1 when the pointer was
/// refused as not a block of this heap (nothing was freed). The JS loader's
/// `heap.free` uses it to throw instead of failing silently.
///
/// # Safety
/// As for `free`.
#[no_mangle]
pub unsafe extern "C" fn try_free(ptr: *mut u8) -> u32 {
    // SAFETY: caller contract.
    !unsafe { heap().free(ptr) } as u32
}

/// `n * size` zeroed bytes; 0 on overflow or out of memory.
#[no_mangle]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut u8 {
    heap().calloc(n, size)
}

/// C `realloc`; on failure returns 0 and `ptr` stays valid and unchanged.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: caller contract.
    unsafe { heap().realloc(ptr, size) }
}

/// `size` bytes aligned to `align` (power of two, 1 ..= 65536); else 0.
#[no_mangle]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    heap().aligned_alloc(align, size)
}

/// Rust-style allocation; `align` 0 means 8.
#[export_name = "alloc"]
pub extern "C" fn rust_alloc(size: usize, align: usize) -> *mut u8 {
    heap().aligned_alloc(if align == 0 { 8 } else { align }, size)
}

/// Frees a block from `alloc`. The header records size and alignment, so
/// the given ones are only checked (by the checked build).
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[export_name = "dealloc"]
pub unsafe extern "C" fn rust_dealloc(ptr: *mut u8, size: usize, align: usize) {
    // SAFETY: caller contract.
    unsafe { heap().dealloc(ptr, size, align) };
}

/// Allocates and fills a [`Record`]; 0 when out of memory.
#[export_name = "createRecord"]
pub extern "C" fn create_record(id: u32, x: f64, y: f64) -> *mut Record {
    let p = heap().malloc(core::mem::size_of::<Record>()) as *mut Record;
    if !p.is_null() {
        // SAFETY: p is a fresh 8-aligned block of size_of::<Record>() bytes.
        unsafe { p.write(Record::new(id, x, y)) };
    }
    p
}

/// Frees a record; 0 does nothing.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[export_name = "deleteRecord"]
pub unsafe extern "C" fn delete_record(ptr: *mut Record) {
    // SAFETY: caller contract.
    unsafe { heap().free(ptr as *mut u8) };
}

/// Blocks currently live.
#[no_mangle]
pub extern "C" fn stats_live_allocations() -> usize {
    heap().stats().live
}

/// Successful allocations since start.
#[no_mangle]
pub extern "C" fn stats_total_allocations() -> usize {
    heap().stats().total
}

/// Allocation requests that returned 0.
#[no_mangle]
pub extern "C" fn stats_failed_allocations() -> usize {
    heap().stats().failed
}

/// Requested bytes in live blocks.
#[no_mangle]
pub extern "C" fn stats_in_use_bytes() -> usize {
    heap().stats().in_use
}

/// High-water mark of `stats_in_use_bytes`.
#[no_mangle]
pub extern "C" fn stats_peak_in_use_bytes() -> usize {
    heap().stats().peak
}

/// Bytes the heap has taken from `memory.grow`.
#[no_mangle]
pub extern "C" fn stats_heap_bytes() -> usize {
    heap().heap_bytes()
}

/// `free`/`realloc`/`dealloc`/`deleteRecord` calls given a pointer that
/// cannot be a block of this heap (ignored).
#[no_mangle]
pub extern "C" fn stats_invalid_frees() -> usize {
    heap().stats().invalid_frees
}

/// Checked build: walks every live block, verifying headers and canaries.
/// 0 = healthy, else a fault code (see `checked_error_code`).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn heap_check() -> u32 {
    heap().check()
}

/// Checked build: code of the last detected fault (0 none, 1 double free,
/// 2 invalid free, 3 overflow, 4 header corrupt, 5 dealloc size mismatch).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_code() -> u32 {
    crate::checked::last_fault().0
}

/// Checked build: pointer involved in the last fault.
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_ptr() -> u32 {
    crate::checked::last_fault().1
}

/// Checked build: forgets the last fault (after the loader has reported it).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_clear() {
    crate::checked::clear_fault()
}

/// Checked build: requested size of the block involved in the last fault (0 if unknown).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_size() -> u32 {
    crate::checked::last_fault().2
}

/// Rust code inside this module (and crates it links, such as talc's
/// `alloc`-using helpers) allocates from the same heap as the exports.
struct SameHeap;

// SAFETY: forwards to the heap, which returns blocks of at least the
// requested size and alignment, or null.
unsafe impl core::alloc::GlobalAlloc for SameHeap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        heap().aligned_alloc(layout.align(), layout.size())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: ptr came from `alloc` above.
        unsafe { heap().free(ptr) };
    }
}

#[global_allocator]
static GLOBAL: SameHeap = SameHeap;
