//! A registry allocator behind the C allocation ABI, and nothing more.
//!
//! Each block carries an 8-byte header holding the size asked for, so `free`
//! and `realloc` can rebuild the `Layout` that Rust allocators need. There are
//! no statistics and no checks: the point is to measure the allocator itself.
//! The allocator is picked with one cargo feature (see Cargo.toml); it is
//! also the crate's `#[global_allocator]`, which some of them (talc) need to
//! link and which costs nothing once unused code is dropped.
#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;

#[cfg(feature = "dlmalloc")]
#[global_allocator]
static HEAP: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(feature = "talc")]
#[global_allocator]
static HEAP: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(feature = "rlsf")]
#[global_allocator]
static HEAP: rlsf::GlobalTlsf = rlsf::GlobalTlsf::new();

#[cfg(feature = "wee_alloc")]
#[global_allocator]
static HEAP: wee_alloc::WeeAlloc = wee_alloc::WeeAlloc::INIT;

// Sound here: a wasm module without threads has one thread.
#[cfg(feature = "lol_alloc")]
#[global_allocator]
static HEAP: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[cfg(not(any(
    feature = "dlmalloc",
    feature = "talc",
    feature = "rlsf",
    feature = "wee_alloc",
    feature = "lol_alloc"
)))]
compile_error!("enable exactly one allocator feature: dlmalloc, talc, rlsf, wee_alloc or lol_alloc");

/// Header bytes in front of every block; also the alignment of every block.
const HEADER: usize = 8;

/// The layout of a block whose user part is `size` bytes, or None when it
/// cannot exist.
#[inline(always)]
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// # Safety
/// C `malloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut u8 {
    let Some(l) = layout(size) else { return null_mut() };
    let base = HEAP.alloc(l);
    if base.is_null() {
        return base;
    }
    (base as *mut usize).write(size);
    base.add(HEADER)
}

/// # Safety
/// C `free`: `ptr` is null or came from this module's malloc/realloc.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    let base = ptr.sub(HEADER);
    let size = (base as *const usize).read();
    HEAP.dealloc(base, Layout::from_size_align_unchecked(size + HEADER, HEADER));
}

/// # Safety
/// C `realloc`: `ptr` is null or came from this module's malloc/realloc.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return malloc(size);
    }
    let Some(new) = layout(size) else { return null_mut() };
    let base = ptr.sub(HEADER);
    let old = (base as *const usize).read();
    let moved = HEAP.realloc(base, Layout::from_size_align_unchecked(old + HEADER, HEADER), new.size());
    if moved.is_null() {
        return moved;
    }
    (moved as *mut usize).write(size);
    moved.add(HEADER)
}

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
