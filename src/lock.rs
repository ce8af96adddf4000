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

    /// Holds the heap until dropped.
    pub struct Guard(());

    impl Guard {
        /// Waits (spinning) until this thread holds the heap.
        #[inline]
        pub fn take() -> Self {
            let w = word();
            while w.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
                while w.load(Ordering::Relaxed) != 0 {
                    core::hint::spin_loop();
                }
            }
            Guard(())
        }
    }

    impl Drop for Guard {
        #[inline]
        fn drop(&mut self) {
            word().store(0, Ordering::Release);
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
