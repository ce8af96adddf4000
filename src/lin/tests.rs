//! What linalloc's own heap promises beyond the shared heap tests
//! (`crate::heap::tests` runs those on it too): merging, in-place growth,
//! exact sizes, per-block overhead.
//!
//! SAFETY (every `unsafe` block in this file): pointers handed to the heap
//! were returned by it and are live, except where a test passes a freed or
//! stray pointer to check that it is refused; byte accesses stay inside the
//! requested sizes.

use super::tag::{HDR, MIN_BLOCK};
use super::LinHeap;
use crate::grow::{FakeMemory, LinearMemory, Pages, PAGE};
use crate::heap::Rejected;
use std::vec::Vec;

fn heap(initial: usize, max: usize) -> (LinHeap<Pages<FakeMemory>>, FakeMemory) {
    let mem = FakeMemory::new(initial, max);
    (LinHeap::new(Pages::new(mem, mem.base() + 1024, mem.end())), mem)
}

#[test]
fn a_vector_doubling_at_the_top_never_moves() {
    let (mut h, mem) = heap(1, 64);
    let keep = h.malloc(100);
    let mut p = h.malloc(16);
    let first = p;
    let mut size = 32;
    while size <= 1 << 20 {
        // SAFETY: p is live with at least size / 2 bytes.
        unsafe { p.write((size / 2) as u8) };
        p = unsafe { h.realloc(p, size) };
        assert_eq!(p, first, "moved at {size} bytes ({} pages)", mem.pages());
        assert_eq!(unsafe { p.read() }, (size / 2) as u8);
        size *= 2;
    }
    assert!(mem.pages() <= 18, "{} pages for a 1 MiB vector", mem.pages());
    assert_eq!(h.block_size(p), Some(1 << 20));
    unsafe {
        h.free(p);
        h.free(keep);
    }
    // everything merged back: one request of nearly all of it fits without growing
    let pages = mem.pages();
    let big = h.malloc((pages - 1) * PAGE);
    assert!(!big.is_null());
    assert_eq!(mem.pages(), pages, "freed blocks merged into one");
}

#[test]
fn freeing_merges_both_neighbours() {
    let (mut h, mem) = heap(4, 4);
    let blocks: Vec<_> = (0..6).map(|_| h.malloc(40_000)).collect();
    assert!(blocks.iter().all(|p| !p.is_null()));
    assert!(h.malloc(40_000).is_null(), "a fixed 4-page memory holds 6 such blocks");
    // free 1, 3, then 2 between them: one free block of three
    unsafe {
        h.free(blocks[1]);
        h.free(blocks[3]);
        h.free(blocks[2]);
    }
    let big = h.malloc(3 * 40_000);
    assert_eq!(big, blocks[1], "the three merged into one block at the first one's place");
    assert_eq!(mem.pages(), 4);
}

#[test]
fn realloc_shrinks_in_place_and_returns_the_tail() {
    let (mut h, _) = heap(2, 2);
    let a = h.malloc(100_000);
    let b = unsafe { h.realloc(a, 10) };
    assert_eq!(a, b);
    assert_eq!(h.block_size(b), Some(10));
    // the tail went back: another large block fits
    let c = h.malloc(100_000);
    assert!(!c.is_null());
    // grows in place again into the free space behind it? no: c sits there now
    let d = unsafe { h.realloc(b, 1000) };
    assert!(!d.is_null());
    assert_eq!(h.stats().live, 2);
    assert_eq!(h.stats().in_use, 101_000);
}

#[test]
fn small_blocks_cost_header_plus_rounding() {
    let (mut h, _) = heap(1, 64);
    let ptrs: Vec<_> = (0..1000).map(|_| h.malloc(24) as usize).collect();
    let mut sorted = ptrs.clone();
    sorted.sort();
    let stride = sorted.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    assert_eq!(stride, (24 + HDR + 7) & !7, "a 24-byte block takes 24 + header bytes");
    assert_eq!(h.stats().in_use, 24_000);
    for p in ptrs {
        unsafe { h.free(p as *mut u8) };
    }
    let z = h.malloc(0);
    assert_eq!(h.block_size(z), Some(0));
    let y = h.malloc(0);
    assert!(y as usize >= z as usize + MIN_BLOCK || (y as usize) + MIN_BLOCK <= z as usize);
}

