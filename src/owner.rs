//! Who owns the heap of a memory, and where its state lives.
//!
//! A 16-byte tag at the fixed address [`TAG_ADDR`] (inside this module's own
//! stack region, below `__heap_base`, the same address in every build) says
//! which linalloc build owns the memory's heap, where that heap's state
//! lives, and how much low memory is reserved:
//!
//! ```text
//!  TAG_ADDR: [ MAGIC "LNAL" | build id | state address (0 = not started) | reserved end ]
//! ```
//!
//! The heap state is not a Rust static but the first bytes of the heap
//! itself, so a second instance of the same build on the same memory finds
//! and shares it (instantiating writes no data over it), and an instance of
//! another build sees a foreign tag and refuses to allocate instead of
//! resetting someone else's heap.

use crate::grow::{pages_for, LinearMemory, PAGE};

/// Address of the tag: the bottom of the 16 KiB stack every build links
/// first (`--stack-first`), far below where the stack is ever used.
pub const TAG_ADDR: usize = 512;
/// Lowest heap start in every build: every build's data segments lie below
/// it (asserted by `scripts/check-wasm.mjs`), so instantiating any build on
/// a memory never writes over a running heap's state or blocks.
pub const HEAP_FLOOR: usize = 16384 + 1024;
/// First word of a tag.
pub const MAGIC: u32 = u32::from_le_bytes(*b"LNAL");
/// Alignment of the heap start and of the state.
pub const ALIGN: usize = 16;

/// What [`read`] found at the tag address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Build id of the owner (0: no linalloc tag).
    pub build: u32,
    /// Address of the owner's heap state; 0 until the heap starts.
    pub state: usize,
    /// `[0, reserve)` is kept out of the heap.
    pub reserve: usize,
}

/// Why a heap could not start or be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Another linalloc build owns this memory's heap.
    Foreign,
    /// Not even the heap state fits, and the memory cannot grow.
    NoRoom,
}

fn words<M: LinearMemory>(mem: M) -> *mut u32 {
    (mem.base() + TAG_ADDR) as *mut u32
}

/// The tag of `mem`; `build == 0` when there is none (any other bytes).
#[inline]
pub fn read<M: LinearMemory>(mem: M) -> Tag {
    let w = words(mem);
    // SAFETY: every memory has at least one page, and the tag lies in it.
    let [magic, build, state, reserve] = unsafe { [w.read(), w.add(1).read(), w.add(2).read(), w.add(3).read()] };
    if magic != MAGIC || build == 0 {
        return Tag { build: 0, state: 0, reserve: 0 };
    }
    Tag { build, state: state as usize, reserve: reserve as usize }
}

fn write<M: LinearMemory>(mem: M, t: Tag) {
    let w = words(mem);
    // SAFETY: as in `read`; the tag area is this module's own.
    unsafe {
        w.write(MAGIC);
        w.add(1).write(t.build);
        w.add(2).write(t.state as u32);
        w.add(3).write(t.reserve as u32);
    }
}

/// Address of `build`'s running heap state in `mem`, if it has started.
#[inline]
pub fn state<M: LinearMemory>(mem: M, build: u32) -> Option<usize> {
    let w = words(mem);
    // SAFETY: as in `read`; the tag is 8-aligned (TAG_ADDR % 8 == 0).
    let (id, state) = unsafe { ((w as *const u64).read(), w.add(2).read()) };
    (id == (MAGIC as u64 | (build as u64) << 32) && state != 0).then(|| mem.base() + state as usize)
}

/// Keeps `[0, end)` (memory-relative) out of the heap, growing the memory
/// when it is shorter. False when the heap has started (or another build
/// owns the memory), or the memory cannot grow that far.
pub fn reserve<M: LinearMemory>(mem: M, build: u32, end: usize) -> bool {
    let mut t = read(mem);
    if t.build != 0 && (t.build != build || t.state != 0) {
        return false;
    }
    let Some(need) = pages_for(end) else { return false };
    let have = mem.pages();
    if need > have && mem.grow(need - have).is_none() {
        return false;
    }
    t.build = build;
    t.reserve = t.reserve.max(end);
    write(mem, t);
    true
}

