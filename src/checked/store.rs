//! The checked build's metadata, kept out of the blocks: a record per block
//! (in chunks that never move), a hash index from addresses to records, and
//! free lists by size class. Every record, index slot and the core carry a
//! checksum, so an overrun that reaches them is reported, never followed:
//! each index or link read from memory is range-checked and every walk is
//! bounded by a count the store keeps itself.

use super::fault::{Fault, Found};

/// Record states (low 4 bits of `Rec::meta`).
pub const SPARE: usize = 0;
/// A block the program holds.
pub const LIVE: usize = 1;
/// A freed block waiting in the quarantine (poisoned, not reusable yet).
pub const QUAR: usize = 2;
/// Free memory on a free list (poisoned).
pub const FREE: usize = 3;
/// The checker's own memory (record chunks, index tables).
pub const META: usize = 4;
/// A block retired after a fault: never reused.
pub const BAD: usize = 5;
/// Freed metadata memory, kept for metadata only (on the `mfree` list).
pub const MFREE: usize = 6;

/// Records in the first chunk; chunk k holds `CHUNK0 << k`.
pub const CHUNK0: usize = 64;
/// Chunks at most: `CHUNK0 << NDIR` records are more than 4 GiB of 32-byte blocks.
pub const NDIR: usize = 22;
/// Free-list classes: four per power of two from 16 bytes to 4 GiB.
pub const NCLASS: usize = 112;
/// Key tags (addresses are 16-aligned): a user pointer, the start and the
/// end of a free region.
pub const USER: usize = 0;
/// Tag of a free region's start address.
pub const START: usize = 1;
/// Tag of a free region's end address.
pub const END: usize = 2;

/// One block (or free region) of the checked heap.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rec {
    /// First byte of the block.
    pub base: usize,
    /// Bytes of the block (16-aligned).
    pub cap: usize,
    /// User pointer handed out (LIVE, QUAR, BAD), else 0.
    pub user: usize,
    /// Requested size (LIVE, QUAR, BAD).
    pub size: usize,
    /// State | log2(requested align) << 4.
    pub meta: usize,
    /// Next record on a free list or the spare list (index + 1; 0 = none).
    pub next: usize,
    /// Previous record on a free list (index + 1; 0 = none).
    pub prev: usize,
    /// Checksum of the fields above (written by `Store::put`).
    pub check: usize,
}

impl Rec {
    /// State of the record (SPARE ... BAD).
    pub fn state(&self) -> usize {
        self.meta & 15
    }
    /// Requested alignment.
    pub fn align(&self) -> usize {
        1 << ((self.meta >> 4) & 31)
    }
    fn sum(&self, i: usize) -> usize {
        let words = [self.base, self.cap, self.user, self.size, self.meta, self.next, self.prev];
        words.iter().fold(mix(i, 0x5EC7), |h, &w| mix(h, w))
    }
}

/// A 32-bit mixing step (the checksums only need to catch damage).
#[inline]
pub const fn mix(h: usize, w: usize) -> usize {
    let x = ((h as u32) ^ (w as u32).rotate_left(13) ^ ((w >> 16 >> 16) as u32)).wrapping_mul(0x9E37_79B1);
    (x ^ (x >> 15)) as usize
}

/// The fields everything else depends on, sealed by a checksum.
#[derive(Debug)]
pub struct Core {
    /// Lowest and highest address of memory the heap owns.
    pub lo: usize,
    /// End of the highest region the heap owns.
    pub hi: usize,
    /// Bump region `[top, end)`: never handed out yet.
    pub top: usize,
    /// End of the bump region.
    pub end: usize,
    /// Records created (all chunks up to it exist).
    pub nrec: usize,
    /// Spare list head (index + 1).
    pub spare: usize,
    /// Spare records on the spare list.
    pub nspare: usize,
    /// Index table: address, slots, slots used (including tombstones).
    pub index: usize,
    /// Slots of the index table (a power of two).
    pub icap: usize,
    /// Slots holding a key or a tombstone.
    pub iused: usize,
    /// Record of the index table's block (index + 1; 0 = none).
    pub irec: usize,
    /// Freed metadata blocks (MFREE records, index + 1; 0 = none).
    pub mfree: usize,
    /// Record chunks' addresses (0 = not allocated yet).
    pub dir: [usize; NDIR],
    sum: usize,
}

