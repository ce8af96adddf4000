//! The exported C ABI: thin wrappers over the one global [`Heap`].
//!
//! All pointers are byte offsets into `env.memory` (unsigned: JavaScript
//! sees addresses above 2 GiB as negative i32, normalise with `>>> 0`);
//! 0 means failure.

#[cfg(not(feature = "checked"))]
use crate::api::Allocator;
use crate::backend::{Active, BUILD_ID};
use crate::grow::WasmMemory;
use crate::heap::Rejected;
use crate::lock::Guard;
use crate::owner;
use crate::record::Record;
use crate::threads;

extern "C" {
    /// First byte after this module's static data (defined by wasm-ld).
    static __heap_base: u8;
}

/// The heap of this memory, if this build's heap has started. Its state
/// lives in memory at the address the owner tag holds (`crate::owner`), so
/// every instance of this build on one memory uses the same heap.
///
/// Every export that reaches the heap holds the heap lock (`crate::lock`;
/// nothing outside the threads build) from before this call to its end.
#[inline(always)]
fn heap() -> Option<&'static mut Active> {
    let state = owner::state(WasmMemory, BUILD_ID)?;
    // SAFETY: the tag names this build, so `state` is an Active written by
    // `start`; the caller holds the lock, which keeps every other call
    // (other threads' too) out, and no export re-enters another while it
    // holds the lock, so this is the only live reference.
    Some(unsafe { &mut *(state as *mut Active) })
}

/// The heap, started on first use: it takes the caller's pages from
/// `__heap_base` (at least `HEAP_FLOOR`; or the reservation) to the end of
/// the memory. `None` when another build owns the memory, or not even the
/// state fits. The caller holds the lock.
#[inline(always)]
fn heap_or_start() -> Option<&'static mut Active> {
    match heap() {
        Some(h) => Some(h),
        None => start(),
    }
}

/// [`heap`] as a call: one copy for the exports that are not the hot paths
/// of C or the loader (`malloc`, `free`, `try_free`, `realloc` keep theirs
/// inline; inline in each export, it cost 193 bytes). The Rust-style
/// `alloc`/`dealloc` pay the call: about 0.35 ns each, measured on
/// `malloc`/`free`.
#[inline(never)]
fn heap_cold() -> Option<&'static mut Active> {
    heap()
}

/// [`heap_or_start`] as a call, as [`heap_cold`].
#[inline(never)]
fn heap_or_start_cold() -> Option<&'static mut Active> {
    heap_or_start()
}

/// Starts the heap (the caller holds the lock).
#[cold]
#[inline(never)]
fn start() -> Option<&'static mut Active> {
    // Taking the address of a linker symbol reads nothing.
    let heap_base = (core::ptr::addr_of!(__heap_base) as usize).max(owner::HEAP_FLOOR);
    // SAFETY: memory 0 is this module's; above __heap_base (and the
    // reservation) it belongs to the heap; every instance of BUILD_ID keeps
    // a Active at the tag's state address.
    let state = unsafe { owner::start(WasmMemory, BUILD_ID, heap_base, |p, a, b| crate::backend::init_active(p, a, b)) }.ok()?;
    // SAFETY: as in `heap`.
    Some(unsafe { &mut *(state as *mut Active) })
}

/// Counter `i` ([`crate::stats::Stats::field`]) of this build's heap on
/// this memory (zero before it starts).
// One out-of-line copy for the seven counter exports keeps the module small.
#[inline(never)]
fn stat(i: usize) -> usize {
    let _held = Guard::take();
    heap_cold().map_or(0, |h| threads::counters(h).field(i))
}

/// At least `size` bytes aligned to 8; `malloc(0)` is a unique pointer; 0 when out of memory.
#[no_mangle]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    let p = threads::cached(size);
    if !p.is_null() {
        return p;
    }
    let _held = Guard::take();
    let Some(h) = heap_or_start() else { return core::ptr::null_mut() };
    threads::set_up();
    let p = or_after_flush(h, |h| h.malloc(size));
    if !p.is_null() {
        threads::refill(h, size);
    }
    p
}

/// `alloc(h)`, and in the threads build once more after this thread's
/// cache was emptied into the heap when it failed for want of memory (that
/// failure then uncounted; a refused pointer is not retried). Elsewhere just
/// `alloc(h)`.
#[inline(always)]
fn or_after_flush(h: &mut Active, mut alloc: impl FnMut(&mut Active) -> *mut u8) -> *mut u8 {
    let (failed, peak) = (threads::failures(h), threads::peak(h));
    let mut p = alloc(h);
    if p.is_null() && threads::failures(h) != failed && threads::retry_after_flush(h) {
        p = alloc(h);
    }
    threads::settle_peak(h, peak);
    p
}

