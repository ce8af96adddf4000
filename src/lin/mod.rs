//! linalloc's own heap, the default build: boundary-tagged blocks in
//! segregated free lists, one 8-byte header per block that is also the ABI's
//! size header and double-free key.
//!
//! - `malloc` cuts from the victim (the rest of the last split, on no list)
//!   if it fits, else takes the head of the request's class if that fits,
//!   else the first block of a higher class (two bit scans) and splits off
//!   the rest, which becomes the victim. Cutting runs of blocks from one
//!   free block keeps them together (and leaves room behind them for
//!   `realloc` to grow into).
//! - `free` merges the block with free neighbours at once (the tags say
//!   where they are), so free memory never fragments into runs of small
//!   blocks.
//! - `realloc` grows in place into a free neighbour; the last block of the
//!   newest region grows in place by growing the memory (a vector doubling
//!   to 1 MiB never copies).
//! - Regions come from the [`Grow`] seam (the caller's pages first). Each
//!   region ends in a fence, a live 0-byte block; a region that starts where
//!   the previous one ends takes over its fence and merges with it.
//!
//! Every loop is bounded: the class search reads two words of the heap's
//! own bitmap, and the only list walks (`scan`, `flush`) stop at constants
//! or counts the heap keeps.

mod bins;
pub mod tag;

use crate::api::Allocator;
use crate::grow::Grow;
use crate::header::{MAX_ALIGN, MAX_SIZE};
use crate::heap::Rejected;
use crate::stats::Stats;
use bins::{class, same_class, Bins};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tag::{align_of_key, block_for, key, low, rd, wr, FLAGS, HDR, INUSE, LOW, MIN_BLOCK, PINUSE, SLACK, W};

/// The heap: its page source, counters, bounds and free lists.
pub struct LinHeap<G: Grow> {
    pages: G,
    stats: Stats,
    /// Lowest region start (0 before the first); a user pointer below
    /// `lo + HDR` is not ours. (Atomic, like `hi`, only so that the threads
    /// build may check a pointer without the lock; a plain word elsewhere.)
    lo: AtomicUsize,
    /// Highest fence; a user pointer at or above it is not ours.
    hi: AtomicUsize,
    /// Fence of the newest region (0 before the first).
    fence: usize,
    /// The victim: a free block on no list (0 if none), the rest of the
    /// last split, or a free block that ends at the newest fence. Requests
    /// are cut from it first, so runs of allocations cost no list work and
    /// lie together; blocks freed next to it merge into it.
    victim: usize,
    bins: Bins,
    /// Quick lists: freed blocks of up to `QUICK_MAX` bytes by exact size,
    /// still live for their neighbours (not merged), so same-size churn is
    /// a pop and a push. Only a block between two live neighbours is kept;
    /// one next to free space merges at once (a cached block there would
    /// split free space: blocks freed in reverse order would never reach
    /// the end of the heap again). Emptied into the bins before the memory
    /// grows.
    quick: [usize; QUICK_MAX / 8 + 1],
    /// Blocks on each quick list: at most `QUICK_CAP`, and the bound of
    /// the walk that empties the list.
    qlen: [u16; QUICK_MAX / 8 + 1],
}

/// Largest block kept on the quick lists.
const QUICK_MAX: usize = 256;
/// Most blocks one quick list keeps; more are merged at once. Same-size
/// churn needs only a few; the cap bounds what the lists keep from merging
/// (at most 33 lists x 16 blocks of up to 256 bytes).
const QUICK_CAP: u16 = 16;
/// Key word of a block on a quick list: a second free is recognised. Its
/// slack bits (63) exceed every small block's, so no live key equals it.
pub const QUICKFREED: usize = 0x5EED_F0FF;

impl<G: Grow> LinHeap<G> {
    /// An empty heap over `pages`; it claims memory on first use.
    pub const fn new(pages: G) -> Self {
        Self {
            pages,
            stats: Stats::new(),
            lo: AtomicUsize::new(0),
            hi: AtomicUsize::new(0),
            fence: 0,
            victim: 0,
            bins: Bins::new(),
            quick: [0; QUICK_MAX / 8 + 1],
            qlen: [0; QUICK_MAX / 8 + 1],
        }
    }

    /// Writes an empty heap over `pages` at `p`: all zero but the pages, so
    /// it costs one fill instead of building the (kilobyte) value first.
    ///
    /// # Safety
    /// `p` is valid for writing a `LinHeap`.
    pub unsafe fn init_at(p: *mut Self, pages: G) {
        // SAFETY: caller contract; all-zero is `new`'s value for every field
        // but `pages`, which is written next.
        unsafe {
            p.write_bytes(0, 1);
            core::ptr::addr_of_mut!((*p).pages).write(pages);
        }
    }