#[test]
fn aligned_blocks_leave_usable_gaps() {
    let (mut h, mem) = heap(1, 64);
    for align in [16, 64, 4096, 65536] {
        let p = h.aligned_alloc(align, 100);
        assert_eq!(p as usize % align, 0);
        // the gap in front of it is a free block: small requests land there
        let q = h.malloc(8);
        assert!(!q.is_null());
        let r = unsafe { h.realloc(p, 200_000) };
        assert_eq!(r as usize % align, 0, "moved over-aligned block keeps its alignment {align}");
        unsafe {
            h.free(r);
            h.free(q);
        }
    }
    assert_eq!(h.stats().live, 0);
    assert!(mem.pages() < 16);
}

#[test]
fn stale_and_stray_pointers_are_refused() {
    let (mut h, _) = heap(1, 8);
    // larger than the quick lists keep, so freeing merges at once
    let a = h.malloc(400);
    let b = h.malloc(400);
    let c = h.malloc(400);
    unsafe {
        h.free(a);
        h.free(b); // merges into a's block: b's header is inside a free block
    }
    assert_eq!(unsafe { h.try_free(b) }, Err(Rejected::DoubleFree));
    assert_eq!(unsafe { h.try_free(a) }, Err(Rejected::DoubleFree));
    // the merged block is handed out again; b's old header is user data now
    let merged = 2 * super::tag::block_for(400) - HDR;
    let d = h.malloc(merged);
    assert_eq!(d, a);
    unsafe { core::ptr::write_bytes(d, 0xFF, merged) };
    assert_eq!(unsafe { h.try_free(b) }, Err(Rejected::BadHeader), "a pointer into a live block");
    assert_eq!(unsafe { h.try_free(c.wrapping_add(8)) }, Err(Rejected::BadHeader));
    assert_eq!(unsafe { h.try_free(c.wrapping_add(4)) }, Err(Rejected::Misaligned));
    assert_eq!(h.stats().invalid_frees, 5);
    assert_eq!(h.stats().live, 2);
}

#[test]
fn regions_grown_by_others_stay_separate() {
    let (mut h, mem) = heap(1, 64);
    let a = h.malloc(30_000);
    mem.grow(2); // JavaScript grows the memory for itself
    let b = h.malloc(60_000);
    let (lo, hi) = (mem.base() + PAGE, mem.base() + 3 * PAGE);
    assert!((b as usize) >= hi || (b as usize) + 60_000 <= lo, "no block in pages grown by someone else");
    // realloc of the last block of a region that cannot extend in place moves
    let c = unsafe { h.realloc(a, 200_000) };
    assert!(!c.is_null());
    assert!((c as usize) >= hi || (c as usize) + 200_000 <= lo);
    unsafe {
        h.free(b);
        h.free(c);
    }
    assert_eq!(h.stats().in_use, 0);
}

#[test]
fn quick_lists_reuse_and_are_emptied_before_growing() {
    let (mut h, mem) = heap(2, 2);
    let a = h.malloc(20);
    unsafe { h.free(a) };
    assert_eq!(unsafe { h.try_free(a) }, Err(Rejected::DoubleFree), "a cached block freed again");
    assert_eq!(h.malloc(20), a, "the same size takes the cached block back");
    assert_eq!(h.block_size(a), Some(20));
    // fill the fixed memory with small blocks, free them all (cached, not
    // merged), then one large block must still fit: the cache is emptied
    let mut small = Vec::new();
    loop {
        let p = h.malloc(100);
        if p.is_null() {
            break;
        }
        small.push(p);
    }
    assert!(small.len() > 1000);
    for p in &small {
        unsafe { h.free(*p) };
    }
    let big = h.malloc(100_000);
    assert!(!big.is_null(), "cached small blocks were merged for a large request");
    assert_eq!(mem.pages(), 2);
    unsafe {
        h.free(big);
        h.free(a);
    }
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
}
