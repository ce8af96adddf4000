//! The `checked` build: an allocator for finding heap misuse, whose own
//! bookkeeping never trusts memory the program can write.
//!
//! ```text
//!  block:  [ pad (over-aligned) ][ guard 16 ][ user bytes ... ][ canary to the block's end ]
//!  freed:  [ 0xDD over the whole block ] -> quarantine -> free lists (merged with neighbours)
//!  metadata, apart from the blocks: records (base, cap, user, size, align, state, links,
//!  checksum) in chunks that never move, a hash index address -> record, and the core
//!  fields (bump region, table addresses) sealed by a checksum
//! ```
//!
//! Detected, and when:
//! - overflow (bytes after a block's end, up to the block's 16-byte rounding
//!   and at least 8): at `free`, `realloc` and `heap_check`;
//! - underflow (the 16-byte guard or the alignment padding before a block):
//!   at `free`, `realloc` and `heap_check`;
//! - write after free: freed blocks are filled with 0xDD and wait in a
//!   quarantine (the last [`QUARANTINE`] frees, at most [`QUARANTINE_BYTES`])
//!   before they can be reused; the fill is verified when the memory is
//!   handed out again and by `heap_check`;
//! - double free, as long as the block's memory has not been handed out
//!   again (however many frees happened in between); invalid free (interior,
//!   misaligned, foreign pointers); `dealloc` with another size or alignment;
//! - damage to the checker's own records, index or core: reported as
//!   [`Fault::MetadataCorrupt`]; the damaged entries are dropped, never followed.
//!
//! Not detected: reads of freed or foreign memory, writes inside another
//! live block that skip its guard and canary, writes into never-used memory.
//! After a reported fault the heap keeps working for intact blocks; a
//! damaged block is retired (never reused).

mod fault;
mod store;

pub use fault::{clear as clear_fault, last as last_fault, record as record_fault, Fault, Found};

use crate::grow::Grow;
use crate::header::MAX_SIZE;
use crate::heap::Rejected;
use crate::owner::align_up;
use crate::stats::Stats;
use core::ptr::null_mut;
use store::{Rec, Store, BAD, CHUNK0, END, FREE, LIVE, META, MFREE, NDIR, QUAR, REC, START, USER};

/// Fill of fresh blocks.
pub const FRESH_FILL: u8 = 0xAA;
/// Fill of freed blocks (and of free memory).
pub const FREED_FILL: u8 = 0xDD;
/// Fill after a block's end (and of alignment padding).
pub const CANARY: u8 = 0xCA;
/// Bytes of guard in front of every block.
pub const GUARD: usize = 16;
/// Canary bytes after every block, at least.
pub const TAIL: usize = 8;
/// Freed blocks held back from reuse: a write through a dangling pointer in
/// the next 256 frees lands in poisoned memory, where it is found, instead
/// of in a new block. At most [`QUARANTINE_BYTES`] wait, and all are
/// released before an allocation would fail.
pub const QUARANTINE: usize = 256;
/// Bytes the quarantine holds at most (1 MiB: 1/16 of a 16 MiB heap).
pub const QUARANTINE_BYTES: usize = 1 << 20;
const MAGIC: u32 = u32::from_le_bytes(*b"LNCK");

/// The checked heap over a page source.
pub struct CheckedHeap<G: Grow> {
    pages: G,
    store: Store,
    stats: Stats,
    quar: [usize; QUARANTINE],
    qhead: usize,
    qlen: usize,
    qbytes: usize,
}

fn fill(a: usize, len: usize, byte: u8) {
    // SAFETY: callers pass ranges of blocks the heap owns (records are
    // verified against the owned range before use).
    unsafe { core::ptr::write_bytes(a as *mut u8, byte, len) };
}

/// Address of the first byte in `[a, a + len)` that is not `byte`.
fn first_not(a: usize, len: usize, byte: u8) -> Option<usize> {
    // SAFETY: as in `fill`.
    let s = unsafe { core::slice::from_raw_parts(a as *const u8, len) };
    let word = u64::from_ne_bytes([byte; 8]);
    let (head, words, tail) = {
        // SAFETY: u64 has no invalid bit patterns.
        unsafe { s.align_to::<u64>() }
    };
    let mut off = match head.iter().position(|&b| b != byte) {
        Some(k) => return Some(a + k),
        None => head.len(),
    };
    for &w in words {
        if w != word {
            let k = w.to_ne_bytes().iter().position(|&b| b != byte).unwrap_or(0);
            return Some(a + off + k);
        }
        off += 8;
    }
    tail.iter().position(|&b| b != byte).map(|k| a + off + k)
}