/// Starts `build`'s heap in `mem`: the state goes at the heap start (above
/// `heap_base` and any reservation, memory-relative), `init(state, start,
/// end)` writes it there for the region `[after the state, end of memory)`
/// and the tag is written.
/// Returns the state's address.
///
/// # Safety
/// `mem` is the memory this code runs on (or a test's fake); nothing else
/// uses it above `heap_base`/the reservation; `S` is the type every
/// instance of `build` keeps at a tag's state address; `init` writes a
/// whole `S` at the pointer it gets.
pub unsafe fn start<M: LinearMemory, S>(mem: M, build: u32, heap_base: usize, init: impl FnOnce(*mut S, usize, usize)) -> Result<usize, Refused> {
    let t = read(mem);
    if t.build != 0 && t.build != build {
        return Err(Refused::Foreign);
    }
    let base = mem.base();
    if t.state != 0 {
        return Ok(base + t.state);
    }
    let start = align_up(base + heap_base.max(t.reserve), ALIGN);
    let first = align_up(start + core::mem::size_of::<S>(), ALIGN);
    let mut end = end_of(base, mem.pages());
    if first > end {
        let n = pages_for(first - end).ok_or(Refused::NoRoom)?;
        let prev = mem.grow(n).ok_or(Refused::NoRoom)?;
        end = end_of(base, prev + n);
    }
    // [start, first) lies in the memory, belongs to no one else (caller
    // contract) and is aligned for S (ALIGN >= align_of::<S>(), asserted by tests).
    init(start as *mut S, first, end);
    write(mem, Tag { build, state: start - base, reserve: t.reserve });
    Ok(start)
}

/// End of a memory of `pages` pages at `base`, capped at `END_LIMIT`. A
/// memory of all 65536 pages ends at 4 GiB, which wraps to 0 on wasm32: so
/// the product is checked, not computed.
fn end_of(base: usize, pages: usize) -> usize {
    pages.checked_mul(PAGE).and_then(|bytes| base.checked_add(bytes)).map_or(crate::grow::END_LIMIT, |end| end.min(crate::grow::END_LIMIT))
}

/// `n` rounded up to a multiple of `a` (a power of two); no overflow below END_LIMIT.
#[inline]
pub fn align_up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grow::FakeMemory;

    #[test]
    fn first_start_claims_then_shares() {
        let mem = FakeMemory::new(2, 4);
        assert_eq!(read(mem).build, 0);
        let mut seen = (0, 0);
        // SAFETY: a fresh fake memory nobody else uses.
        let s = unsafe {
            start(mem, 7, 1000, |p: *mut u64, a, b| {
                seen = (a, b);
                p.write(42)
            })
        }
        .unwrap();
        assert_eq!(s, mem.base() + 1008);
        assert_eq!(seen, (mem.base() + 1024, mem.end()), "the region runs from after the state to the memory's end");
        assert_eq!(state(mem, 7), Some(s));
        assert_eq!(read(mem).state, 1008, "the tag holds memory offsets");
        // same build again: the same state, not a new one
        // SAFETY: as above.
        assert_eq!(unsafe { start(mem, 7, 1000, |_: *mut u64, _, _| panic!("re-initialised")) }, Ok(s));
        // another build: refused
        // SAFETY: as above.
        assert_eq!(unsafe { start(mem, 8, 1000, |p: *mut u64, _, _| p.write(0)) }, Err(Refused::Foreign));
        assert_eq!(state(mem, 8), None);
        assert!(!reserve(mem, 7, 4096), "too late once started");
    }

    #[test]
    fn reservation_moves_the_start_and_grows_when_needed() {
        let mem = FakeMemory::new(1, 8);
        assert!(reserve(mem, 7, 3 * PAGE + 5));
        assert_eq!(mem.pages(), 4, "grown to hold the reserved range");
        assert!(!reserve(mem, 9, 100), "another build cannot reserve in a tagged memory");
        assert!(!reserve(mem, 7, 9 * PAGE), "beyond the maximum");
        // SAFETY: a fresh fake memory.
        let s = unsafe { start(mem, 7, 1000, |p: *mut u32, _, _| p.write(0)) }.unwrap();
        assert_eq!(s, mem.base() + 3 * PAGE + 16);
        assert_eq!(read(mem).reserve, 3 * PAGE + 5);
    }

    #[test]
    fn garbage_is_not_a_tag_and_a_full_memory_refuses() {
        let mem = FakeMemory::new(1, 1);
        // SAFETY: inside the fake memory's first page.
        unsafe { ((mem.base() + TAG_ADDR) as *mut u32).write(0x1234_5678) };
        assert_eq!(read(mem).build, 0);
        // SAFETY: a fresh fake memory.
        assert_eq!(unsafe { start(mem, 7, PAGE - 8, |p: *mut [u64; 4], _, _| p.write([0; 4])) }, Err(Refused::NoRoom));
        assert_eq!(read(mem).build, 0, "nothing written when refused");
    }
}