impl Core {
    const fn new() -> Self {
        let mut c = Self {
            lo: usize::MAX,
            hi: 0,
            top: 0,
            end: 0,
            nrec: 0,
            spare: 0,
            nspare: 0,
            index: 0,
            icap: 0,
            iused: 0,
            irec: 0,
            mfree: 0,
            dir: [0; NDIR],
            sum: 0,
        };
        c.sum = c.compute();
        c
    }
    const fn compute(&self) -> usize {
        let f = [self.lo, self.hi, self.top, self.end, self.nrec, self.spare, self.nspare, self.index, self.icap, self.iused, self.irec, self.mfree];
        let mut h = 0xC0DE;
        let mut k = 0;
        while k < f.len() {
            h = mix(h, f[k]);
            k += 1;
        }
        k = 0;
        while k < NDIR {
            h = mix(h, self.dir[k]);
            k += 1;
        }
        h
    }
    /// Recomputes the checksum after a change.
    pub fn seal(&mut self) {
        self.sum = self.compute();
    }
    /// Whether the checksum still matches.
    pub fn intact(&self) -> bool {
        self.sum == self.compute()
    }
    /// Records that exist (created chunks' capacity).
    pub fn capacity(&self) -> usize {
        let chunks = self.dir.iter().take_while(|&&c| c != 0).count();
        (CHUNK0 << chunks) - CHUNK0
    }
    /// Whether `[a, a + len)` lies in memory the heap owns.
    pub fn owns(&self, a: usize, len: usize) -> bool {
        a >= self.lo && a <= self.hi && len <= self.hi - a
    }
}

/// One index slot: a tagged address and the record it maps to.
#[repr(C)]
#[derive(Clone, Copy)]
struct Slot {
    key: usize,
    idx: u32,
    chk: u32,
}

const EMPTY: usize = 0;
const TOMB: usize = 1;

fn slot_chk(key: usize, idx: u32) -> u32 {
    mix(key, idx as usize ^ 0x1D3C) as u32
}

/// Size class holding free regions of `n` bytes (`n >= 16`).
pub fn floor_class(n: usize) -> usize {
    let n = n.clamp(16, u32::MAX as usize) as u32;
    let e = 31 - n.leading_zeros() as usize;
    (e - 4) * 4 + ((n >> (e - 2)) & 3) as usize
}

/// Metadata of the checked heap.
pub struct Store {
    /// Sealed fields.
    pub core: Core,
    heads: [usize; NCLASS],
    nonempty: [u32; NCLASS.div_ceil(32)],
}

/// Size of one record in bytes.
pub const REC: usize = core::mem::size_of::<Rec>();

impl Store {
    /// An empty store.
    pub const fn new() -> Self {
        Self { core: Core::new(), heads: [0; NCLASS], nonempty: [0; NCLASS.div_ceil(32)] }
    }

    fn damaged(at: usize) -> Found {
        Found::new(Fault::MetadataCorrupt, at, 0, at)
    }

    /// Address of record `i`, if its chunk exists.
    pub fn rec_addr(&self, i: usize) -> Option<usize> {
        let j = i.checked_add(CHUNK0)?;
        let k = (usize::BITS - 1 - j.leading_zeros()) as usize - CHUNK0.trailing_zeros() as usize;
        let chunk = *self.core.dir.get(k)?;
        (chunk != 0).then(|| chunk + (j - (CHUNK0 << k)) * REC)
    }

    /// Record `i`, checked: an error names the damaged record.
    pub fn get(&self, i: usize) -> Result<Rec, Found> {
        let addr = match self.rec_addr(i) {
            Some(a) if i < self.core.nrec => a,
            _ => return Err(Self::damaged(self.rec_addr(i).unwrap_or(0))),
        };
        // SAFETY: record i < nrec lies in chunk memory the store allocated
        // (core is verified by the caller), aligned for Rec.
        let r = unsafe { (addr as *const Rec).read() };
        if r.check != r.sum(i) || (r.cap != 0 && !self.core.owns(r.base, r.cap)) {
            return Err(Self::damaged(addr));
        }
        Ok(r)
    }

