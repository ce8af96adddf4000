//! The `checked` build's misuse detector: a set of live block starts, a ring
//! of recently freed ones, header magic/state, a trailing canary, and fill
//! patterns. A detected fault is recorded (for `checked_error_*`) and stops
//! the module with a trap, which the JS loader turns into a named error.
//!
//! What it catches: double free, free/realloc of anything that is not a live
//! block start (interior, misaligned, outside the heap, static data), writes
//! past the end of a block (canary, at free/realloc/`heap_check`), damaged
//! headers, and `dealloc` with a size/align other than the allocation's.
//! What it cannot: writes that skip the canary, use after free that only
//! reads (freed bytes read as 0xDD, except where the backend keeps free-list
//! metadata), or reads/writes into other live blocks.

use crate::backend::Backend;
use crate::header::{HEADER, TRAILER};

/// Fault codes reported by `checked_error_code` and `heap_check`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A block was freed twice.
    DoubleFree = 1,
    /// A pointer that is not the start of a live block was freed.
    InvalidFree = 2,
    /// The canary after a block was overwritten (buffer overflow).
    Overflow = 3,
    /// A live block's header was overwritten.
    HeaderCorrupt = 4,
    /// `dealloc` got a size or alignment other than the allocation's.
    SizeMismatch = 5,
}

/// Magic word at the start of every checked header.
pub const MAGIC: u32 = 0x4C4E_4C41;
/// Header state of a live block.
pub const LIVE: u32 = 0x11FE_11FE;
/// Header state of a freed block.
pub const FREED: u32 = 0xDEAD_F4EE;
/// Fill of fresh blocks.
pub const FRESH_FILL: u8 = 0xAA;
/// Fill of freed blocks.
pub const FREED_FILL: u8 = 0xDD;
/// Canary byte after each block.
pub const CANARY: u8 = 0xCA;

const EMPTY: usize = 0;
const TOMBSTONE: usize = 1;
const RING: usize = 256;
const SLOT: usize = core::mem::size_of::<usize>();

/// The last fault: code, pointer, requested size of the block involved.
static mut LAST: (u32, u32, u32) = (0, 0, 0);

/// `(code, ptr, size)` of the last detected fault; code 0 when none.
pub fn last_fault() -> (u32, u32, u32) {
    // SAFETY: single-threaded; plain copy of a static.
    unsafe { *core::ptr::addr_of!(LAST) }
}

/// Forgets the last fault.
pub fn clear_fault() {
    // SAFETY: single-threaded; plain write of a static.
    unsafe { *core::ptr::addr_of_mut!(LAST) = (0, 0, 0) };
}

fn record(code: Fault, ptr: *const u8, size: usize) {
    // SAFETY: single-threaded; plain write of a static.
    unsafe { *core::ptr::addr_of_mut!(LAST) = (code as u32, ptr as u32, size as u32) };
}

/// Records the fault and stops: a trap on wasm (the loader reports it), a
/// panic on the host (tests).
#[cold]
pub fn fault(code: Fault, ptr: *const u8, size: usize) -> ! {
    record(code, ptr, size);
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("linalloc checked: {code:?} at {ptr:?} (size {size})");
}

/// Live-block bookkeeping for the checked build.
pub struct Checker {
    /// Open-addressing set of live user pointers (EMPTY/TOMBSTONE/ptr),
    /// in memory taken from the backend itself.
    table: *mut usize,
    cap: usize,
    used: usize,
    ring: [usize; RING],
    ring_at: usize,
}

// SAFETY (for every block in this impl): `table` points to `cap` slots
// the checker allocated from the backend and owns; user pointers it reads
// headers/canaries of are live blocks of the heap (members of the set).
impl Checker {
    /// An empty checker, usable in a `static`.
    pub const fn new() -> Self {
        Self { table: core::ptr::null_mut(), cap: 0, used: 0, ring: [0; RING], ring_at: 0 }
    }

    #[inline]
    fn slot(&self, key: usize) -> usize {
        ((key >> 3) as u32).wrapping_mul(0x9E37_79B1) as usize & (self.cap - 1)
    }

    fn find(&self, key: usize) -> Option<usize> {
        if self.cap == 0 {
            return None;
        }
        let mut i = self.slot(key);
        loop {
            // SAFETY: i < cap.
            let v = unsafe { *self.table.add(i) };
            if v == key {
                return Some(i);
            }
            if v == EMPTY {
                return None;
            }
            i = (i + 1) & (self.cap - 1);
        }
    }

