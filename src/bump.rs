//! The bump build (`dist/linalloc-bump.wasm`): an arena. `malloc` moves a
//! pointer up; `free` marks the block freed and gives its bytes back only
//! when it is the most recent block; `heap_reset` frees everything at once.
//! For per-frame or per-request lifetimes, where nothing outlives a reset.
//!
//! Blocks carry the same 8-byte tag as the default heap (`crate::lin::tag`),
//! so `free`, `realloc` and `heap_block_size` refuse stray pointers and
//! double frees the same way, and the stats stay exact.
//!
//! ```text
//!  first ......................... top ................ end
//!  [tag|block][tag|block][..freed..][tag|last block]    free room
//! ```
//!
//! Regions come from the [`Grow`] seam; when the memory was grown by
//! someone else in between, the arena moves on to the new region, and the
//! room left in the old one waits for the next reset. Every region starts
//! with a sealed link (its end, the next region's start), so after a reset the
//! arena refills all of them in order before it asks for new pages: a
//! steady per-frame workload stops growing the memory however often
//! someone else grew it (found by adversarial runs: 16 pages lost per
//! frame with one region remembered, a page per frame with eight).
//!
//! ```text
//!  region: [ end | next region | seal ][tag|block][tag|block] ...... end
//! ```

use crate::api::Allocator;
use crate::grow::Grow;
use crate::header::MAX_SIZE;
use crate::heap::Rejected;
use crate::lin::tag::{align_of_key, block_for, key, low, rd, wr, FLAGS, HDR, INUSE, LOW, MIN_BLOCK, SLACK, W};
use crate::stats::Stats;
use core::ptr::null_mut;

/// The arena: its page source, counters and the bump pointers.
pub struct BumpHeap<G: Grow> {
    pages: G,
    stats: Stats,
    /// Lowest address of every region (0 before the first).
    lo: usize,
    /// Highest `end` of every region: no block lies at or above it.
    hi: usize,
    /// The first, current and newest region (0 before the first); the
    /// regions are chained in the order they were claimed, and a reset
    /// starts again at the first. The first region's end is kept here
    /// too: a link the program overwrote (its seal no longer matches) ends
    /// the walk, and the next new region is linked in its place, so it
    /// costs the room of the regions after it once, not every frame.
    first: usize,
    first_end: usize,
    cur: usize,
    last: usize,
    /// Regions in the chain: the bound of every walk along it.
    count: usize,
    /// Next free byte and end of the current region.
    top: usize,
    end: usize,
    /// Resets so far, modulo [`EPOCHS`]: added to every block's key, so a
    /// block from before a reset is no longer a live block. The key of one
    /// address and size takes `EPOCHS` distinct values before it repeats,
    /// and the reset that wraps the epoch clears every region first, so no
    /// header from an epoch with the same number survives (a hash of the
    /// epoch repeated a key after 3.7 million resets, found by an
    /// adversarial run).
    epoch: usize,
}

/// Epochs before the key of a block repeats: the key word has 22 bits above
/// its alignment and slack on wasm32, and `epoch << 10` stays inside them.
pub const EPOCHS: usize = 1 << 22;

/// Bytes of a region's link: its end, the next region's start and a seal
/// of both (a multiple of 8, so blocks stay 8-aligned).
const LINK: usize = (3 * W + 7) & !7;

/// The seal of the link of region `r`.
fn seal(r: usize, end: usize, next: usize) -> usize {
    key(r ^ next.rotate_left(7), end.wrapping_sub(r), 0)
}

/// Writes the link of region `r`.
///
/// # Safety
/// `[r, r + LINK)` is the arena's.
unsafe fn link(r: usize, end: usize, next: usize) {
    // SAFETY: caller contract.
    unsafe {
        wr(r, end);
        wr(r + W, next);
        wr(r + 2 * W, seal(r, end, next));
    }
}

impl<G: Grow> BumpHeap<G> {
    /// An empty arena over `pages`; it claims memory on first use.
    pub const fn new(pages: G) -> Self {
        Self { pages, stats: Stats::new(), lo: 0, hi: 0, first: 0, first_end: 0, cur: 0, last: 0, count: 0, top: 0, end: 0, epoch: 0 }
    }

    /// The key word of a block of this epoch: the address and size hash,
    /// plus the epoch above the `LOW` bits (added, not hashed: distinct for
    /// `EPOCHS` resets).
    #[inline]
    fn key(&self, user: usize, size: usize, low: usize) -> usize {
        key(user, size, 0).wrapping_add(self.epoch << LOW.count_ones()) & !LOW | low
    }