/// Frees a block from any allocation export; `free(0)` does nothing. A
/// pointer that is not a live block (misaligned, outside the heap, bad
/// header, freed already) is ignored and counted in `stats_invalid_frees`.
///
/// # Safety
/// `ptr` is 0 or a block of this module.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    // SAFETY: caller contract.
    if unsafe { threads::uncache(ptr) } {
        return;
    }
    let _held = Guard::take();
    if let Some(h) = heap() {
        // SAFETY: caller contract.
        unsafe { h.free(ptr) };
    }
}

/// `free` that reports: 0 when freed (or `ptr` is 0), 1 when the pointer was
/// refused as not a block of this heap, 2 when refused as freed already
/// (double free). Nothing is freed when refused. The JS loader's
/// `heap.free` uses it to throw instead of failing silently.
///
/// # Safety
/// As for `free`.
#[no_mangle]
pub unsafe extern "C" fn try_free(ptr: *mut u8) -> u32 {
    // SAFETY: caller contract.
    if unsafe { threads::uncache(ptr) } {
        return 0;
    }
    let _held = Guard::take();
    let Some(h) = heap() else { return !ptr.is_null() as u32 };
    // SAFETY: caller contract.
    match unsafe { h.try_free(ptr) } {
        Ok(()) => 0,
        Err(Rejected::DoubleFree) => 2,
        Err(_) => 1,
    }
}

/// Keeps bytes `[0, end)` of the memory out of the heap, growing the memory
/// if it is shorter. Yours are `[HEAP_FLOOR, end)` (17 KiB on): the first
/// 17 KiB hold linalloc's own stack and the owner tag, which must stay
/// intact (for static data of other modules, or your own region).
/// Only before the first allocation: 1 when it took effect, 0 when the heap
/// has started already (or the memory cannot grow to `end`).
#[no_mangle]
pub extern "C" fn heap_reserve(end: usize) -> u32 {
    let _held = Guard::take();
    owner::reserve(WasmMemory, BUILD_ID, end) as u32
}

/// 0: no allocation yet; 1: this build's heap runs on this memory; 2: the
/// memory's heap belongs to another linalloc build (this instance refuses
/// to allocate: load one build per memory).
#[no_mangle]
pub extern "C" fn heap_status() -> u32 {
    let _held = Guard::take();
    match owner::read(WasmMemory) {
        t if t.build != 0 && t.build != BUILD_ID => 2,
        t if t.state != 0 => 1,
        _ => 0,
    }
}

/// Requested size of the live block at `ptr`, or 0xFFFFFFFF when `ptr` is
/// not the start of a live block of this heap.
#[no_mangle]
pub extern "C" fn heap_block_size(ptr: *const u8) -> usize {
    let _held = Guard::take();
    heap_cold().and_then(|h| h.block_size(ptr)).unwrap_or(usize::MAX)
}

/// `n * size` zeroed bytes; 0 on overflow or out of memory.
#[no_mangle]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut u8 {
    let _held = Guard::take();
    heap_or_start_cold().map_or(core::ptr::null_mut(), |h| or_after_flush(h, |h| h.calloc(n, size)))
}

/// C `realloc`; on failure returns 0 and `ptr` stays valid and unchanged.
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
    let _held = Guard::take();
    let Some(h) = heap_or_start() else { return core::ptr::null_mut() };
    // SAFETY: caller contract.
    or_after_flush(h, |h| unsafe { h.realloc(ptr, size) })
}

/// `size` bytes aligned to `align` (power of two, 1 ..= 65536); else 0.
#[no_mangle]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    let _held = Guard::take();
    heap_or_start_cold().map_or(core::ptr::null_mut(), |h| or_after_flush(h, |h| h.aligned_alloc(align, size)))
}

/// Rust-style allocation; `align` 0 means 8.
#[export_name = "alloc"]
pub extern "C" fn rust_alloc(size: usize, align: usize) -> *mut u8 {
    aligned_alloc(if align == 0 { 8 } else { align }, size)
}

/// Frees a block from `alloc`. The header records size and alignment, so
/// the given ones are only checked (by the checked build).
///
/// # Safety
/// `ptr` is 0 or a live block of this module.
#[export_name = "dealloc"]
pub unsafe extern "C" fn rust_dealloc(ptr: *mut u8, size: usize, align: usize) {
    let _held = Guard::take();
    if let Some(h) = heap_cold() {
        // SAFETY: caller contract.
        unsafe { h.dealloc(ptr, size, align) };
    }
}