    /// A new live block for `n` bytes whose user part is aligned to `align`
    /// (its key written, not counted yet): the user address, or 0.
    #[inline(always)]
    fn block(&mut self, n: usize, align: usize) -> usize {
        if n > MAX_SIZE {
            return 0;
        }
        let size = block_for(n);
        let q = if align <= 8 && size <= QUICK_MAX { self.pop_quick(size, n) } else { 0 };
        if q != 0 {
            return q + HDR;
        }
        let b = if align <= 8 { self.take(size) } else { self.place(size, align) };
        if b == 0 {
            return 0;
        }
        // SAFETY: b is a block just made live (`take` or `place`).
        let have = unsafe { rd(b) } & !FLAGS;
        // SAFETY: [b, b + have) is now a live block of the heap.
        unsafe { wr(b + W, key(b + HDR, have, low(align.max(8), have - HDR - n))) };
        b + HDR
    }

    /// A new live block of at least `size` bytes whose user part is aligned
    /// to `align` (over 8), from the free lists: its start (its size in its
    /// header), or 0; its key word is still to be written.
    #[inline(never)]
    fn place(&mut self, size: usize, align: usize) -> usize {
        // room to move the block start up to the alignment, leaving a free block in front
        let mut b = self.free_block(size + align + MIN_BLOCK);
        if b == 0 {
            // Out of memory for that much room (a fixed memory's last
            // bytes): the victim, or a free block of a lower class, may
            // still hold the aligned block.
            let v = self.victim;
            let vn = self.free_at(v);
            b = if vn != 0 && aligned(v, v + vn, size, align) != 0 { v } else { self.scan(class(size), class(size + align + MIN_BLOCK), size, align) };
            if b == 0 || self.take_free(b) == 0 {
                return 0;
            }
        }
        // SAFETY: b is a free block taken off the lists: its header is its own.
        let mut have = unsafe { rd(b) } & !FLAGS;
        let mut flags = INUSE | PINUSE;
        // not 0: the block has room for the aligned one (asked for, or checked above)
        let start = aligned(b, b + have, size, align);
        if start != b {
            let gap = start - b;
            // SAFETY: [b, b + gap) is the front of the free block just
            // taken; its predecessor is live (free blocks never touch).
            unsafe { self.file(b, gap, false) };
            b = start;
            have -= gap;
            flags = INUSE;
        }
        // SAFETY: [b, b + have) is a block taken off the free lists, at least `size` bytes.
        unsafe { self.carve(b, have, size, flags) };
        b
    }

    /// A new live block of at least `size` bytes (8-aligned user part) from
    /// the free lists, or 0: its start; its size is in its header.
    /// (Inline: measured smaller and faster than a call.)
    #[inline(always)]
    fn take(&mut self, size: usize) -> usize {
        let b = self.free_block(size);
        if b != 0 {
            // SAFETY: b is a free block taken off the lists, at least `size` bytes.
            unsafe { self.carve(b, rd(b) & !FLAGS, size, INUSE | PINUSE) };
        }
        b
    }

    /// A free block of at least `want` bytes, taken off its list (or the
    /// victim), or 0. Grows the memory when no list has one.
    fn free_block(&mut self, want: usize) -> usize {
        // a damaged block drops its list or the victim: one try per list
        for _ in 0..=bins::SLOTS {
            let mut b = self.fit(want);
            if b == 0 {
                b = self.fit_slow(want);
                if b == 0 {
                    return 0;
                }
            }
            if self.take_free(b) != 0 {
                return b;
            }
        }
        0
    }

    /// Size of the free block at `b` when its tags agree: inside the heap,
    /// its header free, its footer the same size; else 0. Free blocks' words
    /// are memory the program can still write through a dangling pointer,
    /// so no size read from one is used before this holds.
    #[inline(always)]
    fn free_at(&self, b: usize) -> usize {
        let hi = self.hi();
        if b % 8 != 0 || b < self.lo() || b >= hi {
            return 0;
        }
        // SAFETY: b lies in [lo, hi), the heap's span; the footer is read
        // only once the size keeps it there.
        let w = unsafe { rd(b) };
        let n = w & !FLAGS;
        if w & INUSE == 0 && n >= MIN_BLOCK && n <= hi - b && unsafe { rd(b + n - W) } == n {
            n
        } else {
            0
        }
    }

    /// The free block `b` (the victim, or a block `fit` or `scan` found on a
    /// list) taken off its list when its tags and links agree: its size.
    /// Else 0, and what was damaged is dropped and counted.
    #[inline(never)]
    fn take_free(&mut self, b: usize) -> usize {
        let n = self.free_at(b);
        if n == 0 {
            self.drop_block(b);
            return 0;
        }
        // SAFETY: b is a free block whose tags agree (free_at).
        match unsafe { self.detach(b, n) } {
            Some(_) => n,
            None => 0,
        }
    }

