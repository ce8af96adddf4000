//! Heap counters, kept exact by `Heap` on every allocation path.

/// Counters exported as `stats_*`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Blocks currently live.
    pub live: usize,
    /// Successful allocations since start (realloc that moves or resizes counts once).
    pub total: usize,
    /// Allocation requests that returned 0.
    pub failed: usize,
    /// Requested bytes of live blocks.
    pub in_use: usize,
    /// High-water mark of `in_use`.
    pub peak: usize,
    /// `free`/`realloc` calls given a pointer that cannot be a block of this
    /// heap (ignored in the release build).
    pub invalid_frees: usize,
    /// Damaged links or tags the heap found in freed memory (a write through
    /// a dangling pointer, or past a block's end): each time, what they
    /// pointed to was dropped (left unused), never handed out.
    pub corruptions: usize,
}

impl Stats {
    /// All zero, usable in a `static`.
    pub const fn new() -> Self {
        Self { live: 0, total: 0, failed: 0, in_use: 0, peak: 0, invalid_frees: 0, corruptions: 0 }
    }

    /// Counter number `i`, in the order of the fields above (0 = `live`);
    /// 0 for any other `i`.
    #[inline]
    pub fn field(&self, i: usize) -> usize {
        match i {
            0 => self.live,
            1 => self.total,
            2 => self.failed,
            3 => self.in_use,
            4 => self.peak,
            5 => self.invalid_frees,
            6 => self.corruptions,
            _ => 0,
        }
    }

    /// A block of `size` requested bytes became live.
    #[inline]
    pub fn on_alloc(&mut self, size: usize) {
        self.live += 1;
        self.total += 1;
        self.in_use += size;
        if self.in_use > self.peak {
            self.peak = self.in_use;
        }
    }

    /// A live block of `size` requested bytes was freed.
    #[inline]
    pub fn on_free(&mut self, size: usize) {
        self.live -= 1;
        self.in_use -= size;
    }

    /// A live block changed from `old` to `new` requested bytes.
    #[inline]
    pub fn on_resize(&mut self, old: usize, new: usize) {
        self.total += 1;
        self.in_use = self.in_use - old + new;
        if self.in_use > self.peak {
            self.peak = self.in_use;
        }
    }

    /// Every live block was freed at once (the bump build's reset).
    #[inline]
    pub fn on_reset(&mut self) {
        self.live = 0;
        self.in_use = 0;
    }

    /// A pointer was refused by `free`/`realloc`.
    #[inline]
    pub fn on_invalid_free(&mut self) {
        self.invalid_frees += 1;
    }

    /// Damaged metadata in freed memory was found and what it pointed to dropped.
    #[cold]
    pub fn on_corruption(&mut self) {
        self.corruptions += 1;
    }

    /// A request could not be satisfied.
    #[inline]
    pub fn on_fail(&mut self) {
        self.failed += 1;
    }
}
