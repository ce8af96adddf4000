//! The heap lock. In the threads build (feature `mt`, one shared memory for
//! every worker's instance) it is a spin lock on a word beside the owner tag,
//! held by every export for the whole call; elsewhere it is nothing.
//!
//! A spin lock, not `memory.atomic.wait`: a browser's main thread may not
//! block, and the heap's critical sections are short.

#[cfg(feature = "mt")]
mod imp {
    use core::sync::atomic::{AtomicU32, Ordering};

    /// The lock word: right after the 16-byte owner tag, in the module's own
    /// stack region (never written by instantiation), the same in every build.
    const LOCK_ADDR: usize = crate::owner::TAG_ADDR + 16;

    fn word() -> &'static AtomicU32 {
        // SAFETY: LOCK_ADDR is 4-aligned, inside the first page of memory 0,
        // and only ever accessed atomically, through this function.
        unsafe { &*(LOCK_ADDR as *const AtomicU32) }
    }

    /// The lock word's value once the heap has failed: a heap call trapped
    /// (memory damaged past what the checks see) while holding it, so it
    /// would never be released. The loader stores it (`heapFailure` in
    /// js/errors.js, called from js/heap.js); every
    /// heap call that finds it traps at once, so threads waiting for the
    /// lock stop with the loader's error instead of spinning forever.
    pub const FAILED: u32 = 2;

    /// Holds the heap until dropped.
    pub struct Guard(());

    #[cold]
    #[inline(never)]
    fn failed() -> ! {
        core::arch::wasm32::unreachable()
    }

    impl Guard {
        /// Waits (spinning) until this thread holds the heap; traps when
        /// the heap has failed.
        #[inline]
        pub fn take() -> Self {
            let w = word();
            while let Err(v) = w.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed) {
                if v == FAILED {
                    failed();
                }
                loop {
                    match w.load(Ordering::Relaxed) {
                        0 => break,
                        FAILED => failed(),
                        _ => core::hint::spin_loop(),
                    }
                }
            }
            Guard(())
        }
    }

    impl Drop for Guard {
        #[inline]
        fn drop(&mut self) {
            // a heap marked failed meanwhile stays failed
            let _ = word().compare_exchange(1, 0, Ordering::Release, Ordering::Relaxed);
        }
    }
}

#[cfg(not(feature = "mt"))]
mod imp {
    /// Nothing to hold: one thread per memory.
    pub struct Guard(());

    impl Guard {
        /// Free.
        #[inline(always)]
        pub fn take() -> Self {
            Guard(())
        }
    }
}

pub use imp::Guard;
