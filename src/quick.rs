//! Quick lists: a LIFO list of freed blocks per small size class, in front
//! of the backend. Freeing a small block pushes it; allocating one of the
//! same class pops it, so same-size churn never reaches the backend. Each
//! list holds at most `LIST_BYTES` bytes; beyond that blocks go back to the
//! backend, so the cache bounds what it keeps from other sizes.
//!
//! Small means `size <= SMALL_MAX` with the default 8-byte header. Such
//! blocks always have `class_bytes(class(size))` bytes in the backend, so a
//! cached block fits any size of its class, and `free` can give the backend
//! the exact size it allocated.

/// Largest user size served from the quick lists.
pub const SMALL_MAX: usize = 128;
/// Number of classes: user sizes 0..=8 (class 1), 9..=16, ..., 121..=128;
/// class 0 is unused.
pub const CLASSES: usize = SMALL_MAX / 8 + 1;
/// Offset of the link in a cached block: after the 8-byte header.
const LINK: usize = 8;
/// Most bytes one list keeps.
pub const LIST_BYTES: usize = 32 * 1024;

/// Class of a small block of `size` user bytes behind an 8-byte header.
#[inline]
pub fn class(size: usize) -> usize {
    size.max(1).div_ceil(8)
}

/// Backend bytes of every block in class `c`: header + the class's largest size.
#[inline]
pub const fn class_bytes(c: usize) -> usize {
    c * 8 + 8
}

/// A quick list's link named no block the list left there (memory written
/// through a dangling pointer): the list was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damaged;

/// The per-class free lists. The link to the next block is stored in the
/// first user word of each cached block, so the header keeps its freed
/// mark (a second free of a cached block is recognised).
pub struct QuickLists {
    heads: [*mut u8; CLASSES],
    lens: [u16; CLASSES],
}

impl QuickLists {
    /// Empty lists, usable in a `static`.
    pub const fn new() -> Self {
        Self { heads: [core::ptr::null_mut(); CLASSES], lens: [0; CLASSES] }
    }
}

impl Default for QuickLists {
    fn default() -> Self {
        Self::new()
    }
}

impl QuickLists {
    /// Blocks on the list of class `c`.
    #[inline]
    pub fn len(&self, c: usize) -> usize {
        self.lens[c] as usize
    }

    /// Empties the list of class `c` (its blocks are the caller's now).
    pub fn clear(&mut self, c: usize) {
        self.heads[c] = core::ptr::null_mut();
        self.lens[c] = 0;
    }

    /// A cached block start (backend pointer) of class `c`, or null. Every
    /// block of the heap lies in `[lo, last]`. The link lives in the first
    /// user word of a freed block, which the program can still write
    /// through a dangling pointer, so the block it names is checked first:
    /// inside the heap, aligned, its header freed and of this class. A block
    /// that is not drops the list (its blocks stay unused): `Err`.
    #[inline]
    pub fn pop(&mut self, c: usize, lo: usize, last: usize) -> Result<*mut u8, Damaged> {
        let base = self.heads[c];
        if base.is_null() {
            return Ok(base);
        }
        let a = base as usize;
        // SAFETY: the header words are read only once the block lies in [lo, last].
        let ok = self.lens[c] != 0
            && a % 8 == 0
            && a >= lo
            && last.checked_sub(a).is_some_and(|room| room >= class_bytes(c) - 1)
            && unsafe { crate::header::is_freed(base.add(crate::header::HEADER)) }
            && class(unsafe { (base as *const u32).read() } as usize) == c;
        if !ok {
            self.clear(c);
            return Err(Damaged);
        }
        // SAFETY: base is a cached block of class c (checked), its link in
        // its first user word.
        self.heads[c] = unsafe { (base.add(LINK) as *mut *mut u8).read() };
        self.lens[c] -= 1;
        Ok(base)
    }

    /// Caches the block at `base` of class `c`; false when the list is full
    /// (the caller gives it back to the backend).
    ///
    /// # Safety
    /// `base` is the start of a block of class `c` being freed by its owner.
    #[inline]
    pub unsafe fn push(&mut self, c: usize, base: *mut u8) -> bool {
        if self.lens[c] as usize * class_bytes(c) >= LIST_BYTES {
            return false;
        }
        // SAFETY: the block is being freed by its owner; every class has at
        // least 8 user bytes after the 8-byte header, where the link goes.
        unsafe { (base.add(LINK) as *mut *mut u8).write(self.heads[c]) };
        self.heads[c] = base;
        self.lens[c] += 1;
        true
    }
}