    /// Writes record `i` with a fresh checksum.
    pub fn put(&mut self, i: usize, mut r: Rec) {
        r.check = r.sum(i);
        if let Some(addr) = self.rec_addr(i) {
            // SAFETY: as in `get`; i < capacity (callers create records first).
            unsafe { (addr as *mut Rec).write(r) };
        }
    }

    /// Overwrites a damaged record `i` with a retired one, so it is reported once.
    pub fn retire_damaged(&mut self, i: usize) {
        if i < self.core.nrec {
            self.put(i, Rec { meta: BAD, ..Rec::default() });
        }
    }

    /// Records available without a new chunk.
    pub fn available(&self) -> usize {
        self.core.nspare + self.core.capacity().saturating_sub(self.core.nrec)
    }

    /// A record to fill in: a spare one, or the next unused one.
    pub fn new_rec(&mut self) -> Option<usize> {
        while self.core.spare != 0 && self.core.nspare > 0 {
            let i = self.core.spare - 1;
            self.core.nspare -= 1;
            match self.get(i) {
                Ok(r) if r.state() == SPARE => {
                    self.core.spare = r.next;
                    self.core.seal();
                    return Some(i);
                }
                // a damaged spare list: drop it (leaks nothing but records)
                _ => {
                    self.core.spare = 0;
                    self.core.nspare = 0;
                }
            }
        }
        self.core.spare = 0;
        self.core.nspare = 0;
        if self.core.nrec >= self.core.capacity() {
            self.core.seal();
            return None;
        }
        self.core.nrec += 1;
        self.core.seal();
        Some(self.core.nrec - 1)
    }

    /// Gives record `i` back.
    pub fn recycle(&mut self, i: usize) {
        self.put(i, Rec { next: self.core.spare, ..Rec::default() });
        self.core.spare = i + 1;
        self.core.nspare += 1;
        self.core.seal();
    }

    // ---- the index

    fn slot_ptr(&self, s: usize) -> *mut Slot {
        (self.core.index + s * core::mem::size_of::<Slot>()) as *mut Slot
    }

    fn read_slot(&self, s: usize) -> Slot {
        // SAFETY: s < icap: inside the index table the store allocated.
        unsafe { self.slot_ptr(s).read() }
    }

    fn write_slot(&mut self, s: usize, key: usize, idx: u32) {
        let chk = slot_chk(key, idx);
        // SAFETY: as in `read_slot`.
        unsafe { self.slot_ptr(s).write(Slot { key, idx, chk }) };
    }

    /// Whether a slot is one `write_slot` wrote (zeros or any fill are not:
    /// even an empty slot carries its check word).
    fn intact(&self, slot: &Slot) -> bool {
        slot.chk == slot_chk(slot.key, slot.idx) && (if slot.key > TOMB { (slot.idx as usize) < self.core.nrec } else { slot.idx == 0 })
    }

    fn home(&self, key: usize) -> usize {
        mix(key >> 2, 0x51) & (self.core.icap - 1)
    }

    /// The record `key` maps to, with its slot. A damaged slot met on the
    /// way is emptied and reported.
    pub fn find(&mut self, key: usize) -> Result<Option<(usize, usize)>, Found> {
        if self.core.icap == 0 {
            return Ok(None);
        }
        let mut s = self.home(key);
        for _ in 0..self.core.icap {
            let slot = self.read_slot(s);
            if !self.intact(&slot) {
                let at = self.slot_ptr(s) as usize;
                self.write_slot(s, TOMB, 0);
                return Err(Self::damaged(at));
            }
            if slot.key == key {
                return Ok(Some((s, slot.idx as usize)));
            }
            if slot.key == EMPTY {
                return Ok(None);
            }
            s = (s + 1) & (self.core.icap - 1);
        }
        Ok(None)
    }

    /// Whether one more key fits without growing the index.
    pub fn index_has_room(&self) -> bool {
        (self.core.iused + 1) * 2 <= self.core.icap
    }

