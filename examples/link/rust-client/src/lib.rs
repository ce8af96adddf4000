//! A Rust client module that ships no allocator: its `#[global_allocator]`
//! forwards to `malloc`/`free`/`realloc`/`aligned_alloc` imported from `env`,
//! which the linalloc loader resolves to linalloc.wasm's exports at load time.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};

#[link(wasm_import_module = "env")]
extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
}

/// Forwards every Rust allocation to the imported C allocator.
struct Imported;

// SAFETY: linalloc returns blocks of at least the size asked, aligned to 8
// (or to `align` through aligned_alloc), or null.
unsafe impl GlobalAlloc for Imported {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain calls into the linked allocator.
        unsafe {
            if layout.align() <= 8 { malloc(layout.size()) } else { aligned_alloc(layout.align(), layout.size()) }
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: ptr came from alloc/realloc above.
        unsafe { free(ptr) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > 8 {
            // SAFETY: the default path allocates, copies and frees.
            return unsafe { GlobalAlloc::realloc(&Fallback, ptr, layout, new_size) };
        }
        // SAFETY: ptr came from this allocator; C realloc keeps 8-byte alignment.
        unsafe { realloc(ptr, new_size) }
    }
}

/// The trait's default realloc (alloc + copy + free) for over-aligned blocks.
struct Fallback;
// SAFETY: forwards to `Imported`.
unsafe impl GlobalAlloc for Fallback {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { Imported.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { Imported.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Imported = Imported;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Splits the UTF-8 text at `ptr..ptr+len` into words, sorts and dedups them
/// in a `Vec<String>`, and returns them joined by ", " as a NUL-terminated
/// string in a fresh block (free it with `free`). Null when out of memory.
///
/// # Safety
/// `ptr..ptr+len` is readable memory.
#[no_mangle]
pub unsafe extern "C" fn sorted_words(ptr: *const u8, len: usize) -> *mut u8 {
    // SAFETY: caller contract.
    let bytes = unsafe { core::slice::from_raw_parts(ptr, len) };
    let text = core::str::from_utf8(bytes).unwrap_or("");
    let mut words: Vec<String> = text.split_whitespace().map(String::from).collect();
    words.sort();
    words.dedup();
    let mut joined = words.join(", ");
    joined.push('\0');
    let out = joined.into_bytes();
    let p = out.as_ptr() as *mut u8;
    core::mem::forget(out); // ownership passes to the caller: free(p)
    p
}

/// Sum of the first `n` Fibonacci numbers (mod 2^32), kept in a growing Vec.
#[no_mangle]
pub extern "C" fn fib_sum(n: u32) -> u32 {
    let mut v: Vec<u32> = Vec::new();
    for i in 0..n as usize {
        let next = if i < 2 { i as u32 } else { v[i - 1].wrapping_add(v[i - 2]) };
        v.push(next);
    }
    v.iter().fold(0u32, |a, b| a.wrapping_add(*b))
}