    fn insert(&mut self, key: usize) {
        let mut i = self.slot(key);
        loop {
            // SAFETY: i < cap.
            let v = unsafe { *self.table.add(i) };
            if v == EMPTY || v == TOMBSTONE {
                if v == EMPTY {
                    self.used += 1;
                }
                // SAFETY: i < cap.
                unsafe { *self.table.add(i) = key };
                return;
            }
            i = (i + 1) & (self.cap - 1);
        }
    }

    /// Makes room for one more live block; false when the backend is out of memory.
    pub fn reserve<B: Backend>(&mut self, backend: &mut B) -> bool {
        if (self.used + 1) * 2 <= self.cap {
            return true;
        }
        let live = self.iter().count();
        let mut cap = self.cap.max(1024);
        while (live + 1) * 4 > cap {
            cap *= 2;
        }
        // SAFETY: non-zero size, power-of-two alignment.
        let table = unsafe { backend.alloc(cap * SLOT, 8) } as *mut usize;
        if table.is_null() {
            return false;
        }
        // SAFETY: fresh block of cap slots.
        unsafe { core::ptr::write_bytes(table, 0, cap) };
        let (old, old_cap) = (self.table, self.cap);
        self.table = table;
        self.cap = cap;
        self.used = 0;
        for i in 0..old_cap {
            // SAFETY: i < old_cap, the old table is still ours.
            let v = unsafe { *old.add(i) };
            if v > TOMBSTONE {
                self.insert(v);
            }
        }
        if !old.is_null() {
            // SAFETY: the old table came from backend.alloc(old_cap * SLOT, 8).
            unsafe { backend.free(old as *mut u8, old_cap * SLOT, 8) };
        }
        true
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        // SAFETY: i < cap.
        (0..self.cap).map(move |i| unsafe { *self.table.add(i) }).filter(|&v| v > TOMBSTONE)
    }

    /// A fresh block: header magic/state, fill, canary, membership.
    pub fn on_alloc(&mut self, user: *mut u8, size: usize) {
        // SAFETY: user is a fresh block: HEADER bytes before it, size + TRAILER after.
        unsafe {
            let h = user.sub(HEADER) as *mut u32;
            h.write(MAGIC);
            h.add(1).write(LIVE);
            core::ptr::write_bytes(user, FRESH_FILL, size);
            core::ptr::write_bytes(user.add(size), CANARY, TRAILER);
        }
        self.insert(user as usize);
    }

    /// Verifies a live block before it is freed or moved; faults otherwise.
    pub fn check_live(&mut self, user: *mut u8, size: usize) {
        if self.find(user as usize).is_none() {
            self.reject(user);
        }
        if let Some(code) = Self::inspect(user, size) {
            fault(code, user, size);
        }
    }

    /// Header and canary of a member block: None when intact.
    fn inspect(user: *const u8, size: usize) -> Option<Fault> {
        // SAFETY: user is a member of the live set (see impl comment).
        unsafe {
            let h = user.sub(HEADER) as *const u32;
            if h.read() != MAGIC || h.add(1).read() != LIVE {
                return Some(Fault::HeaderCorrupt);
            }
            for i in 0..TRAILER {
                if user.add(size + i).read() != CANARY {
                    return Some(Fault::Overflow);
                }
            }
        }
        None
    }

    /// A block is being freed: verify, poison, forget, remember as freed.
    pub fn on_free<B: Backend>(&mut self, _backend: &mut B, user: *mut u8, size: usize) {
        self.check_live(user, size);
        let Some(i) = self.find(user as usize) else { self.reject(user) };
        // SAFETY: i < cap; user is a live member (checked above).
        unsafe {
            *self.table.add(i) = TOMBSTONE;
            (user.sub(HEADER) as *mut u32).add(1).write(FREED);
            core::ptr::write_bytes(user, FREED_FILL, size);
        }
        self.ring[self.ring_at] = user as usize;
        self.ring_at = (self.ring_at + 1) % RING;
    }

    /// A pointer that is not a live block was passed to free/realloc.
    pub fn reject(&mut self, user: *const u8) -> ! {
        let key = user as usize;
        let recently_freed = self.ring.contains(&key);
        fault(if recently_freed { Fault::DoubleFree } else { Fault::InvalidFree }, user, 0)
    }

    /// `dealloc` was given the wrong size or alignment.
    pub fn size_mismatch(&mut self, user: *const u8, size: usize) -> ! {
        fault(Fault::SizeMismatch, user, size)
    }

    /// Walks every live block; the first damaged one is recorded and its
    /// code returned (no trap), else 0.
    pub fn check_all(&mut self) -> u32 {
        for key in self.iter() {
            let user = key as *const u8;
            // SAFETY: member of the live set.
            let size = unsafe { (user.sub(8) as *const u32).read() } as usize;
            if let Some(code) = Self::inspect(user, size) {
                record(code, user, size);
                return code as u32;
            }
        }
        0
    }
}