    /// Start of a `size`-byte block at or after `top` whose user part is
    /// aligned to `align`, if it fits in the current region.
    /// The arena's own state lies in front of its first block, where a
    /// write before a block's start reaches it: a `top` or `end` outside
    /// the arena's span gives no room, so `extend` moves on to a region
    /// whose sealed link is intact (found by an adversarial run: one write
    /// 36 bytes in front of the first block made `malloc` return 24).
    #[inline]
    fn room(&self, size: usize, align: usize) -> Option<usize> {
        if self.top < self.lo || self.top > self.end || self.end > self.hi {
            return None;
        }
        let b = (self.top.checked_add(HDR + align - 1)? & !(align - 1)) - HDR;
        (self.top != 0 && b <= self.end && self.end - b >= size).then_some(b)
    }

    /// Makes room for `need` more bytes: the memory grows behind the
    /// current region, or the arena moves on to a new region (pages grown
    /// by someone else in between, or what is left of the caller's pages).
    #[cold]
    fn extend(&mut self, need: usize) {
        // a later region this epoch has not used yet (after a reset); the
        // walk is bounded by the regions claimed, and a link whose seal
        // does not match, or that names no region whose link lies inside
        // the arena's span (hi >= LINK: a region exists), ends it
        for _ in 0..self.count {
            let Some((_, next)) = self.read_link(self.cur) else {
                self.stats.on_corruption();
                break;
            };
            if next == 0 || next % 8 != 0 || next < self.lo || next > self.hi - LINK {
                break;
            }
            let Some((end, _)) = self.read_link(next) else {
                self.stats.on_corruption();
                break;
            };
            (self.cur, self.top, self.end) = (next, next + LINK, end);
            if self.end - self.top >= need {
                return;
            }
        }
        let Some((start, len)) = self.pages.claim(need + LINK) else { return };
        let (start, end) = (start as usize, start as usize + len);
        // SAFETY: the newest region's link and the new pages are the arena's.
        unsafe {
            if self.last != 0 && self.cur == self.last && self.end == start {
                // grown behind the newest region, the current one: one
                // longer region
                link(self.last, end, 0);
                if self.last == self.first {
                    self.first_end = end;
                }
            } else {
                if len < LINK {
                    return;
                }
                link(start, end, 0);
                if self.last == 0 {
                    (self.first, self.first_end) = (start, end);
                } else {
                    // after the current region: the newest one, unless a
                    // broken link ended the walk early (then the regions
                    // past it are given up)
                    link(self.cur, self.end, start);
                }
                self.count += 1;
                (self.last, self.cur, self.top) = (start, start, start + LINK);
            }
        }
        self.end = end;
        self.lo = if self.lo == 0 { start } else { self.lo.min(start) };
        self.hi = self.hi.max(end);
    }

    /// The link of region `r` (its end and the next region), if its seal
    /// matches and the end lies in the arena's span.
    fn read_link(&self, r: usize) -> Option<(usize, usize)> {
        // `cur` and `first` are state a stray write can reach too
        if r % 8 != 0 || r < self.lo || self.hi < LINK || r > self.hi - LINK {
            return None;
        }
        // SAFETY: [r, r + LINK) lies in the arena's span: memory.
        let (end, next, s) = unsafe { (rd(r), rd(r + W), rd(r + 2 * W)) };
        (s == seal(r, end, next) && end >= r + LINK && end <= self.hi).then_some((end, next))
    }

    /// `Ok((block start, block size, requested size))` for a live block.
    #[inline(never)]
    fn validate(&self, ptr: *const u8) -> Result<(usize, usize, usize), Rejected> {
        let u = ptr as usize;
        if u % 8 != 0 {
            return Err(Rejected::Misaligned);
        }
        if u < self.lo + HDR || u >= self.hi {
            return Err(Rejected::OutsideHeap);
        }
        let b = u - HDR;
        // SAFETY: [b, u) lies inside the regions' span, in the wasm memory.
        let (w, k) = unsafe { (rd(b), rd(b + W)) };
        let size = w & !FLAGS;
        if size < MIN_BLOCK || size > self.hi - b {
            return Err(Rejected::BadHeader);
        }
        let slack = k & SLACK;
        if k != self.key(u, size, k & LOW) || slack > size - HDR {
            return Err(Rejected::BadHeader);
        }
        if w & INUSE == 0 {
            return Err(Rejected::DoubleFree);
        }
        Ok((b, size, size - HDR - slack))
    }

    #[cold]
    fn refuse(&mut self, why: Rejected) -> Rejected {
        self.stats.on_invalid_free();
        why
    }

    /// Frees every block at once: the arena starts again at its first region.
    pub fn reset(&mut self) {
        if self.first != 0 {
            (self.cur, self.top, self.end) = (self.first, self.first + LINK, self.first_end);
        }
        self.epoch = (self.epoch + 1) % EPOCHS;
        if self.epoch == 0 {
            self.clear_regions();
        }
        self.stats.on_reset();
    }

