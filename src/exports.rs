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

/// Frees a block from any allocation export; `free(0)` does nothing.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    // SAFETY: caller contract.
    unsafe { heap().free(ptr) }
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
/// the given ones are not needed.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[export_name = "dealloc"]
pub unsafe extern "C" fn rust_dealloc(ptr: *mut u8, _size: usize, _align: usize) {
    // SAFETY: caller contract.
    unsafe { heap().free(ptr) }
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
    unsafe { heap().free(ptr as *mut u8) }
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
        unsafe { heap().free(ptr) }
    }
}

#[global_allocator]
static GLOBAL: SameHeap = SameHeap;