    /// A block whose tags disagree was found where a free one should be:
    /// the victim, or the list it heads, is dropped (left unused).
    #[cold]
    #[inline(never)]
    fn drop_block(&mut self, b: usize) {
        // counted once: the damaged block goes with the victim or the
        // list it heads (`scan` returns only blocks whose tags agree)
        if b == self.victim {
            self.victim = 0;
        } else if !self.bins.drop_head(b) {
            return;
        }
        self.stats.on_corruption();
    }

    /// The next block of the quick list of `size`-byte blocks, live again
    /// for `n` bytes (key written, not counted yet), or 0. The list's link
    /// lies in the first user word of a freed block, which the program can
    /// still write: a block that is not one the list left there drops the
    /// list (counted), and is never handed out.
    #[inline(always)]
    fn pop_quick(&mut self, size: usize, n: usize) -> usize {
        let c = size / 8;
        let q = self.quick[c];
        if q == 0 {
            return 0;
        }
        // SAFETY: `listed` reads only inside the heap; then q is a cached
        // block of `size` bytes, its link in its first user word.
        unsafe {
            if self.qlen[c] == 0 || !listed(self.lo(), self.hi(), q, size) || !relive(q, key(q + HDR, size, low(8, size - HDR - n))) {
                self.drop_quick(c);
                return 0;
            }
            self.quick[c] = rd(q + HDR);
        }
        self.qlen[c] -= 1;
        q
    }

    /// Drops quick list `c` (its blocks stay unused), counted.
    #[cold]
    #[inline(never)]
    fn drop_quick(&mut self, c: usize) {
        if let (Some(q), Some(n)) = (self.quick.get_mut(c), self.qlen.get_mut(c)) {
            (*q, *n) = (0, 0);
        }
        self.stats.on_corruption();
    }

    /// Lowest region start and highest fence: every block lies in between.
    #[inline(always)]
    pub fn span(&self) -> (usize, usize) {
        (self.lo(), self.hi())
    }

    /// `fit` after emptying the quick lists, growing the memory, and
    /// walking `want`'s class list.
    #[cold]
    fn fit_slow(&mut self, want: usize) -> usize {
        self.flush();
        let mut b = self.fit(want);
        // Grow: first asking only for what the free block in front of the
        // fence lacks (new pages that follow it merge with it); if they came
        // apart (someone else grew the memory in between), for all of it.
        let mut tries = 0;
        while b == 0 && tries < 3 && self.grow(want, tries == 0) {
            b = self.fit(want);
            tries += 1;
        }
        if b == 0 {
            let c = class(want);
            b = self.scan(c, c, want, 8);
        }
        b
    }

    /// The last resort before out of memory: the first free block of the
    /// class lists `first..=last` that holds a `size`-byte block whose user
    /// part is aligned to `align` (`fit` only looks at the heads). The
    /// links live in free blocks the program could have overwritten, so
    /// every block must lie inside the heap, and the walk stops after as
    /// many blocks as the heap could hold: a list is walked to its end
    /// (a fixed limit of 256 gave false out-of-memory errors with more
    /// small blocks in front of the one that fits, found by an
    /// adversarial run), and a list made circular ends.
    #[cold]
    #[inline(never)]
    fn scan(&mut self, first: usize, last: usize, size: usize, align: usize) -> usize {
        let mut budget = (self.hi() - self.lo()) / MIN_BLOCK + 1;
        for c in first..=last {
            let mut b = self.bins.head(c);
            while budget != 0 && b != 0 && b % 8 == 0 && b >= self.lo() && b < self.hi() {
                budget -= 1;
                // SAFETY: b lies in the heap's regions; a free block's words are its own.
                let next = unsafe { rd(b + W) };
                // only a block whose tags agree (a damaged one deeper in the
                // list is passed over, not returned to be refused again)
                let have = self.free_at(b);
                if have != 0 && have >= size && (align <= 8 || aligned(b, b + have, size, align) != 0) {
                    return b;
                }
                // a link whose block does not link back (a list made circular
                // through a dangling pointer made every failing request walk
                // the whole heap, found by an adversarial run) drops the list
                // SAFETY: next's words are read only once it lies in the heap.
                if next != 0 && !(next % 8 == 0 && next >= self.lo() && next < self.hi() && unsafe { rd(next + 2 * W) } == b) {
                    self.bins.drop_list(c);
                    self.stats.on_corruption();
                    break;
                }
                b = next;
            }
        }
        0
    }

    /// Takes the free block `b` of `size` bytes off its list (or clears the
    /// victim): `Some(true)` when it was the victim. `None` when its links
    /// do not say it is on its list (damaged through a dangling pointer):
    /// the block is then retired, live for its neighbours and never handed
    /// out, and counted.
    ///
    /// # Safety
    /// `b` is a free block of the heap whose tags agree (`free_at`).
    #[inline]
    unsafe fn detach(&mut self, b: usize, size: usize) -> Option<bool> {
        if b == self.victim {
            self.victim = 0;
            return Some(true);
        }
        // SAFETY: a free block other than the victim is on its class's list;
        // `unlink` checks the links before it writes through them.
        if unsafe { self.bins.unlink(b, size, self.lo(), self.hi()) } {
            return Some(false);
        }
        // SAFETY: caller contract: [b, b + size) is a block, followed by one.
        unsafe {
            wr(b, size | INUSE | (rd(b) & PINUSE));
            wr(b + size, rd(b + size) | PINUSE);
        }
        // a retired block heading its list would be found (and counted)
        // again by the next request: the list goes with it, counted once
        self.bins.drop_head(b);
        self.stats.on_corruption();
        None
    }