    /// Maps `key` to record `idx` (replacing an older mapping).
    pub fn insert(&mut self, key: usize, idx: usize) -> Result<(), Found> {
        if let Some((s, _)) = self.find(key)? {
            self.write_slot(s, key, idx as u32);
            return Ok(());
        }
        if self.core.icap == 0 || self.core.iused >= self.core.icap - 1 {
            return Ok(()); // no room (out of memory): the key is simply not indexed
        }
        let mut s = self.home(key);
        for _ in 0..self.core.icap {
            let k = self.read_slot(s).key;
            if k == EMPTY || k == TOMB {
                if k == EMPTY {
                    self.core.iused += 1;
                    self.core.seal();
                }
                self.write_slot(s, key, idx as u32);
                return Ok(());
            }
            s = (s + 1) & (self.core.icap - 1);
        }
        Ok(())
    }

    /// Removes the mapping in slot `s`, shifting later keys of its probe
    /// run back (so removals leave no tombstones behind). A tombstone (left
    /// where a damaged slot was) ends the shift and takes the freed place.
    pub fn remove_slot(&mut self, mut s: usize) {
        let mask = self.core.icap - 1;
        let mut j = s;
        for _ in 0..self.core.icap {
            j = (j + 1) & mask;
            let slot = self.read_slot(j);
            if slot.key == EMPTY || slot.key == TOMB {
                if slot.key == EMPTY {
                    self.core.iused -= 1;
                    self.core.seal();
                }
                self.write_slot(s, slot.key, 0);
                return;
            }
            // the key at j may fill s unless its home lies cyclically in (s, j]
            let home = self.home(slot.key);
            let stays = if s <= j { s < home && home <= j } else { s < home || home <= j };
            if !stays {
                self.write_slot(s, slot.key, slot.idx);
                s = j;
            }
        }
        self.write_slot(s, TOMB, 0);
    }

    /// Removes `key`'s mapping, if any.
    pub fn remove(&mut self, key: usize) -> Result<(), Found> {
        if let Some((s, _)) = self.find(key)? {
            self.remove_slot(s);
        }
        Ok(())
    }

    /// Makes the fresh memory at `table` (room for `cap` slots) the index, empty.
    fn use_empty_table(&mut self, table: usize, cap: usize) {
        self.core.index = table;
        self.core.icap = cap;
        self.core.iused = 0;
        self.core.seal();
        for s in 0..cap {
            self.write_slot(s, EMPTY, 0);
        }
    }

    /// Moves the index to a fresh table of `cap` slots at `table`, keeping the
    /// keys `keep` approves; returns the old table `(addr, slots)`, which
    /// the caller frees.
    pub fn rehash(&mut self, table: usize, cap: usize, keep: &impl Fn(&Self, usize, usize) -> bool) -> (usize, usize) {
        let (old, old_cap) = (self.core.index, self.core.icap);
        self.use_empty_table(table, cap);
        for s in 0..old_cap {
            // SAFETY: s < old_cap: inside the old table, still ours until the caller frees it.
            let slot = unsafe { ((old + s * core::mem::size_of::<Slot>()) as *const Slot).read() };
            let intact = slot.key > TOMB && slot.chk == slot_chk(slot.key, slot.idx) && (slot.idx as usize) < self.core.nrec;
            if intact && keep(self, slot.key, slot.idx as usize) {
                // the new table is empty but for keys placed here: nothing to report
                let _ = self.insert(slot.key, slot.idx as usize);
            }
        }
        (old, old_cap)
    }

    /// Moves the index to a fresh table of `cap` slots at `table`, built from
    /// the records alone (after damage to the old table, which the caller
    /// retires).
    pub fn rebuild(&mut self, table: usize, cap: usize) {
        self.use_empty_table(table, cap);
        for i in 0..self.core.nrec {
            let Ok(r) = self.get(i) else { continue };
            // a fresh table has room for every record's keys (cap >= 4 * nrec)
            let _ = match r.state() {
                LIVE | QUAR | BAD if r.user != 0 => self.insert(r.user | USER, i),
                FREE => self.insert(r.base | START, i).and_then(|()| self.insert((r.base + r.cap) | END, i)),
                _ => Ok(()),
            };
        }
    }