/// A fault stops the call (`fault::raise`); otherwise true.
trait OrRaise {
    fn done_or_raise(self) -> bool;
}

impl OrRaise for Result<(), Found> {
    fn done_or_raise(self) -> bool {
        match self {
            Ok(()) => true,
            Err(f) => fault::raise(f),
        }
    }
}

fn guard_words(user: usize, size: usize) -> [u32; 4] {
    [MAGIC, size as u32, store::mix(user, size) as u32, !MAGIC]
}

impl<G: Grow> CheckedHeap<G> {
    /// A checked heap taking memory from `pages`.
    pub const fn new(pages: G) -> Self {
        Self { pages, store: Store::new(), stats: Stats::new(), quar: [0; QUARANTINE], qhead: 0, qlen: 0, qbytes: 0 }
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes of memory the heap took.
    pub fn heap_bytes(&self) -> usize {
        self.pages.owned_bytes()
    }

    fn core_ok(&self) -> Result<(), Found> {
        if self.store.core.intact() {
            return Ok(());
        }
        let at = core::ptr::addr_of!(self.store.core) as usize;
        Err(Found::new(Fault::MetadataCorrupt, at, 0, at))
    }

    // ---- getting memory

    /// `need` bytes from the bump region, claiming more pages when needed.
    fn bump(&mut self, need: usize) -> Result<Option<(usize, usize)>, Found> {
        // each turn claims a new region or ends: a memory has finitely many pages
        for _ in 0..65536 {
            let c = &self.store.core;
            if c.end - c.top >= need {
                let Some(i) = self.store.new_rec() else { return Ok(None) };
                let base = self.store.core.top;
                self.store.core.top += need;
                self.store.core.seal();
                return Ok(Some((i, base)));
            }
            let Some((p, len)) = self.pages.claim(need) else { return Ok(None) };
            let (start, end) = (align_up(p as usize, 16), (p as usize + len) & !15);
            if end <= start {
                continue;
            }
            let c = &mut self.store.core;
            let (top, old_end) = (c.top, c.end);
            c.lo = c.lo.min(start);
            c.hi = c.hi.max(end);
            if start == old_end {
                c.end = end;
                c.seal();
                continue;
            }
            c.top = start;
            c.end = end;
            c.seal();
            // what was left of the old region lies below metadata carved from
            // its end: it serves metadata only, so no block of the program
            // sits right below the records
            if old_end - top >= 32 {
                if let Some(i) = self.store.new_rec() {
                    fill(top, old_end - top, FREED_FILL);
                    self.push_mfree(i, top, old_end - top);
                }
            }
        }
        Ok(None)
    }

    /// A block of at least `need` bytes: `(record, base, cap)`. With `flush`,
    /// the quarantine is emptied before giving up.
    fn take(&mut self, need: usize, flush: bool) -> Result<Option<(usize, usize, usize)>, Found> {
        for attempt in 0..2 {
            if let Some((i, r)) = self.store.pop_fit(need)? {
                if let Some(at) = first_not(r.base, need, FREED_FILL) {
                    self.store.put(i, Rec { meta: BAD, ..r });
                    return Err(Found::new(Fault::WriteAfterFree, r.base, 0, at));
                }
                let mut cap = r.cap;
                if cap - need >= 32 {
                    if let Some(j) = self.store.new_rec() {
                        self.store.put(j, Rec { base: r.base + need, cap: cap - need, meta: FREE, ..Rec::default() });
                        self.store.link(j)?;
                        cap = need;
                    }
                }
                return Ok(Some((i, r.base, cap)));
            }
            if let Some((i, base)) = self.bump(need)? {
                return Ok(Some((i, base, need)));
            }
            if attempt == 0 && flush && self.qlen > 0 {
                // out of memory: the quarantine gives everything back first
                self.flush()?;
            } else {
                break;
            }
        }
        Ok(None)
    }

    /// A metadata block of `bytes` (16-aligned start): `(record, start)`.
    /// It comes from the end of the bump region when it fits, away from the
    /// blocks the program writes into (an overrun reaches it later, if ever).
    fn take_meta(&mut self, bytes: usize, flush: bool) -> Result<Option<(usize, usize)>, Found> {
        let need = align_up(GUARD + bytes + TAIL, 16);
        let (i, base, cap) = if let Some(t) = self.take_mfree(need)? {
            t
        } else if self.store.core.end - self.store.core.top >= need && self.store.available() > 0 {
            let i = self.store.new_rec().unwrap_or(0);
            self.store.core.end -= need;
            self.store.core.seal();
            (i, self.store.core.end, need)
        } else {
            match self.take(need, flush)? {
                Some(t) => t,
                None => return Ok(None),
            }
        };
        let user = base + GUARD;
        self.seal_block(i, Rec { base, cap, user, size: bytes, meta: META | 4 << 4, ..Rec::default() });
        Ok(Some((i, user)))
    }

    /// Puts poisoned memory `[base, base + cap)` on the metadata-only list as record `i`.
    fn push_mfree(&mut self, i: usize, base: usize, cap: usize) {
        self.store.put(i, Rec { base, cap, meta: MFREE, next: self.store.core.mfree, ..Rec::default() });
        self.store.core.mfree = i + 1;
        self.store.core.seal();
    }

    /// A freed metadata block of at least `need` bytes, off the `mfree` list
    /// (metadata memory is never handed to the program, so its blocks do not
    /// end up next to the records and overrun them).
    fn take_mfree(&mut self, need: usize) -> Result<Option<(usize, usize, usize)>, Found> {
        let (mut prev, mut at) = (0, self.store.core.mfree);
        for _ in 0..self.store.core.nrec {
            if at == 0 {
                break;
            }
            let r = self.store.get(at - 1)?;
            if r.state() != MFREE {
                // a damaged list: forget it (its memory leaks)
                self.store.core.mfree = 0;
                self.store.core.seal();
                return Ok(None);
            }
            if r.cap >= need {
                if first_not(r.base, r.cap, FREED_FILL).is_some() {
                    self.store.put(at - 1, Rec { meta: BAD, ..r });
                    return Err(Found::new(Fault::MetadataCorrupt, r.base, 0, first_not(r.base, r.cap, FREED_FILL).unwrap_or(0)));
                }
                if prev == 0 {
                    self.store.core.mfree = r.next;
                    self.store.core.seal();
                } else {
                    let p = self.store.get(prev - 1)?;
                    self.store.put(prev - 1, Rec { next: r.next, ..p });
                }
                if r.cap - need >= 64 {
                    if let Some(j) = self.store.new_rec() {
                        self.push_mfree(j, r.base + need, r.cap - need);
                        return Ok(Some((at - 1, r.base, need)));
                    }
                }
                return Ok(Some((at - 1, r.base, r.cap)));
            }
            (prev, at) = (at, r.next);
        }
        Ok(None)
    }

    /// Writes a block's guard, tail and record.
    fn seal_block(&mut self, i: usize, r: Rec) {
        fill(r.base, r.user - GUARD - r.base, CANARY);
        let g = guard_words(r.user, r.size);
        // SAFETY: the guard's 16 bytes lie in the block, 4-aligned.
        unsafe { ((r.user - GUARD) as *mut [u32; 4]).write(g) };
        fill(r.user + r.size, r.base + r.cap - r.user - r.size, CANARY);
        self.store.put(i, r);
    }

    /// Makes sure the next allocation finds records and an index slot.
    fn prepare(&mut self) -> Result<bool, Found> {
        if self.store.core.dir[0] == 0 {
            // the first chunk holds its own record: placed before any record exists
            let need = align_up(GUARD + CHUNK0 * REC + TAIL, 16);
            let Some(base) = self.bump_raw(need) else { return Ok(false) };
            self.store.core.dir[0] = base + GUARD;
            self.store.core.seal();
            let i = self.store.new_rec().unwrap_or(0);
            self.seal_block(i, Rec { base, cap: need, user: base + GUARD, size: CHUNK0 * REC, meta: META | 4 << 4, ..Rec::default() });
        }
        if self.store.available() < 4 {
            let k = self.store.core.dir.iter().take_while(|&&c| c != 0).count();
            // out of memory for a chunk: releasing the quarantine may give
            // records back (merged neighbours) or make room
            let mut chunk = if k < NDIR { self.take_meta((CHUNK0 << k) * REC, false)? } else { None };
            if chunk.is_none() && self.qlen > 0 {
                self.flush()?;
                if self.store.available() < 4 && k < NDIR {
                    chunk = self.take_meta((CHUNK0 << k) * REC, true)?;
                }
            }
            match chunk {
                Some((_, at)) => {
                    self.store.core.dir[k] = at;
                    self.store.core.seal();
                }
                // the last records still serve: a block and its split
                // remainder take 2, a region leftover 1
                None if self.store.available() >= 3 => {}
                None => return Ok(false),
            }
        }
        if !self.store.index_has_room() && !self.grow_index(false)? && self.qlen > 0 {
            self.flush()?;
            if !self.store.index_has_room() {
                self.grow_index(true)?;
            }
        }
        Ok(self.store.core.icap != 0 && self.store.core.iused < self.store.core.icap - 1)
    }

    /// Bump memory with no record (the first chunk only).
    fn bump_raw(&mut self, need: usize) -> Option<usize> {
        let (p, len) = self.pages.claim(need)?;
        let (start, end) = (align_up(p as usize, 16), (p as usize + len) & !15);
        if end < start + need {
            return None;
        }
        let c = &mut self.store.core;
        (c.lo, c.hi, c.top, c.end) = (start, end, start + need, end);
        c.seal();
        Some(start)
    }

    /// Empties the quarantine onto the free lists.
    fn flush(&mut self) -> Result<(), Found> {
        while self.qlen > 0 {
            self.evict()?;
        }
        Ok(())
    }

    /// After damage to the index: a new one built from the records; the old
    /// table is retired. False when there is no memory for it.
    fn recover_index(&mut self) -> bool {
        let cap = (self.store.core.nrec.max(64) * 4).next_power_of_two();
        let Ok(Some((i, table))) = self.take_meta(Store::index_bytes(cap), true) else { return false };
        self.store.rebuild(table, cap);
        let old = self.store.core.irec;
        self.store.core.irec = i + 1;
        self.store.core.seal();
        if let Some(Ok(r)) = old.checked_sub(1).map(|o| self.store.get(o)) {
            self.store.put(old - 1, Rec { meta: BAD, ..r });
        }
        true
    }

    /// A bigger index: keys of live, quarantined and retired blocks and of
    /// free regions' ends (anything else is damage or stale, and dropped).
    /// False when there is no memory for it.
    fn grow_index(&mut self, flush: bool) -> Result<bool, Found> {
        let keep = |s: &Store, key: usize, idx: usize| -> bool {
            let Ok(r) = s.get(idx) else { return false };
            match key & 15 {
                USER => r.user == key && matches!(r.state(), LIVE | QUAR | BAD),
                START => r.state() == FREE && r.base | START == key,
                END => r.state() == FREE && (r.base + r.cap) | END == key,
                _ => false,
            }
        };
        let keys = self.store.count_keys(&keep);
        let cap = (keys.max(64) * 4).next_power_of_two();
        let Some((i, table)) = self.take_meta(Store::index_bytes(cap), flush)? else { return Ok(false) };
        let (old_table, _) = self.store.rehash(table, cap, &keep);
        let old_rec = self.store.core.irec;
        self.store.core.irec = i + 1;
        self.store.core.seal();
        if old_rec != 0 && old_table != 0 {
            let r = self.store.get(old_rec - 1)?;
            if r.state() == META {
                fill(r.base, r.cap, FREED_FILL);
                self.push_mfree(old_rec - 1, r.base, r.cap);
            }
        }
        Ok(true)
    }

    // ---- allocation

    /// `size` bytes aligned to `align` (power of two, at most 65536); null
    /// when out of memory or the request cannot be met.
    pub fn try_alloc(&mut self, size: usize, align: usize) -> Result<*mut u8, Found> {
        self.core_ok()?;
        if size > MAX_SIZE || !align.is_power_of_two() || align > crate::header::MAX_ALIGN || !self.prepare()? {
            self.stats.on_fail();
            return Ok(null_mut());
        }
        let a = align.max(GUARD);
        let need = align_up(GUARD + (a - GUARD) + size + TAIL, 16);
        let Some((i, base, cap)) = self.take(need, true)? else {
            self.stats.on_fail();
            return Ok(null_mut());
        };
        let user = align_up(base + GUARD, a);
        fill(user, size, FRESH_FILL);
        self.seal_block(i, Rec { base, cap, user, size, meta: LIVE | (align.trailing_zeros() as usize) << 4, ..Rec::default() });
        self.stats.on_alloc(size);
        self.store.insert(user | USER, i)?;
        Ok(user as *mut u8)
    }

    /// The live block at `ptr`, or the fault freeing it would be.
    fn lookup(&mut self, ptr: usize) -> Result<(usize, Rec), Found> {
        let invalid = Found::new(Fault::InvalidFree, ptr, 0, 0);
        if ptr % 16 != 0 || !self.store.core.owns(ptr.wrapping_sub(GUARD), GUARD) {
            return Err(invalid);
        }
        let found = match self.store.find(ptr | USER) {
            Ok(found) => found,
            Err(f) => {
                // nothing is done this call; the next one finds a rebuilt index
                self.recover_index();
                return Err(f);
            }
        };
        let Some((s, i)) = found else {
            // not a block the heap holds or quarantines: memory still poisoned
            // around ptr means it points into freed memory (freed twice); an
            // intact guard, a block whose record earlier damage destroyed
            return Err(if self.poisoned_at(ptr) {
                Found::new(Fault::DoubleFree, ptr, 0, 0)
            } else if let Some(size) = Self::guard_size(ptr) {
                Found::new(Fault::MetadataCorrupt, ptr, size, 0)
            } else {
                invalid
            });
        };
        let r = match self.store.get(i) {
            Ok(r) => r,
            Err(f) => {
                self.store.retire_damaged(i);
                self.store.remove_slot(s);
                return Err(f);
            }
        };
        match r.state() {
            LIVE if r.user == ptr => Ok((i, r)),
            QUAR | BAD if r.user == ptr => Err(Found::new(Fault::DoubleFree, ptr, r.size, 0)),
            _ => {
                self.store.remove_slot(s);
                Err(invalid)
            }
        }
    }

    /// The size in the guard in front of `ptr`, if it is a guard this heap
    /// wrote for a block at `ptr` (the caller checked that it lies in the heap).
    fn guard_size(ptr: usize) -> Option<usize> {
        // SAFETY: [ptr - GUARD, ptr) lies in memory the heap owns (see lookup).
        let g = unsafe { ((ptr - GUARD) as *const [u32; 4]).read() };
        (g == guard_words(ptr, g[1] as usize)).then_some(g[1] as usize)
    }

    /// Whether the 32 bytes around `ptr` are freed memory's poison.
    fn poisoned_at(&self, ptr: usize) -> bool {
        self.store.core.owns(ptr - GUARD, 2 * GUARD) && first_not(ptr - GUARD, 2 * GUARD, FREED_FILL).is_none()
    }

    /// The first damage of live block `r`: underflow, then overflow.
    fn damage(r: &Rec) -> Option<Found> {
        let guard = r.user - GUARD;
        // SAFETY: the guard lies in the block (verified record).
        let g = unsafe { (guard as *const [u8; GUARD]).read() };
        let want = guard_words(r.user, r.size);
        // SAFETY: [u32; 4] and [u8; 16] have the same size; any bytes are valid.
        let want: [u8; GUARD] = unsafe { core::mem::transmute(want) };
        let under = first_not(r.base, guard - r.base, CANARY).or_else(|| (0..GUARD).find(|&k| g[k] != want[k]).map(|k| guard + k));
        if let Some(at) = under {
            return Some(Found::new(Fault::Underflow, r.user, r.size, at));
        }
        let end = r.user + r.size;
        first_not(end, r.base + r.cap - end, CANARY).map(|at| Found::new(Fault::Overflow, r.user, r.size, at))
    }

    /// Frees `ptr`; with `expect`, `dealloc`'s size and alignment must match.
    pub fn try_release(&mut self, ptr: usize, expect: Option<(usize, usize)>) -> Result<(), Found> {
        if ptr == 0 {
            return Ok(());
        }
        self.core_ok()?;
        let (i, r) = self.lookup(ptr).inspect_err(|_| self.stats.on_invalid_free())?;
        if let Some((size, align)) = expect {
            if size != r.size || align != r.align() {
                return Err(Found::new(Fault::SizeMismatch, ptr, r.size, 0));
            }
        }
        self.stats.on_free(r.size);
        if let Some(f) = Self::damage(&r) {
            // reported once: the block is retired, its memory never reused
            self.store.put(i, Rec { meta: BAD | (r.meta & !15), ..r });
            return Err(f);
        }
        fill(r.base, r.cap, FREED_FILL);
        self.store.put(i, Rec { meta: QUAR | (r.meta & !15), ..r });
        self.quarantine(i, r.cap)
    }

    fn quarantine(&mut self, i: usize, cap: usize) -> Result<(), Found> {
        if self.qlen >= QUARANTINE {
            self.evict()?;
        }
        let slot = (self.qhead + self.qlen) % QUARANTINE;
        self.quar[slot] = i + 1;
        self.qlen += 1;
        self.qbytes = self.qbytes.saturating_add(cap);
        while self.qbytes > QUARANTINE_BYTES && self.qlen > 1 {
            self.evict()?;
        }
        Ok(())
    }

    /// Moves the oldest quarantined block to the free lists.
    fn evict(&mut self) -> Result<(), Found> {
        if self.qlen == 0 || self.qlen > QUARANTINE || self.qhead >= QUARANTINE {
            (self.qhead, self.qlen, self.qbytes) = (0, 0, 0); // a damaged ring: forget it
            return Ok(());
        }
        let i = self.quar[self.qhead].wrapping_sub(1);
        self.qhead = (self.qhead + 1) % QUARANTINE;
        self.qlen -= 1;
        let r = match self.store.get(i) {
            Ok(r) if r.state() == QUAR => r,
            Ok(_) => return Ok(()),
            Err(f) => {
                self.store.retire_damaged(i);
                return Err(f);
            }
        };
        self.qbytes = self.qbytes.saturating_sub(r.cap);
        self.release(i, r)
    }

    /// Puts freed (poisoned) block `i` on the free lists, merged with free
    /// neighbours and with the bump region.
    fn release(&mut self, mut i: usize, r: Rec) -> Result<(), Found> {
        let (mut base, mut cap) = (r.base, r.cap);
        // a later free of r.user is still found a double free: by the poison
        if r.user != 0 {
            self.store.remove(r.user | USER)?;
        }
        self.store.put(i, Rec { base, cap, meta: FREE, ..Rec::default() });
        if let Some((_, j)) = self.store.find(base | END)? {
            let left = self.store.get(j)?;
            if left.state() == FREE && left.base + left.cap == base && j != i {
                self.store.unlink(&left)?;
                self.store.recycle(i);
                (i, base, cap) = (j, left.base, cap + left.cap);
            }
        }
        if let Some((_, j)) = self.store.find((base + cap) | START)? {
            let right = self.store.get(j)?;
            if right.state() == FREE && right.base == base + cap && j != i {
                self.store.unlink(&right)?;
                self.store.recycle(j);
                cap += right.cap;
            }
        }
        if base + cap == self.store.core.top {
            self.store.core.top = base;
            self.store.core.seal();
            self.store.recycle(i);
            return Ok(());
        }
        self.store.put(i, Rec { base, cap, meta: FREE, ..Rec::default() });
        self.store.link(i)
    }

    /// C `realloc`: moves the block (so a stale pointer to the old one is
    /// caught); null when out of memory, with `ptr` left intact.
    pub fn try_realloc(&mut self, ptr: usize, size: usize) -> Result<*mut u8, Found> {
        if ptr == 0 {
            return self.try_alloc(size, 8);
        }
        if size == 0 {
            return self.try_release(ptr, None).map(|()| null_mut());
        }
        self.core_ok()?;
        let (_, r) = self.lookup(ptr).inspect_err(|_| self.stats.on_invalid_free())?;
        if let Some(f) = Self::damage(&r) {
            return Err(f);
        }
        // The old bytes leave the count while the new block is taken, so the
        // peak never holds both (found by an adversarial run); they are back
        // before the release below takes them out once.
        self.stats.in_use -= r.size;
        let res = self.try_alloc(size, r.align());
        self.stats.in_use += r.size;
        let new = res?;
        if !new.is_null() {
            // SAFETY: both are live blocks of at least the copied length.
            unsafe { core::ptr::copy_nonoverlapping(ptr as *const u8, new, r.size.min(size)) };
            // the move counted once in `total`, by try_alloc
            self.try_release(ptr, None)?;
        }
        Ok(new)
    }

    /// Verifies everything: the core, every record, every block's guard and
    /// canary, the poison of freed memory and the index. The fault with the
    /// lowest address is returned (the start of an overrun).
    pub fn try_check(&mut self) -> Result<(), Found> {
        self.core_ok()?;
        let mut worst: Option<Found> = None;
        let mut note = |f: Found| {
            let key = if f.at != 0 { f.at } else { f.ptr };
            if worst.is_none_or(|w| key < if w.at != 0 { w.at } else { w.ptr }) {
                worst = Some(f);
            }
        };
        for i in 0..self.store.core.nrec {
            match self.store.get(i) {
                Err(f) => note(f),
                Ok(r) => match r.state() {
                    LIVE => Self::damage(&r).into_iter().for_each(&mut note),
                    META => Self::damage(&r).into_iter().for_each(|f| note(Found::new(Fault::MetadataCorrupt, f.ptr, 0, f.at))),
                    MFREE => {
                        if let Some(at) = first_not(r.base, r.cap, FREED_FILL) {
                            note(Found::new(Fault::MetadataCorrupt, r.base, 0, at));
                        }
                    }
                    QUAR | FREE => {
                        if let Some(at) = first_not(r.base, r.cap, FREED_FILL) {
                            note(Found::new(Fault::WriteAfterFree, if r.user != 0 { r.user } else { r.base }, r.size, at));
                        }
                    }
                    _ => {}
                },
            }
        }
        if let Some(at) = self.store.check_index() {
            note(Found::new(Fault::MetadataCorrupt, at, 0, at));
            self.recover_index();
        }
        worst.map_or(Ok(()), Err)
    }

    // ---- the ABI's view (faults stop the call; see `fault::raise`)

    /// `size` bytes aligned to 8.
    pub fn malloc(&mut self, size: usize) -> *mut u8 {
        self.try_alloc(size, 8).unwrap_or_else(|f| fault::raise(f))
    }

    /// `size` bytes aligned to `align`.
    pub fn aligned_alloc(&mut self, align: usize, size: usize) -> *mut u8 {
        self.try_alloc(size, align).unwrap_or_else(|f| fault::raise(f))
    }

    /// `n * size` zeroed bytes.
    pub fn calloc(&mut self, n: usize, size: usize) -> *mut u8 {
        let Some(total) = n.checked_mul(size) else {
            self.stats.on_fail();
            return null_mut();
        };
        let p = self.malloc(total);
        if !p.is_null() {
            fill(p as usize, total, 0);
        }
        p
    }

    /// Frees `ptr` (faults stop the call).
    ///
    /// # Safety
    /// None beyond the ABI's: every pointer is checked.
    pub unsafe fn free(&mut self, ptr: *mut u8) -> bool {
        self.try_release(ptr as usize, None).done_or_raise()
    }

    /// As [`CheckedHeap::free`].
    ///
    /// # Safety
    /// As for [`CheckedHeap::free`].
    pub unsafe fn try_free(&mut self, ptr: *mut u8) -> Result<(), Rejected> {
        self.try_release(ptr as usize, None).done_or_raise();
        Ok(())
    }

    /// Frees a block from `alloc(size, align)`, verifying both.
    ///
    /// # Safety
    /// As for [`CheckedHeap::free`].
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, size: usize, align: usize) -> bool {
        let align = if align == 0 { crate::backend::MIN_ALIGN } else { align };
        self.try_release(ptr as usize, Some((size, align))).done_or_raise()
    }

    /// C `realloc`.
    ///
    /// # Safety
    /// As for [`CheckedHeap::free`].
    pub unsafe fn realloc(&mut self, ptr: *mut u8, size: usize) -> *mut u8 {
        self.try_realloc(ptr as usize, size).unwrap_or_else(|f| fault::raise(f))
    }

    /// Requested size of the live block at `ptr`.
    pub fn block_size(&mut self, ptr: *const u8) -> Option<usize> {
        self.lookup(ptr as usize).ok().map(|(_, r)| r.size)
    }

    /// `heap_check`: 0 when healthy, else the fault code (recorded for `checked_error_*`).
    pub fn check(&mut self) -> u32 {
        match self.try_check() {
            Ok(()) => 0,
            Err(f) => {
                fault::record(f);
                f.fault as u32
            }
        }
    }
}

#[cfg(test)]
mod tests;