    /// Makes `[b, b + size)` a free block (tags, the next block's PINUSE
    /// cleared) and files it (`file`).
    ///
    /// # Safety
    /// `[b, b + size)` is heap memory nobody uses, with live neighbours.
    unsafe fn stash(&mut self, b: usize, size: usize, keep: bool) {
        // SAFETY: caller contract; every block is followed by a block or a fence.
        unsafe {
            let after = b + size;
            wr(after, rd(after) & !PINUSE);
            self.file(b, size, keep);
        }
    }

    /// Frees every block on the quick lists into the bins (merging them).
    #[cold]
    fn flush(&mut self) {
        for c in 0..self.quick.len() {
            let mut b = core::mem::take(&mut self.quick[c]);
            // bounded by the list's count, whatever the links say
            let mut n = core::mem::take(&mut self.qlen[c]);
            while b != 0 && n != 0 {
                n -= 1;
                // SAFETY: `listed` reads inside the heap only; then b is a
                // cached block: live for its neighbours, its link in its
                // first user word.
                unsafe {
                    if !listed(self.lo(), self.hi(), b, c * 8) || !relive(b, 0) {
                        self.stats.on_corruption();
                        break;
                    }
                    let next = rd(b + HDR);
                    self.release(b);
                    b = next;
                }
            }
        }
    }

    /// A free block of at least `want` bytes (still on its list, or the
    /// victim), or 0: the victim if it fits, else the head of `want`'s
    /// class if it fits, else the head of the first non-empty higher class,
    /// whose blocks all fit. (Victim first: measured against own class
    /// first, `random` moved 8 % fewer blocks in `realloc`, 36 % of them
    /// as talc does, and took 3 % less time.)
    #[inline(never)]
    fn fit(&self, want: usize) -> usize {
        // SAFETY: the victim and list heads are free blocks of the heap.
        if self.victim != 0 && unsafe { rd(self.victim) } & !FLAGS >= want {
            return self.victim;
        }
        let c = class(want);
        let h = self.bins.head(c);
        // SAFETY: as above.
        if h != 0 && unsafe { rd(h) } & !FLAGS >= want {
            return h;
        }
        match self.bins.find(c + 1) {
            Some(k) => self.bins.head(k),
            None => 0,
        }
    }

    /// Makes the `have`-byte block at `b`, taken off the free lists, a live
    /// block of `size` bytes with `flags` when the rest can be a block of
    /// its own, which is filed as free; else of all `have` bytes.
    ///
    /// # Safety
    /// `[b, b + have)` is a free block of the heap no list holds; `size <= have`.
    #[inline(always)]
    unsafe fn carve(&mut self, b: usize, have: usize, size: usize, flags: usize) {
        let rest = have - size;
        // SAFETY: caller contract; the successor's header is in the heap
        // (every region ends in a fence) and says its predecessor is free.
        unsafe {
            if rest >= MIN_BLOCK {
                wr(b, size | flags);
                self.file(b + size, rest, true);
            } else {
                wr(b, have | flags);
                let after = b + have;
                wr(after, rd(after) | PINUSE);
            }
        }
    }

    /// Makes the live `have`-byte block at `b` (being resized) `size` bytes
    /// when the rest can be a block of its own, which is freed (merged with
    /// a free successor). Returns the block's size.
    ///
    /// # Safety
    /// `[b, b + have)` is a live block of the heap; `size <= have`.
    unsafe fn trim(&mut self, b: usize, have: usize, size: usize) -> usize {
        let rest = have - size;
        // SAFETY: caller contract; the successor's header is in the heap.
        unsafe {
            let flags = rd(b) & FLAGS;
            if rest >= MIN_BLOCK {
                wr(b, size | flags);
                let r = b + size;
                wr(r, rest | INUSE | PINUSE);
                self.release(r);
                size
            } else {
                wr(b, have | flags);
                let after = b + have;
                wr(after, rd(after) | PINUSE);
                have
            }
        }
    }