    /// Keys in the index that `keep` approves (for sizing a new table).
    pub fn count_keys(&self, keep: &impl Fn(&Self, usize, usize) -> bool) -> usize {
        (0..self.core.icap)
            .filter(|&s| {
                let slot = self.read_slot(s);
                slot.key > TOMB && slot.chk == slot_chk(slot.key, slot.idx) && (slot.idx as usize) < self.core.nrec && keep(self, slot.key, slot.idx as usize)
            })
            .count()
    }

    /// Verifies every index slot; the first damaged one's address.
    pub fn check_index(&self) -> Option<usize> {
        (0..self.core.icap).find_map(|s| (!self.intact(&self.read_slot(s))).then(|| self.slot_ptr(s) as usize))
    }

    /// Bytes of an index table of `cap` slots.
    pub fn index_bytes(cap: usize) -> usize {
        cap * core::mem::size_of::<Slot>()
    }

    // ---- free lists

    fn set_nonempty(&mut self, c: usize, on: bool) {
        let (w, b) = (c / 32, 1u32 << (c % 32));
        if on {
            self.nonempty[w] |= b;
        } else {
            self.nonempty[w] &= !b;
        }
    }

    /// Puts free record `i` (already written as FREE) on its class list and
    /// indexes its start and end.
    pub fn link(&mut self, i: usize) -> Result<(), Found> {
        let mut r = self.get(i)?;
        let c = floor_class(r.cap);
        let head = self.heads[c];
        if head != 0 {
            match self.get(head - 1) {
                Ok(mut h) if h.state() == FREE => {
                    h.prev = i + 1;
                    self.put(head - 1, h);
                    r.next = head;
                }
                _ => r.next = 0, // a damaged list: start it afresh (its rest leaks)
            }
        } else {
            r.next = 0;
        }
        r.prev = 0;
        self.put(i, r);
        self.heads[c] = i + 1;
        self.set_nonempty(c, true);
        self.insert(r.base | START, i)?;
        self.insert((r.base + r.cap) | END, i)
    }

    /// Takes free record `i` off its list and out of the index.
    pub fn unlink(&mut self, r: &Rec) -> Result<(), Found> {
        let c = floor_class(r.cap);
        if r.prev != 0 {
            let mut p = self.get(r.prev - 1)?;
            p.next = r.next;
            self.put(r.prev - 1, p);
        } else {
            self.heads[c] = r.next;
        }
        if r.next != 0 {
            let mut n = self.get(r.next - 1)?;
            n.prev = r.prev;
            self.put(r.next - 1, n);
        }
        if self.heads[c] == 0 {
            self.set_nonempty(c, false);
        }
        self.remove(r.base | START)?;
        self.remove((r.base + r.cap) | END)
    }

    /// A free record with `cap >= need`, taken off its list.
    pub fn pop_fit(&mut self, need: usize) -> Result<Option<(usize, Rec)>, Found> {
        let c0 = floor_class(need);
        // the class of `need` itself: its first few regions may fit
        let mut at = self.heads[c0];
        for _ in 0..16 {
            if at == 0 {
                break;
            }
            let r = self.checked_free(c0, at - 1)?;
            if r.cap >= need {
                self.unlink(&r)?;
                return Ok(Some((at - 1, r)));
            }
            at = r.next;
        }
        // any region of a higher class fits
        for w in (c0 + 1) / 32..self.nonempty.len() {
            let mut bits = self.nonempty[w];
            if w == (c0 + 1) / 32 {
                bits &= !0u32 << ((c0 + 1) % 32);
            }
            if bits != 0 {
                let c = w * 32 + bits.trailing_zeros() as usize;
                let i = self.heads[c] - 1;
                let r = self.checked_free(c, i)?;
                self.unlink(&r)?;
                return Ok(Some((i, r)));
            }
        }
        Ok(None)
    }

    /// Record `i` from list `c`, which must be a free region of that class;
    /// otherwise the list is dropped and the damage reported.
    fn checked_free(&mut self, c: usize, i: usize) -> Result<Rec, Found> {
        match self.get(i) {
            Ok(r) if r.state() == FREE && floor_class(r.cap) == c => Ok(r),
            other => {
                self.heads[c] = 0;
                self.set_nonempty(c, false);
                Err(match other {
                    Err(f) => f,
                    Ok(_) => Self::damaged(self.rec_addr(i).unwrap_or(0)),
                })
            }
        }
    }
}