/// Allocates and fills a [`Record`]; 0 when out of memory.
#[export_name = "createRecord"]
pub extern "C" fn create_record(id: u32, x: f64, y: f64) -> *mut Record {
    let p = malloc(core::mem::size_of::<Record>()) as *mut Record;
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
    unsafe { free(ptr as *mut u8) };
}

/// Blocks currently live.
#[no_mangle]
pub extern "C" fn stats_live_allocations() -> usize {
    stat(0)
}

/// Successful allocations since start.
#[no_mangle]
pub extern "C" fn stats_total_allocations() -> usize {
    stat(1)
}

/// Allocation requests that returned 0.
#[no_mangle]
pub extern "C" fn stats_failed_allocations() -> usize {
    stat(2)
}

/// Requested bytes in live blocks.
#[no_mangle]
pub extern "C" fn stats_in_use_bytes() -> usize {
    stat(3)
}

/// High-water mark of `stats_in_use_bytes`.
#[no_mangle]
pub extern "C" fn stats_peak_in_use_bytes() -> usize {
    stat(4)
}

/// Bytes of memory the heap manages: the caller's pages it took when it
/// started plus the pages it grew (wee_alloc: only pages it grew).
#[no_mangle]
pub extern "C" fn stats_heap_bytes() -> usize {
    let _held = Guard::take();
    heap_cold().map_or(0, |h| h.heap_bytes())
}

/// `free`/`realloc`/`dealloc`/`deleteRecord` calls given a pointer that
/// cannot be a block of this heap (ignored).
#[no_mangle]
pub extern "C" fn stats_invalid_frees() -> usize {
    stat(5)
}

/// Damaged links or tags found in freed memory (a write through a dangling
/// pointer or past a block's end); what they pointed to was left unused,
/// never handed out. 0 in the checked build, which reports such writes.
#[no_mangle]
pub extern "C" fn stats_corruptions() -> usize {
    stat(6)
}

/// Threads build: gives back the cache of a worker whose stack block starts
/// at `stack` (its cached blocks to the heap, its counts to the counters),
/// once that worker has ended. The loader's `heap.workerDone` calls it.
#[cfg(feature = "mt")]
#[no_mangle]
pub extern "C" fn thread_release(stack: usize) {
    let _held = Guard::take();
    if let Some(h) = heap() {
        threads::release(h, stack);
    }
}

/// Bump build: frees every block at once; the arena starts again at the
/// bottom of its first region. Pointers from before are refused afterwards.
#[cfg(feature = "bump")]
#[no_mangle]
pub extern "C" fn heap_reset() {
    let _held = Guard::take();
    if let Some(h) = heap() {
        h.reset();
    }
}

/// Checked build: walks every live block, verifying headers and canaries.
/// 0 = healthy, else a fault code (see `checked_error_code`).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn heap_check() -> u32 {
    let _held = Guard::take();
    heap().map_or(0, |h| h.check())
}

/// Checked build: code of the last detected fault (0 none; see
/// `checked::Fault`: 1 double free, 2 invalid free, 3 overflow, 4 underflow,
/// 5 dealloc size/align mismatch, 6 write after free, 7 checker metadata damaged).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_code() -> u32 {
    crate::checked::last_fault()[0]
}

/// Checked build: the block (user pointer) or area of the last fault.
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_ptr() -> u32 {
    crate::checked::last_fault()[1]
}

/// Checked build: requested size of the block of the last fault (0 if unknown).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_size() -> u32 {
    crate::checked::last_fault()[2]
}

/// Checked build: address of the first damaged byte of the last fault (0 if none).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_at() -> u32 {
    crate::checked::last_fault()[3]
}

/// Checked build: forgets the last fault (after the loader has reported it).
#[cfg(feature = "checked")]
#[no_mangle]
pub extern "C" fn checked_error_clear() {
    crate::checked::clear_fault()
}

/// Rust code inside this module (and crates it links, such as talc's
/// `alloc`-using helpers) allocates from the same heap as the exports.
struct SameHeap;

// SAFETY: forwards to the heap, which returns blocks of at least the
// requested size and alignment, or null.
unsafe impl core::alloc::GlobalAlloc for SameHeap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        aligned_alloc(layout.align(), layout.size())
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: ptr came from `alloc` above.
        unsafe { free(ptr) };
    }
}

#[global_allocator]
static GLOBAL: SameHeap = SameHeap;
