//! Free lists by size class, with a bitmap of the non-empty ones.
//!
//! Blocks under `EXACT` bytes have one class per 8 bytes, so any block of the
//! class fits a request of the class. Larger blocks have 2 classes per power
//! of two; a request takes the head of its own class if that fits, else any
//! block of a higher class, which always fits. Few, wide classes reuse a
//! freed block sooner, so the heap touches less memory: measured against 8
//! classes per power of two (as TLSF has), the `random` trace took 10 % less
//! time for one page more (43 against 42); 1 class per power of two was
//! faster still but took 48 pages. Finding a class takes two bit scans (a
//! summary word marks the non-empty bitmap words): no loop, and nothing
//! read from user memory.

use super::tag::{rd, wr, W};

/// Blocks below this size have exact classes.
const EXACT: usize = 256;
/// log2 of the classes per power of two above `EXACT`.
const SPLIT: usize = 1;
/// Number of classes: 32 exact ones, then 2 for each power of two up to 2^31.
pub const CLASSES: usize = EXACT / 8 + ((32 - 8) << SPLIT);
/// Table slots: a power of two, so an index masked with `SLOTS - 1` is in
/// bounds without a check (and without the panic path a check would link).
pub const SLOTS: usize = CLASSES.next_power_of_two();
const WORDS: usize = SLOTS / 32;

/// Class of a block of `size` bytes (a multiple of 8).
#[inline(always)]
pub fn class(size: usize) -> usize {
    if size < EXACT {
        return size >> 3;
    }
    let l = ((usize::BITS - 1 - size.leading_zeros()) as usize).min(31);
    EXACT / 8 + ((l - 8) << SPLIT) + ((size >> (l - SPLIT)) & ((1 << SPLIT) - 1))
}

/// Whether blocks of `a` and `b` bytes (`a < b`, multiples of 8) share a
/// class: for `a` under `EXACT` never (one class per size); above, when
/// they agree in every bit from the class's lowest bit up.
#[inline(always)]
pub fn same_class(a: usize, b: usize) -> bool {
    if a < EXACT {
        return false;
    }
    // capped as in `class`: on a 64-bit host, every block of 2^31 bytes
    // or more is in the last class
    let l = ((usize::BITS - 1 - a.leading_zeros()) as usize).min(31);
    (a ^ b) >> (l - SPLIT) == 0
}

/// The heads of the doubly linked free lists (links in the blocks: next at
/// `b + W`, previous at `b + 2W`; 0 ends a list).
pub struct Bins {
    /// Bit `c` set exactly when list `c` is not empty (`insert` sets it
    /// only when it pushes onto an empty list; `unlink` clears it when it
    /// takes the last block off).
    bits: [u32; WORDS],
    /// Bit i set when `bits[i]` is not zero.
    summary: u32,
    heads: [usize; SLOTS],
}

impl Bins {
    /// Empty lists, usable in a `const`.
    pub const fn new() -> Self {
        Self { bits: [0; WORDS], summary: 0, heads: [0; SLOTS] }
    }

    /// First block of class `c` (0 if none).
    #[inline(always)]
    pub fn head(&self, c: usize) -> usize {
        self.heads[c & (SLOTS - 1)]
    }

    /// Lowest non-empty class at or above `c`: two bit scans (the summary
    /// word says which bitmap words are not zero), no loop.
    #[inline]
    pub fn find(&self, c: usize) -> Option<usize> {
        let i = c / 32;
        if i >= WORDS {
            return None;
        }
        let m = self.bits[i & (WORDS - 1)] & (!0u32 << (c % 32));
        if m != 0 {
            return Some(i * 32 + m.trailing_zeros() as usize);
        }
        let s = self.summary & (!1u32 << i);
        if s == 0 {
            return None;
        }
        let j = s.trailing_zeros() as usize;
        Some(j * 32 + self.bits[j & (WORDS - 1)].trailing_zeros() as usize)
    }

    /// Pushes the free block `b` of `size` bytes on its class's list.
    ///
    /// # Safety
    /// `b` is a free block of the heap, at least `MIN_BLOCK` bytes.
    #[inline(never)]
    pub unsafe fn insert(&mut self, b: usize, size: usize) {
        let c = class(size) & (SLOTS - 1);
        let next = self.heads[c];
        // SAFETY: b and next are free blocks; their link words are theirs.
        unsafe {
            wr(b + W, next);
            wr(b + 2 * W, 0);
            if next != 0 {
                wr(next + 2 * W, b);
            } else {
                // the list was empty, so its bits are clear (set every
                // time, they cost 12.5 of 320.6 instructions per call on
                // `random`, `make bench-instr`)
                self.bits[c / 32] |= 1 << (c % 32);
                self.summary |= 1 << (c / 32);
            }
        }
        self.heads[c] = b;
    }

