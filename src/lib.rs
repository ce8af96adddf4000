//! linalloc: a drop-in WebAssembly allocator. This file is the exported ABI
//! only; the logic lives in [`heap`], the backends in [`backend`].
//!
//! On wasm32 the functions below are exported under their C names. On the
//! host they are not compiled (they would replace the C library's `malloc`),
//! and the logic is tested through [`heap::Heap`] with a fake page source.
#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// Host builds (tests, and the host cdylib cargo builds alongside them) get
// std for its panic handler and allocator; the wasm module never does.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod backend;
#[cfg(feature = "checked")]
pub mod checked;
pub mod grow;
pub mod header;
pub mod heap;
pub mod owner;
pub mod quick;
pub mod record;
pub mod stats;

#[cfg(all(test, feature = "talc"))]
mod proptests;

#[cfg(target_arch = "wasm32")]
mod exports;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