    /// Files the free block `[b, b + size)`, whose successor already knows
    /// it is free and whose predecessor is live: its tags, then the victim
    /// when `keep` says so (the rest of a split, or merged with the victim)
    /// or it ends at the newest fence (the old victim onto its list), else
    /// its list. (Inline: 151 bytes for 3 to 9 % less time on `random`,
    /// `batch` and a malloc/free pair, measured.)
    ///
    /// # Safety
    /// As said.
    #[inline(always)]
    unsafe fn file(&mut self, b: usize, size: usize, keep: bool) {
        // SAFETY: caller contract; the old victim is a free block on no list.
        unsafe {
            wr(b, size | PINUSE);
            wr(b + size - W, size);
            if keep || b + size == self.fence {
                let old = core::mem::replace(&mut self.victim, b);
                if old != 0 {
                    self.bins.insert(old, rd(old) & !FLAGS);
                }
            } else {
                self.bins.insert(b, size);
            }
        }
    }

    /// Frees the block at `b` (its header says live): merges it with free
    /// neighbours and puts the result on its list.
    ///
    /// # Safety
    /// `b` is a live block of the heap (or a fresh region's block) whose
    /// contents nobody uses any more.
    #[inline(never)]
    unsafe fn release(&mut self, b: usize) {
        // SAFETY: caller contract; neighbours are found through the tags,
        // which every block and fence of the heap keeps.
        unsafe {
            let w = rd(b);
            let mut size = w & !FLAGS;
            // a header left inside a merged block must read as freed
            wr(b, w & !INUSE);
            let mut b = b;
            let mut keep = false;
            // A neighbour is merged only when its tags agree (header and
            // footer, inside the heap): a program that overwrote the words
            // around its block then corrupts that block at worst, and no
            // garbage size sends the heap outside the memory (found by an
            // adversarial run: one flipped flag bit made `free` trap).
            let n = self.free_at(b + size);
            if n != 0 {
                if let Some(v) = self.detach(b + size, n) {
                    keep = v;
                    size += n;
                }
            }
            if w & PINUSE == 0 {
                let prev = rd(b - W);
                if prev % 8 == 0 && prev >= MIN_BLOCK && prev <= b - self.lo() && rd(b - prev) & !PINUSE == prev {
                    let p = b - prev;
                    let total = prev + size;
                    if !keep && p != self.victim && p + total != self.fence && same_class(prev, total) {
                        // Still of its class: p stays where it is on its
                        // list and only grows (no unlink, no insert; a run
                        // of blocks freed in address order takes this path
                        // until p crosses into the next class: 21 -> 16.6
                        // ns per call, measured).
                        wr(p, total | PINUSE);
                        wr(p + total - W, total);
                        let after = p + total;
                        wr(after, rd(after) & !PINUSE);
                        return;
                    }
                    if let Some(v) = self.detach(p, prev) {
                        b = p;
                        keep |= v;
                        size += prev;
                    }
                }
            }
            // merged with the victim: still the victim, off the lists
            self.stash(b, size, keep);
        }
    }

    /// Adds a region of at least `want` bytes to the free lists (when the
    /// memory can grow, or the caller's pages have that much left).
    #[inline(never)]
    fn grow(&mut self, want: usize, after_top: bool) -> bool {
        // with `after_top`, count on the free block in front of the fence
        // merging with new pages that follow it: ask only for the rest
        let mut need = want;
        // SAFETY: the newest fence is the heap's; when the block in front of
        // it is free, the word in front of the fence is that block's size.
        if after_top && self.fence != 0 && unsafe { rd(self.fence) } & PINUSE == 0 {
            need = need.saturating_sub(unsafe { rd(self.fence - W) });
        }
        let Some((start, len)) = self.pages.claim(need + HDR) else { return false };
        let start = start as usize;
        // regions end on page boundaries (or END_LIMIT): 8-aligned
        let fence = start + len - HDR;
        let (b, flags) = if self.fence != 0 && start == self.fence + HDR {
            // SAFETY: the newest fence is the heap's.
            (self.fence, unsafe { rd(self.fence) } & PINUSE)
        } else {
            if len < MIN_BLOCK + HDR {
                return false;
            }
            if self.lo() == 0 || start < self.lo() {
                self.lo.store(start, Relaxed);
            }
            (start, PINUSE)
        };
        // SAFETY: [b, fence + HDR) is the new region (plus the old fence):
        // written as one live block and a fence, then freed into the lists.
        unsafe {
            wr(b, (fence - b) | INUSE | flags);
            wr(fence, INUSE);
            self.fence = fence;
            self.hi.store(self.hi().max(fence), Relaxed);
            self.release(b);
        }
        true
    }

    fn lo(&self) -> usize {
        self.lo.load(Relaxed)
    }

    fn hi(&self) -> usize {
        self.hi.load(Relaxed)
    }

    /// [`check`] against this heap's bounds.
    #[inline(always)]
    fn validate(&self, ptr: *const u8) -> Result<(usize, usize, usize, usize), Rejected> {
        // SAFETY: [lo, hi) spans the heap's regions, memory of its wasm memory.
        unsafe { check(self.lo(), self.hi(), ptr) }
    }

