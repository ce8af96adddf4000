//! The bump arena: the shared heap tests that fit an arena (it frees only
//! the most recent block before a reset), and its own promises.
//!
//! SAFETY (every `unsafe` block in this file): pointers handed to the arena
//! were returned by it and are live, except where a test passes a freed,
//! reset or stray pointer to check that it is refused.

use super::BumpHeap;
use crate::api::Allocator;
use crate::grow::{FakeMemory, LinearMemory, Pages, PAGE};
use crate::heap::tests::{self as shared, fake_memory};
use crate::heap::Rejected;

fn arena(pages: usize) -> (BumpHeap<Pages<FakeMemory>>, usize, usize) {
    let (p, lo, hi) = fake_memory(pages);
    (BumpHeap::new(p), lo, hi)
}

/// An arena over a fake memory of `initial` pages growing to `max`, which a
/// test may also grow itself (someone else's pages).
fn arena_on(initial: usize, max: usize) -> (BumpHeap<Pages<FakeMemory>>, FakeMemory) {
    let mem = FakeMemory::new(initial, max);
    (BumpHeap::new(Pages::new(mem, mem.base() + 1024, mem.end())), mem)
}

#[test]
fn shared_basics_edge_cases_and_refusals() {
    shared::basics(arena(64).0);
    shared::edge_cases(arena(64).0);
    shared::invalid_frees(arena(64).0);
    shared::double_frees_are_refused(arena(64).0);
}

#[test]
fn shared_random_trace() {
    for seed in [7, 0xBADC0DE] {
        let (h, lo, hi) = arena(1024);
        shared::random_trace(h, lo, hi, seed, crate::scaled(10_000));
    }
}

#[test]
fn the_most_recent_block_rolls_back() {
    let (mut h, _, _) = arena(4);
    let a = h.malloc(100);
    let b = h.malloc(100);
    unsafe { h.free(b) };
    assert_eq!(h.malloc(100), b, "freeing the last block gives its bytes back");
    unsafe { h.free(a) };
    let c = h.malloc(100);
    assert!(c > b, "a freed block below the top waits for the reset");
    assert_eq!(h.stats().live, 2);
}

#[test]
fn reset_frees_everything_and_refuses_old_pointers() {
    let (mut h, _, _) = arena(4);
    let first = h.malloc(24);
    let blocks: std::vec::Vec<_> = (0..1000).map(|_| h.malloc(100)).collect();
    assert!(blocks.iter().all(|p| !p.is_null()));
    let before = h.heap_bytes();
    h.reset();
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
    assert_eq!(h.stats().total, 1001, "totals survive a reset");
    assert_eq!(h.block_size(blocks[10]), None, "a block from before the reset is not live");
    assert_eq!(unsafe { h.try_free(blocks[10]) }, Err(Rejected::BadHeader));
    assert_eq!(h.stats().live, 0, "a stale free changes nothing");
    // the same memory again, not more
    assert_eq!(h.malloc(24), first);
    for _ in 0..999 {
        assert!(!h.malloc(100).is_null());
    }
    assert_eq!(h.heap_bytes(), before);
}

/// A pointer from before a reset stays refused however many resets
/// follow: its key comes back only when the epoch wraps, and that reset
/// clears the arena first (a hashed epoch repeated a key after 3 720 451
/// resets: a stale free succeeded and the next block landed inside a live one).
#[test]
#[cfg_attr(miri, ignore = "4 million resets")]
fn pointers_from_before_any_number_of_resets_are_refused() {
    let (mut h, _, _) = arena(4);
    let stale = h.malloc(40);
    let keep = h.malloc(8);
    assert!(!stale.is_null() && !keep.is_null());
    for e in 1..=super::EPOCHS + 2 {
        h.reset();
        assert_eq!(h.block_size(stale), None, "reset {e}: a block from before the first reset is live again");
        assert_eq!(h.block_size(keep), None, "reset {e}");
    }
    assert_eq!(unsafe { h.try_free(stale) }, Err(Rejected::BadHeader));
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
    // the arena works on after the wrap: a live block and a stale pointer
    let p = h.malloc(40);
    assert_eq!(p, stale, "the same first block again");
    let q = h.malloc(8);
    assert_eq!(h.block_size(p), Some(40));
    unsafe { h.free(q) };
    assert_eq!(h.malloc(8), q);
}

