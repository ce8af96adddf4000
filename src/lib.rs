//! linalloc: a drop-in WebAssembly allocator. Built for `wasm32-unknown-unknown`
//! this crate is one `.wasm` file that imports only `env.memory` and exports
//! `malloc`, `free`, `calloc`, `realloc`, `aligned_alloc`, `alloc`/`dealloc`,
//! heap statistics and a small record API (see `docs/DESIGN.md` for the ABI
//! and the memory layout, and the README for JavaScript use).
//!
//! For Rust readers, the parts:
//! - [`grow`]: the `memory.grow` seam ([`grow::LinearMemory`]); on the host a
//!   [`grow::FakeMemory`] stands in, so everything below is tested natively.
//! - [`owner`]: the owner tag that says which build's heap runs on a memory
//!   and where its state lives.
//! - [`lin`]: the default build's own heap ([`lin::LinHeap`]): boundary
//!   tags that are also the size header and double-free key, free lists by
//!   size class, quick lists, in-place `realloc`.
//! - [`bump`]: the arena of the bump build ([`bump::BumpHeap`]).
//! - [`heap`]: the heap of the dlmalloc, talc and wee_alloc builds
//!   ([`heap::Heap`]) — size header, exact stats, cheap bad-pointer checks —
//!   over one [`backend`], with the [`quick`] lists in front.
//! - `checked`: the checked build's own heap (feature `checked`), whose
//!   metadata lives apart from the blocks under checksums.
//! - `exports` (wasm only): the C ABI over the one heap of the memory.
//!
//! On the host the exports are not compiled (they would replace the C
//! library's `malloc`); `cargo test --features dlmalloc,talc,checked` runs the
//! logic over fake memories.
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// Host builds (tests, and the host cdylib cargo builds alongside them) get
// std for its panic handler and allocator; the wasm module never does.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod api;
pub mod backend;
pub mod bump;
#[cfg(feature = "checked")]
pub mod checked;
pub mod grow;
pub mod header;
pub mod heap;
pub mod lin;
pub mod owner;
pub mod quick;
pub mod record;
pub mod stats;

#[cfg(test)]
mod testing;

// Not under Miri: proptest's many cases and its file-based failure record.
#[cfg(all(test, feature = "talc", not(miri)))]
mod proptests;

/// Test case counts: full natively, a fiftieth under Miri (which runs each
/// operation thousands of times slower), at least 1.
#[cfg(test)]
pub(crate) const fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        if n / 50 > 0 {
            n / 50
        } else {
            1
        }
    } else {
        n
    }
}

#[cfg(target_arch = "wasm32")]
mod exports;
#[cfg(target_arch = "wasm32")]
mod lock;
#[cfg(all(target_arch = "wasm32", feature = "mt"))]
mod tcache;
#[cfg(target_arch = "wasm32")]
mod threads;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