    /// The bounds (`lo`, `hi`) of the heap whose state is at `state`, read
    /// without a reference: the threads build checks pointers without the
    /// lock while another thread may hold the heap.
    ///
    /// # Safety
    /// `state` points to a `LinHeap`.
    #[inline(always)]
    pub unsafe fn bounds(state: *const Self) -> (usize, usize) {
        // SAFETY: caller contract; the fields are atomics, read atomically.
        unsafe { ((*core::ptr::addr_of!((*state).lo)).load(Relaxed), (*core::ptr::addr_of!((*state).hi)).load(Relaxed)) }
    }

    /// Frees a block that was on a thread's quick list (the threads build's
    /// per-thread caches), merging it into the free lists.
    ///
    /// # Safety
    /// `b` is the start of a block this heap handed out that is on no
    /// list but a thread cache being emptied (live for its neighbours).
    pub unsafe fn release_cached(&mut self, b: usize) {
        // SAFETY: caller contract.
        unsafe { self.release(b) }
    }

    /// A new block for `n` bytes, not counted as allocated (the threads
    /// build puts it on a thread's cache, which counts it when it hands it
    /// out): its start and size (which may exceed what `n` needs, when the
    /// rest was too small to split off), or `None`.
    pub fn spare(&mut self, n: usize) -> Option<(usize, usize)> {
        match self.block(n, 8) {
            0 => None,
            // SAFETY: a live block of the heap: its first word is its size and flags.
            user => Some((user - HDR, unsafe { rd(user - HDR) } & !FLAGS)),
        }
    }

    /// The stats to add to.
    pub fn counters(&mut self) -> &mut Stats {
        &mut self.stats
    }

    #[cold]
    fn refuse(&mut self, why: Rejected) -> Rejected {
        self.stats.on_invalid_free();
        why
    }

    /// The moving `realloc`: a new block as aligned as the old one was
    /// asked to be, the old contents, the old block freed.
    fn moved(&mut self, ptr: *mut u8, n: usize, old: usize, align: usize, k: usize) -> *mut u8 {
        // One resize in the counters: the old bytes leave before the new
        // ones arrive (the peak never holds both), `alloc` counts `total`
        // (or the failure), and the live count stays.
        self.stats.in_use -= old;
        let new = self.alloc(n, align);
        if new.is_null() {
            self.stats.in_use += old;
            // SAFETY: the old block stays live: its key word back.
            unsafe { wr(ptr as usize - HDR + W, k) };
            return new;
        }
        self.stats.live -= 1;
        // SAFETY: both blocks are live and distinct; the copy fits both; the
        // old block is freed by its owner.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr, new, old.min(n));
            self.release(ptr as usize - HDR);
        }
        new
    }
}

/// The cheap checks that keep a stray pointer from corrupting a heap whose
/// blocks lie in `[lo, hi)`: alignment, bounds, the header's live flag and
/// key. `Ok((block start, block size, requested size, key word))` for a
/// live block.
///
/// # Safety
/// `[lo, hi)` is readable memory (the span of a heap's regions); `lo` is 0
/// (no region yet) or a region start, below `END_LIMIT`, so `lo + HDR`
/// does not overflow.
#[inline(always)]
pub unsafe fn check(lo: usize, hi: usize, ptr: *const u8) -> Result<(usize, usize, usize, usize), Rejected> {
    let u = ptr as usize;
    if u % 8 != 0 {
        return Err(Rejected::Misaligned);
    }
    if u < lo + HDR || u >= hi {
        return Err(Rejected::OutsideHeap);
    }
    let b = u - HDR;
    // SAFETY: [b, u) lies in [lo, hi) (caller contract: readable).
    let (w, k) = unsafe { (rd(b), rd(b + W)) };
    let size = w & !FLAGS;
    if size < MIN_BLOCK || size > hi - b {
        return Err(Rejected::BadHeader);
    }
    if w & INUSE == 0 || k == QUICKFREED {
        // a freed block's header (perhaps inside a larger free block now),
        // or a block on a quick list
        return Err(Rejected::DoubleFree);
    }
    let slack = k & SLACK;
    if k != key(u, size, k & LOW) || slack > size - HDR {
        return Err(Rejected::BadHeader);
    }
    Ok((b, size, size - HDR - slack, k))
}

/// Marks the live block at `b`, whose key word was `k`, as being freed (the
/// quick lists' mark): false when someone marked it first (in the threads
/// build, another thread freeing the same block at the same time; there
/// the mark is atomic).
///
/// # Safety
/// `b` is a block of the heap (its key word is heap memory), and `k` the
/// key word the caller read from it; without threads nothing changes the
/// word in between, so the mark is a plain store.
#[inline(always)]
pub unsafe fn claim(b: usize, k: usize) -> bool {
    #[cfg(feature = "mt")]
    {
        // SAFETY: caller contract; the word is 4-aligned (8 on the host).
        let word = unsafe { &*((b + W) as *const AtomicUsize) };
        word.compare_exchange(k, QUICKFREED, core::sync::atomic::Ordering::AcqRel, Relaxed).is_ok()
    }
    #[cfg(not(feature = "mt"))]
    {
        let _ = k;
        // SAFETY: caller contract.
        unsafe { wr(b + W, QUICKFREED) };
        true
    }
}