    /// Takes the free block `b` of `size` bytes off its list, when its
    /// links say it is on it: each neighbour's link back to `b` is checked
    /// (inside `[lo, hi)`, aligned) before anything is written through it,
    /// and a block without a predecessor must be its list's head. The
    /// links live in freed memory a dangling pointer can write (one write
    /// made the old unchecked unlink write anywhere): false, and nothing
    /// changed, when they disagree.
    ///
    /// # Safety
    /// `b` is a free block of `size` bytes in `[lo, hi)`, the readable span
    /// of the heap's regions, which ends in a fence.
    #[inline(never)]
    pub unsafe fn unlink(&mut self, b: usize, size: usize, lo: usize, hi: usize) -> bool {
        let c = class(size) & (SLOTS - 1);
        // SAFETY: b is a free block (its first three words are its own); a
        // neighbour's words are read only once it lies in [lo, hi), whose
        // last block is followed by a fence of HDR bytes.
        unsafe {
            let (next, prev) = (rd(b + W), rd(b + 2 * W));
            let links_back = |x: usize, at: usize| x % 8 == 0 && x >= lo && x < hi && rd(x + at) == b;
            let on_list = (next == 0 || links_back(next, 2 * W)) && if prev == 0 { self.heads[c] == b } else { links_back(prev, W) };
            if !on_list {
                return false;
            }
            if next != 0 {
                wr(next + 2 * W, prev);
            }
            if prev != 0 {
                wr(prev + W, next);
                return true;
            }
            self.heads[c] = next;
            if next == 0 {
                self.clear_bit(c);
            }
        }
        true
    }

    fn clear_bit(&mut self, c: usize) {
        self.bits[c / 32] &= !(1 << (c % 32));
        if self.bits[c / 32] == 0 {
            self.summary &= !(1 << (c / 32));
        }
    }

    /// Empties the list `b` heads, if any (its blocks stay unused): `b`
    /// was found damaged. False when `b` heads no list.
    #[cold]
    pub fn drop_head(&mut self, b: usize) -> bool {
        let mut found = false;
        for c in 0..SLOTS {
            if self.heads[c] == b {
                self.drop_list(c);
                found = true;
            }
        }
        found
    }

    /// Empties list `c` (its blocks stay unused): a link on it was damaged.
    #[cold]
    pub fn drop_list(&mut self, c: usize) {
        self.heads[c & (SLOTS - 1)] = 0;
        self.clear_bit(c & (SLOTS - 1));
    }
}

#[cfg(test)]
impl Bins {
    /// Checks the lists against the bitmap and each block against its
    /// class (test only): every block on a list is free (`is_free`), of its
    /// list's class, and linked back to its predecessor; a bitmap bit is
    /// set exactly for a non-empty list. Calls `each` with every block on
    /// a list; at most `limit` blocks in all (a cycle fails).
    pub fn audit(&self, limit: usize, is_free: impl Fn(usize) -> Option<usize>, mut each: impl FnMut(usize)) {
        let mut seen = 0;
        for c in 0..SLOTS {
            let bit = self.bits[c / 32] >> (c % 32) & 1 == 1;
            assert_eq!(bit, self.heads[c] != 0, "class {c}: bitmap bit against its list");
            assert!(c < CLASSES || self.heads[c] == 0, "slot {c} past the classes is used");
            let (mut b, mut prev) = (self.heads[c], 0);
            while b != 0 {
                seen += 1;
                assert!(seen <= limit, "more blocks on the lists than the heap holds (a cycle?)");
                let size = is_free(b).unwrap_or_else(|| panic!("block {b:#x} on list {c} is not a free block"));
                assert_eq!(class(size), c, "block {b:#x} of {size} bytes on the wrong list");
                // SAFETY: b is a free block of the heap (checked just above).
                let (next, back) = unsafe { (rd(b + W), rd(b + 2 * W)) };
                assert_eq!(back, prev, "block {b:#x}: back link");
                each(b);
                prev = b;
                b = next;
            }
        }
        for i in 0..WORDS {
            assert_eq!(self.summary >> i & 1 == 1, self.bits[i] != 0, "summary bit {i}");
        }
    }
}