/// The same at the wrap itself, on a block whose header no later epoch
/// overwrote (only the wrap's clearing removes it).
#[test]
fn the_epoch_wrap_clears_old_headers() {
    let (mut h, _, _) = arena(4);
    let _front = h.malloc(8);
    h.set_epoch(super::EPOCHS - 3);
    let stale = h.malloc(200);
    for _ in 0..3 {
        h.reset();
        assert_eq!(h.block_size(stale), None);
    }
    // epoch EPOCHS - 3 + 3 = 0 (mod EPOCHS); set it back to the stale one's
    h.set_epoch(super::EPOCHS - 3);
    assert_eq!(h.block_size(stale), None, "the wrap cleared the header the stale pointer points at");
}

#[test]
fn the_last_block_grows_in_place_with_the_memory() {
    let (mut h, _, _) = arena(64);
    let mut p = h.malloc(16);
    let first = p;
    let mut size = 32;
    while size <= 1 << 20 {
        p = unsafe { h.realloc(p, size) };
        assert_eq!(p, first, "moved at {size}");
        size *= 2;
    }
    assert_eq!(h.block_size(p), Some(1 << 20));
    // a block below the top moves when it grows, keeps its bytes
    let q = h.malloc(8);
    unsafe { p.write(42) };
    let r = unsafe { h.realloc(p, 2 << 20) };
    assert!(r > q);
    assert_eq!(unsafe { r.read() }, 42);
    assert_eq!(h.stats().live, 2);
}

#[test]
fn a_fixed_memory_fills_and_refills_after_reset() {
    let mem = FakeMemory::new(2, 2);
    let mut h = BumpHeap::new(Pages::new(mem, mem.base() + 1024, mem.end()));
    let mut n = 0;
    while !h.malloc(1000).is_null() {
        n += 1;
    }
    let block = crate::lin::tag::block_for(1000);
    assert!(n * block >= 2 * PAGE - 1024 - block, "{n} blocks of {block} bytes");
    assert!(h.stats().failed >= 1);
    h.reset();
    let mut again = 0;
    while !h.malloc(1000).is_null() {
        again += 1;
    }
    assert_eq!(again, n);
    assert_eq!(mem.pages(), 2);
}

/// Found by an adversarial run: once someone else grew the memory, every
/// frame (a reset, then the same allocations) grew it again, because a
/// reset went back only to the first region.
#[test]
fn frames_stop_growing_the_memory_after_someone_else_grew_it() {
    let (mut h, mem) = arena_on(2, 512);
    let mut pages = std::vec::Vec::new();
    for frame in 0..12 {
        for _ in 0..16 {
            assert!(!h.malloc(65536).is_null());
        }
        if frame == 0 {
            assert!(mem.grow(1).is_some(), "someone else grows the memory");
        }
        for _ in 0..16 {
            assert!(!h.malloc(65536).is_null());
        }
        h.reset();
        pages.push(mem.pages());
    }
    assert!(pages.windows(2).skip(1).all(|w| w[0] == w[1]), "pages per frame: {pages:?}");
}

/// A block that moves keeps the alignment asked for, and the peak never
/// holds both blocks of a moving realloc.
#[test]
fn a_moving_realloc_keeps_alignment_and_counts_once() {
    let (mut h, _, _) = arena(8);
    let p = h.aligned_alloc(4096, 100);
    assert_eq!(p as usize % 4096, 0);
    let _pin = h.malloc(8);
    let q = unsafe { h.realloc(p, 10_000) };
    assert!(!q.is_null() && q != p);
    assert_eq!(q as usize % 4096, 0, "moved block lost its alignment");
    assert_eq!(h.stats().peak, 10_008);
    assert_eq!((h.stats().live, h.stats().in_use), (2, 10_008));
    assert!(unsafe { h.try_free(p) }.is_err(), "the old pointer is refused");
}