/// Whether `b` is a block a quick list (or a thread's cache) of `size`-byte
/// blocks left there: inside `[lo, hi)`, 8-aligned, its header live with
/// exactly `size` bytes, its key word the lists' mark. A link read from a
/// cached block's first user word is followed only when this holds.
///
/// # Safety
/// `[lo, hi)` is readable memory, the span of a heap's regions.
#[inline(always)]
pub unsafe fn listed(lo: usize, hi: usize, b: usize, size: usize) -> bool {
    // [b, b + size) in [lo, hi) in one compare: a list holds blocks only
    // once the heap spans more than one block (hi - lo > size)
    // SAFETY: the words are read only once [b, b + size) lies in [lo, hi).
    b % 8 == 0 && b.wrapping_sub(lo) <= (hi - lo).wrapping_sub(size) && unsafe { rd(b) & !PINUSE == size | INUSE && rd(b + W) == QUICKFREED }
}

/// Takes the block `b`, which `listed` found marked, off its list: its key
/// word becomes `k`. False when someone took it first (in the threads build,
/// a block that a damaged link put on two lists: the mark is swapped
/// atomically there).
///
/// # Safety
/// `b` is a block of the heap.
#[inline(always)]
pub unsafe fn relive(b: usize, k: usize) -> bool {
    #[cfg(feature = "mt")]
    {
        // SAFETY: caller contract; the word is 4-aligned (8 on the host).
        let word = unsafe { &*((b + W) as *const AtomicUsize) };
        word.compare_exchange(QUICKFREED, k, core::sync::atomic::Ordering::AcqRel, Relaxed).is_ok()
    }
    #[cfg(not(feature = "mt"))]
    {
        // SAFETY: caller contract.
        unsafe { wr(b + W, k) };
        true
    }
}

/// Start of a `size`-byte block whose user part is aligned to `align` (a
/// power of two, at least 16) in the free block `[b, end)`: `b` itself, or
/// far enough in for the gap in front to be a free block of its own; 0 when
/// it does not fit. No step wraps past the end of the address space (a
/// block near 4 GiB is refused, not placed at a low address).
fn aligned(b: usize, end: usize, size: usize, align: usize) -> usize {
    let Some(u) = (b + HDR).checked_add(align - 1) else { return 0 };
    let mut start = (u & !(align - 1)) - HDR;
    if start != b {
        // at most MIN_BLOCK / 16 + 1 steps: align >= 16
        while start - b < MIN_BLOCK {
            let Some(next) = start.checked_add(align) else { return 0 };
            start = next;
        }
    }
    if start > end || size > end - start {
        return 0;
    }
    start
}

impl<G: Grow> Allocator for LinHeap<G> {
    fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// Current counters.
    fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes of memory the heap's regions span.
    fn heap_bytes(&self) -> usize {
        self.pages.owned_bytes()
    }

    /// `malloc` with its two hot paths inline: the quick-list pop (same-size
    /// churn is a pop and a push) and a cut from the front of the victim
    /// (runs of allocations: no list work, no call; measured: a malloc/free
    /// pair of 1000 bytes 9.5 -> 6.2 ns, `batch` 7 % less time, +212 bytes).
    /// Everything else in the shared `alloc`. Not in the threads build,
    /// whose hot path is the thread cache in front of the heap: there it
    /// would only add bytes.
    #[cfg(not(feature = "mt"))]
    #[inline(always)]
    fn malloc(&mut self, n: usize) -> *mut u8 {
        if n <= QUICK_MAX - HDR {
            let q = self.pop_quick(block_for(n), n);
            if q != 0 {
                self.stats.on_alloc(n);
                return (q + HDR) as *mut u8;
            }
        }
        let v = self.victim;
        if v != 0 && n <= MAX_SIZE {
            let size = block_for(n);
            // SAFETY: the victim is a free block on no list, inside the heap.
            let have = unsafe { rd(v) } & !FLAGS;
            // its footer agrees (the words are memory a dangling pointer
            // can write; else `alloc` drops the victim)
            // SAFETY: the footer is read only when it lies in the heap.
            if have >= size + MIN_BLOCK && have <= self.hi() - v && unsafe { rd(v + have - W) } == have {
                // taken off (no list holds it): `carve` files the rest as the victim
                self.victim = 0;
                // SAFETY: [v, v + have) is the victim, a free block now on
                // no list, more than `size` bytes.
                unsafe {
                    self.carve(v, have, size, INUSE | PINUSE);
                    wr(v + W, key(v + HDR, size, low(8, size - HDR - n)));
                }
                self.stats.on_alloc(n);
                return (v + HDR) as *mut u8;
            }
        }
        self.alloc(n, 8)
    }