    /// Zeroes every region after its link, so no header of an earlier
    /// epoch is left to match a key again (once in `EPOCHS` resets: a
    /// pass over the arena's bytes every 4 million resets).
    #[cold]
    #[inline(never)]
    fn clear_regions(&mut self) {
        // the first region from the state (its link may be the one damaged:
        // found by an adversarial run), the others along their links
        let (mut r, mut end) = (self.first, self.first_end);
        for _ in 0..self.count {
            if r % 8 != 0 || r < self.lo || end > self.hi || end < r + LINK {
                break;
            }
            // SAFETY: [r + LINK, end) is a region of the arena (inside its
            // span); every block in it is dead after the reset.
            unsafe { core::ptr::write_bytes((r + LINK) as *mut u8, 0, end - (r + LINK)) };
            let Some((_, next)) = self.read_link(r) else {
                self.stats.on_corruption();
                break;
            };
            if next == 0 {
                break;
            }
            let Some((e, _)) = self.read_link(next) else {
                self.stats.on_corruption();
                break;
            };
            (r, end) = (next, e);
        }
    }

    /// Sets the epoch (tests reach the wrap without 4 million resets).
    #[cfg(test)]
    pub fn set_epoch(&mut self, e: usize) {
        self.epoch = e % EPOCHS;
    }
}

impl<G: Grow> Allocator for BumpHeap<G> {
    fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// Current counters.
    fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes of memory the arena's regions span.
    fn heap_bytes(&self) -> usize {
        self.pages.owned_bytes()
    }

    #[inline(never)]
    fn alloc(&mut self, n: usize, align: usize) -> *mut u8 {
        if n > MAX_SIZE {
            return self.fail();
        }
        let size = block_for(n);
        let align = align.max(8);
        let b = match self.room(size, align) {
            Some(b) => b,
            None => {
                self.extend(size + align);
                match self.room(size, align) {
                    Some(b) => b,
                    None => return self.fail(),
                }
            }
        };
        self.top = b + size;
        // SAFETY: [b, b + size) lies in the current region, above every live block.
        unsafe {
            wr(b, size | INUSE);
            wr(b + W, self.key(b + HDR, size, low(align, size - HDR - n)));
        }
        self.stats.on_alloc(n);
        (b + HDR) as *mut u8
    }

    /// [`BumpHeap::free`], saying why a pointer was refused.
    ///
    /// # Safety
    /// As for [`BumpHeap::free`].
    #[inline(never)]
    unsafe fn try_free(&mut self, ptr: *mut u8) -> Result<(), Rejected> {
        if ptr.is_null() {
            return Ok(());
        }
        let (b, size, n) = self.validate(ptr).map_err(|why| self.refuse(why))?;
        self.stats.on_free(n);
        // SAFETY: b is a live block (validated); its tag keeps the key, so a
        // second free sees a freed block.
        unsafe { wr(b, size) };
        if b + size == self.top {
            self.top = b;
        }
        Ok(())
    }

    /// Requested size of the live block at `ptr`, or `None`.
    fn block_size(&self, ptr: *const u8) -> Option<usize> {
        self.validate(ptr).ok().map(|(_, _, n)| n)
    }

    /// `realloc` of a live block. The most recent block grows and shrinks in place (the
    /// memory grows behind it when it can); another block moves unless the
    /// new size fits its block.
    ///
    /// # Safety
    /// `ptr` is a pointer returned by this arena, not null.
    unsafe fn resize(&mut self, ptr: *mut u8, n: usize) -> *mut u8 {
        let (b, size, old) = match self.validate(ptr) {
            Ok(v) => v,
            Err(why) => {
                self.refuse(why);
                return null_mut();
            }
        };
        // SAFETY: b is a live block (validated): its key word is its own.
        let align = align_of_key(unsafe { rd(b + W) }).min(crate::header::MAX_ALIGN);
        if n > MAX_SIZE {
            return self.fail();
        }
        let want = block_for(n);
        if b + size == self.top && want > self.end - b && self.cur == self.last {
            // the most recent block of the newest region: grow the region
            // behind it (when the new pages are not contiguous, the arena
            // moves on and the block moves below)
            self.extend(want - (self.end - b));
        }
        let last = b + size == self.top;
        let fits = if last { want <= self.end - b } else { want <= size && size - HDR - n <= SLACK };
        if !fits {
            // moves, as aligned as it was asked to be; one resize in the
            // counters: the old bytes leave before the new ones arrive (the
            // peak never holds both), `alloc` counts `total`, `live` stays
            self.stats.in_use -= old;
            let new = self.alloc(n, align);
            if new.is_null() {
                self.stats.in_use += old;
                return new;
            }
            self.stats.live -= 1;
            // SAFETY: both blocks are live and distinct; the copy fits both;
            // the old block is marked freed (the new one lies above it, so
            // the top stays).
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, old.min(n));
                wr(b, size);
            }
            return new;
        }
        let size = if last { want } else { size };
        if last {
            self.top = b + size;
        }
        // SAFETY: [b, b + size) is this live block's room.
        unsafe {
            wr(b, size | INUSE);
            wr(b + W, self.key(ptr as usize, size, low(align, size - HDR - n)));
        }
        self.stats.on_resize(old, n);
        ptr
    }
}

#[cfg(test)]
mod tests;