/// Any number of separate regions is refilled after a reset: with the
/// memory grown by someone else between the arena's own claims, a steady
/// per-frame workload stops growing the memory (the arena once remembered
/// only 8 regions and lost the room of later ones every frame).
#[test]
fn many_separate_regions_are_all_refilled_after_a_reset() {
    for regions in [3, 9, 20] {
        let (mut h, mem) = arena_on(2, 4096);
        let mut pages = std::vec::Vec::new();
        for frame in 0..6 {
            for _ in 0..regions {
                let p = h.malloc(100_000);
                assert!(!p.is_null());
                // SAFETY: p is a live block of 100 000 bytes.
                unsafe { core::ptr::write_bytes(p, frame as u8, 100_000) };
                if frame == 0 {
                    assert!(mem.grow(1).is_some(), "someone else grows the memory");
                }
            }
            h.reset();
            pages.push(mem.pages());
        }
        assert!(pages.windows(2).all(|w| w[0] == w[1]), "{regions} regions, pages per frame: {pages:?}");
    }
}

/// A program that writes over the link in front of a region's first block
/// (an underflow) costs the arena that region's room, never blocks outside
/// the region or on top of each other.
#[test]
fn an_overwritten_region_link_is_not_followed() {
    for garbage in [0usize, 8, usize::MAX & !7, 0x7fff_fff8, 1] {
        let (mut h, lo, hi) = arena(4);
        let first = h.malloc(100);
        let second = h.malloc(100_000);
        assert!(!first.is_null() && !second.is_null());
        // SAFETY: deliberately corrupting the arena's own link words (the
        // two words in front of the first block's header), inside the memory.
        unsafe {
            let link = first as usize - super::HDR - super::LINK;
            (link as *mut usize).write(garbage);
            ((link + super::W) as *mut usize).write(garbage);
        }
        h.reset();
        let mut blocks = std::vec::Vec::new();
        for i in 0..200 {
            let p = h.malloc(10_000);
            if p.is_null() {
                break;
            }
            assert!(p as usize >= lo && p as usize + 10_000 <= hi, "garbage {garbage:#x}: block {i} outside the memory");
            // both ends of the block (Miri runs this too: not every byte)
            // SAFETY: p is a live block of 10 000 bytes.
            unsafe {
                core::ptr::write_bytes(p, i as u8, 16);
                core::ptr::write_bytes(p.add(10_000 - 16), i as u8, 16);
            }
            blocks.push(p);
        }
        assert!(blocks.len() >= 10, "garbage {garbage:#x}: only {} blocks", blocks.len());
        for (i, &p) in blocks.iter().enumerate() {
            // SAFETY: as above.
            let ends = unsafe { [core::slice::from_raw_parts(p, 16), core::slice::from_raw_parts(p.add(10_000 - 16), 16)] };
            assert!(ends.iter().all(|e| e.iter().all(|&b| b == i as u8)), "garbage {garbage:#x}: block {i} overwritten");
        }
    }
}

/// A broken link in the middle of the chain costs its regions once: the
/// next new region is linked in its place, so later frames stop growing
/// the memory again.
#[test]
fn a_broken_link_costs_its_regions_once() {
    let (mut h, mem) = arena_on(2, 4096);
    let mut blocks = std::vec::Vec::new();
    for _ in 0..6 {
        blocks.push(h.malloc(100_000) as usize);
        assert!(mem.grow(1).is_some(), "someone else grows the memory");
    }
    // the third block opens the third region: overwrite that region's link
    // SAFETY: deliberately corrupting the arena's own words, inside the memory.
    unsafe { ((blocks[2] - super::HDR - super::LINK + super::W) as *mut usize).write(0xdead_bee8) };
    let mut pages = std::vec::Vec::new();
    for frame in 0..6 {
        h.reset();
        for _ in 0..6 {
            let p = h.malloc(100_000);
            assert!(!p.is_null());
            // SAFETY: p is a live block of 100 000 bytes.
            unsafe { core::ptr::write_bytes(p, frame as u8, 100_000) };
        }
        pages.push(mem.pages());
    }
    assert!(pages.windows(2).skip(1).all(|w| w[0] == w[1]), "pages per frame: {pages:?}");
}