    // One copy for every allocating export keeps the module small.
    #[inline(never)]
    fn alloc(&mut self, n: usize, align: usize) -> *mut u8 {
        match self.block(n, align) {
            0 => self.fail(),
            user => {
                self.stats.on_alloc(n);
                user as *mut u8
            }
        }
    }

    /// [`LinHeap::free`], saying why a pointer was refused.
    ///
    /// # Safety
    /// As for [`LinHeap::free`].
    #[inline(never)]
    unsafe fn try_free(&mut self, ptr: *mut u8) -> Result<(), Rejected> {
        if ptr.is_null() {
            return Ok(());
        }
        let (b, size, n, k) = self.validate(ptr).map_err(|why| self.refuse(why))?;
        // SAFETY: b is a block of the heap (validated).
        if !unsafe { claim(b, k) } {
            return Err(self.refuse(Rejected::DoubleFree));
        }
        self.stats.on_free(n);
        // cached only between live neighbours: a block next to a free one
        // merges at once, so the quick lists never split free space
        // SAFETY: b is a live block; every block is followed by a block or a fence.
        if size <= QUICK_MAX && self.qlen[size / 8] < QUICK_CAP && unsafe { rd(b) & PINUSE != 0 && rd(b + size) & INUSE != 0 } {
            // SAFETY: b is a live block (validated, marked) freed by its
            // owner; its first user word takes the link.
            unsafe { wr(b + HDR, self.quick[size / 8]) };
            self.quick[size / 8] = b;
            self.qlen[size / 8] += 1;
            return Ok(());
        }
        // SAFETY: b is a live block (validated), freed by its owner.
        unsafe { self.release(b) };
        Ok(())
    }

    /// Requested size of the live block at `ptr`, or `None`.
    fn block_size(&self, ptr: *const u8) -> Option<usize> {
        self.validate(ptr).ok().map(|(_, _, n, _)| n)
    }

    /// `realloc` of a live block (not null, `n > 0`): on failure null, and
    /// `ptr` intact; a refused pointer is
    /// counted and null returned. Grows in place when the next block is free
    /// (or the memory can grow behind the heap's last block); shrinks in place.
    ///
    /// # Safety
    /// `ptr` is a pointer returned by this heap, not null.
    unsafe fn resize(&mut self, ptr: *mut u8, n: usize) -> *mut u8 {
        let (b, mut size, old, k) = match self.validate(ptr) {
            Ok(v) => v,
            Err(why) => {
                self.refuse(why);
                return null_mut();
            }
        };
        // Marked while it is resized, so that a free of it from another
        // thread (threads build, no lock) is refused; the key is written
        // again when the block stays.
        // SAFETY: b is a block of the heap (validated).
        if !unsafe { claim(b, k) } {
            self.refuse(Rejected::DoubleFree);
            return null_mut();
        }
        if n > MAX_SIZE {
            // SAFETY: b's key word, marked just above.
            unsafe { wr(b + W, k) };
            return self.fail();
        }
        let want = block_for(n);
        let align = align_of_key(k).min(MAX_ALIGN);
        if want > size {
            let next = b + size;
            let mut room = self.free_at(next);
            if next + room == self.fence && size + room < want && self.fit(want) == 0 {
                // the last block of the newest region, and no free block
                // elsewhere to move to: grow the memory behind it (grow
                // counts the free block after it, and may merge new pages
                // into it)
                self.grow(want - size, true);
                room = self.free_at(next);
            }
            // SAFETY: next is a free block whose tags agree (on its list, or the victim).
            if room != 0 && size + room >= want && unsafe { self.detach(next, room) }.is_some() {
                size += room;
            } else {
                let p = self.moved(ptr, n, old, align, k);
                // A move that failed emptied the quick lists first: a
                // neighbour that waited on one may be free now, with the
                // room to grow in place (found by an adversarial run: a
                // false out of memory on a full fixed memory).
                let room = self.free_at(next);
                if !p.is_null() || room == 0 || size + room < want {
                    return p;
                }
                // SAFETY: b is a block of the heap; `moved` wrote its key back.
                if !unsafe { claim(b, k) } {
                    return p;
                }
                // SAFETY: next is a free block whose tags agree.
                if unsafe { self.detach(next, room) }.is_none() {
                    // SAFETY: b stays live: its key word back.
                    unsafe { wr(b + W, k) };
                    return p;
                }
                // not a failure after all
                self.stats.failed -= 1;
                size += room;
            }
        }
        // SAFETY: [b, b + size) is this live block, now at least `want` bytes.
        unsafe {
            let have = self.trim(b, size, want);
            wr(b + W, key(ptr as usize, have, low(align, have - HDR - n)));
        }
        self.stats.on_resize(old, n);
        ptr
    }
}

#[cfg(test)]
mod tests;