impl Default for Bins {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_monotonic_and_in_range() {
        let mut last = 0;
        let mut s = 16;
        while s < (1usize << 32) - 8 {
            let c = class(s);
            assert!(c >= last && c < CLASSES, "size {s}: class {c}");
            last = c;
            s += if s < 4096 { 8 } else { (s / 64) & !7 };
        }
        assert_eq!(class(255 & !7), 31);
        assert_eq!(class(256), 32);
        assert_eq!(class((1 << 32) - 8), CLASSES - 1);
    }

    #[test]
    fn a_higher_class_always_fits() {
        // every block of class c + 1 is larger than every block of class c
        for s in (256..1 << 20).step_by(8) {
            let c = class(s);
            assert!(class(s + 8) == c || class(s + 8) == c + 1);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "arithmetic only, and minutes under Miri")]
    fn same_class_agrees_with_class() {
        // every pair a < b of sizes around the class boundaries below
        // 2^32 (near and far apart)
        let mut sizes = std::vec::Vec::new();
        for l in 4..=32 {
            for k in [0usize, 1, 2, 3] {
                let edge = (1usize << l) + k * (1 << (l - 2));
                sizes.extend([edge.saturating_sub(16), edge - 8, edge, edge + 8].into_iter().filter(|&s| s >= 16 && s % 8 == 0 && s < 1 << 32));
            }
        }
        sizes.sort_unstable();
        sizes.dedup();
        for (i, &a) in sizes.iter().enumerate() {
            for &b in &sizes[i + 1..] {
                assert_eq!(same_class(a, b), class(a) == class(b), "{a} and {b}");
            }
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn same_class_is_never_wrong_above_4_gib() {
        // Only a 64-bit host has blocks this large (`class` reads bit 30 of
        // them): a "same" must be true, a "not the same" may be cautious.
        for (a, b) in [(1usize << 31, (1 << 32) + (1 << 30)), (1 << 32, (1 << 32) + (1 << 30)), ((3 << 30) - 8, 1 << 33), (1 << 32, (1 << 32) + 8)] {
            assert!(!same_class(a, b) || class(a) == class(b), "{a} and {b}");
        }
        assert!(!same_class(1 << 32, (1 << 32) + (1 << 30)), "classes 78 and 79");
        assert!(same_class(1 << 32, (1 << 32) + 8));
    }

    #[test]
    fn lists_and_bitmap() {
        let mut mem = [0usize; 64];
        let base = mem.as_mut_ptr() as usize;
        let (a, b, c) = (base, base + 16 * W, base + 32 * W);
        let mut bins = Bins::new();
        assert_eq!(bins.find(0), None);
        // SAFETY: a, b, c are disjoint parts of `mem`, each 16 words.
        unsafe {
            bins.insert(a, 64);
            bins.insert(b, 64);
            bins.insert(c, 4096);
        }
        assert_eq!(bins.find(0), Some(class(64)));
        assert_eq!(bins.find(class(64) + 1), Some(class(4096)));
        assert_eq!(bins.head(class(64)), b);
        let end = base + 64 * W;
        // SAFETY: as above; each block is on its class's list.
        assert!(unsafe { bins.unlink(b, 64, base, end) });
        assert_eq!(bins.head(class(64)), a);
        // a block whose links do not say it is on its list stays: a lost
        // back link, a link out of bounds, a head that is not the list's
        // SAFETY (below): a and c are blocks of `mem`, a on its list.
        unsafe {
            let back = rd(a + 2 * W);
            wr(a + 2 * W, c);
            assert!(!bins.unlink(a, 64, base, end), "a predecessor that does not link back");
            wr(a + 2 * W, 0);
            assert!(!bins.unlink(c, 64, base, end), "not the head of its list");
            wr(a + W, end + 64);
            assert!(!bins.unlink(a, 64, base, end), "a successor outside the heap");
            wr(a + W, 0);
            wr(a + 2 * W, back);
        }
        assert_eq!(bins.head(class(64)), a, "nothing changed");
        // SAFETY: as above.
        assert!(unsafe { bins.unlink(a, 64, base, end) });
        assert_eq!(bins.find(0), Some(class(4096)));
        // SAFETY: as above.
        assert!(unsafe { bins.unlink(c, 4096, base, end) });
        assert_eq!(bins.find(0), None);
    }
}
