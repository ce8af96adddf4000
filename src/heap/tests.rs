//! Host tests of `Heap` over the real backend code, fed by a `FakeMemory`.
//!
//! SAFETY (every `unsafe` block in this file): pointers handed to the heap
//! were returned by the heap under test and are live, except where a test
//! passes a deliberately bad pointer to check that it is refused (the heap
//! reads only inside blocks it handed out); byte accesses stay inside the
//! block sizes the tests requested.

use super::{Heap, Rejected};
use crate::api::Allocator;
use crate::grow::{FakeMemory, LinearMemory, Pages, PAGE};
use crate::lin::LinHeap;
use crate::testing::Rng;
use std::vec::Vec;

/// The heap's pages in a fake memory of 1 page that can grow to `pages`,
/// starting 1 KiB in (where `__heap_base` would be); with the memory's range.
pub(crate) fn fake_memory(pages: usize) -> (Pages<FakeMemory>, usize, usize) {
    fake_memory_shaped(1, pages)
}

/// As `fake_memory`, for a memory of `initial` pages growing to `max`.
pub(crate) fn fake_memory_shaped(initial: usize, max: usize) -> (Pages<FakeMemory>, usize, usize) {
    let mem = FakeMemory::new(initial, max);
    let lo = mem.base();
    (Pages::new(mem, lo + 1024, mem.end()), lo, lo + max * PAGE)
}

/// Offsets of a block's bytes the tests write and verify: all of them, or
/// under Miri the first 256 (each byte costs microseconds there; a prefix,
/// so a block and its realloc'd copy are sampled alike).
fn sampled(len: usize) -> core::ops::Range<usize> {
    0..if cfg!(miri) { len.min(256) } else { len }
}

fn fill(p: *mut u8, len: usize, tag: u8) {
    for i in sampled(len) {
        // SAFETY: p is a live block of at least len bytes.
        unsafe { p.add(i).write(tag.wrapping_add(i as u8)) };
    }
}

fn check(p: *const u8, len: usize, tag: u8) {
    for i in sampled(len) {
        // SAFETY: p is a live block of at least len bytes.
        let b = unsafe { p.add(i).read() };
        assert_eq!(b, tag.wrapping_add(i as u8), "byte {i} of block {p:?} changed");
    }
}

pub(crate) fn basics<H: Allocator>(mut h: H) {
    let a = h.malloc(1);
    let b = h.malloc(0);
    let c = h.malloc(0);
    assert!(!a.is_null() && !b.is_null() && !c.is_null());
    assert!(b != c, "malloc(0) must return unique pointers");
    for p in [a, b, c] {
        assert_eq!(p as usize % 8, 0);
    }
    let s = h.stats();
    assert_eq!((s.live, s.total, s.in_use), (3, 3, 1));
    assert_eq!((h.block_size(a), h.block_size(b)), (Some(1), Some(0)));
    unsafe {
        h.free(core::ptr::null_mut());
        h.free(a);
        h.free(b);
        h.free(c);
    }
    let s = h.stats();
    assert_eq!((s.live, s.total, s.in_use, s.peak, s.failed), (0, 3, 0, 1, 0));
}

pub(crate) fn edge_cases<H: Allocator>(mut h: H) {
    assert!(h.malloc(0xFFFF_FFF0).is_null());
    assert!(h.malloc(0xFFFF_FFF8).is_null());
    assert!(h.calloc(0x1_0000, 0x1_0000).is_null());
    assert!(h.calloc(usize::MAX, 2).is_null());
    assert!(h.aligned_alloc(3, 8).is_null());
    assert!(h.aligned_alloc(131072, 8).is_null());
    assert_eq!(h.stats().failed, 6);
    assert_eq!(h.stats().live, 0);

    let z = h.calloc(100, 7);
    unsafe { assert!(std::slice::from_raw_parts(z, 700).iter().all(|&b| b == 0)) };
    fill(z, 700, 1);
    unsafe { h.free(z) };
    let z = h.calloc(7, 100);
    unsafe { assert!(std::slice::from_raw_parts(z, 700).iter().all(|&b| b == 0), "calloc reused dirty memory") };

    let mut align = 1;
    while align <= 65536 {
        let p = h.aligned_alloc(align, 24);
        assert!(!p.is_null(), "aligned_alloc({align})");
        assert_eq!(p as usize % align, 0, "alignment {align}");
        fill(p, 24, align as u8);
        let q = unsafe { h.realloc(p, 5000) };
        assert_eq!(q as usize % align, 0, "realloc kept alignment {align}");
        check(q, 24, align as u8);
        unsafe { h.free(q) };
        align *= 2;
    }
    unsafe { h.free(z) };

    // realloc: C semantics
    let p = unsafe { h.realloc(core::ptr::null_mut(), 10) };
    assert!(!p.is_null());
    fill(p, 10, 9);
    let p = unsafe { h.realloc(p, 100_000) };
    check(p, 10, 9);
    let p = unsafe { h.realloc(p, 3) };
    check(p, 3, 9);
    assert_eq!(h.stats().in_use, 3);
    assert!(unsafe { h.realloc(p, 0) }.is_null());
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
}

fn out_of_memory<H: Allocator>(mut h: H) {
    let mut live = Vec::new();
    loop {
        let p = h.malloc(10_000);
        if p.is_null() {
            break;
        }
        fill(p, 16, live.len() as u8);
        live.push(p);
        assert!(live.len() < 100_000, "fake memory never ran out");
    }
    assert!(live.len() > 10);
    assert!(h.stats().failed >= 1);
    // realloc failure leaves the block intact
    let last = *live.last().unwrap();
    assert!(unsafe { h.realloc(last, 50 * PAGE) }.is_null());
    check(last, 16, (live.len() - 1) as u8);
    for (i, p) in live.iter().enumerate() {
        check(*p, 16, i as u8);
        unsafe { h.free(*p) };
    }
    assert_eq!(h.stats().in_use, 0);
    let again: Vec<_> = (0..live.len()).map(|_| h.malloc(10_000)).collect();
    assert!(again.iter().all(|p| !p.is_null()), "memory freed after OOM is usable again");
}

/// Random trace against a shadow model: no overlap, alignment, contents kept,
/// every block inside the pages the backend grew.
pub(crate) fn random_trace<H: Allocator>(mut h: H, lo: usize, hi: usize, seed: u32, ops: usize) {
    let mut rng = Rng(seed);
    let mut live: Vec<(usize, usize, u8)> = Vec::new();
    for op in 0..ops {
        let r = rng.below(10);
        if r < 5 || live.is_empty() {
            let big = rng.below(8) == 0;
            let size = rng.below(if big { 20_000 } else { 256 });
            let wide = rng.below(16) == 0;
            let align = 1usize << rng.below(if wide { 13 } else { 4 });
            let p = if align > 8 { h.aligned_alloc(align, size) } else { h.malloc(size) };
            assert!(!p.is_null(), "seed {seed} op {op}: OOM");
            let a = p as usize;
            assert_eq!(a % align, 0, "seed {seed} op {op}");
            assert!(a >= lo && a + size <= hi, "seed {seed} op {op}: block outside grown pages");
            let tag = rng.next() as u8;
            fill(p, size, tag);
            live.push((a, size, tag));
        } else if r < 8 {
            let i = rng.below(live.len());
            let (a, size, tag) = live.swap_remove(i);
            check(a as *const u8, size, tag);
            unsafe { h.free(a as *mut u8) };
        } else {
            let i = rng.below(live.len());
            let (a, size, tag) = live[i];
            let new_size = rng.below(3000) + 1;
            let p = unsafe { h.realloc(a as *mut u8, new_size) };
            assert!(!p.is_null(), "seed {seed} op {op}: realloc OOM");
            check(p, size.min(new_size), tag);
            fill(p, new_size, tag);
            live[i] = (p as usize, new_size, tag);
        }
        if op % 512 == 0 {
            let mut sorted: Vec<_> = live.iter().map(|&(a, s, _)| (a, s)).collect();
            sorted.sort();
            for w in sorted.windows(2) {
                assert!(w[0].0 + w[0].1.max(1) <= w[1].0, "seed {seed} op {op}: overlap {w:?}");
            }
        }
    }
    let expect: usize = live.iter().map(|l| l.1).sum();
    assert_eq!(h.stats().in_use, expect, "seed {seed}: in-use bytes");
    assert_eq!(h.stats().live, live.len());
    for (a, size, tag) in live.drain(..) {
        check(a as *const u8, size, tag);
        unsafe { h.free(a as *mut u8) };
    }
    assert_eq!((h.stats().in_use, h.stats().live), (0, 0));
    assert!(h.heap_bytes() > 0 || cfg!(feature = "wee_alloc"));
}

/// Found by an adversarial run (talc and dlmalloc builds): the old pointer
/// of a `realloc` that moved was still accepted by `free`, freeing the
/// backend's block twice and the counters below zero.
fn stale_after_moving_realloc<H: Allocator>(mut h: H) {
    let x = h.malloc(100_000);
    let p = h.malloc(100_000);
    let _pin = h.malloc(16);
    unsafe { h.free(x) };
    let q = unsafe { h.realloc(p, 400_000) };
    assert!(!q.is_null());
    if q != p {
        assert!(unsafe { h.try_free(p) }.is_err(), "the stale pointer was freed");
    }
    assert_eq!(h.stats().live, 2);
    unsafe { h.free(q) };
    assert_eq!(h.stats().live, 1);
}

/// Found by an adversarial run (talc and dlmalloc builds): blocks kept for
/// reuse were never given back, so a fixed memory whose blocks were all
/// freed could not hold one large block. Also: a moving `realloc` never
/// counts both blocks in the peak.
fn all_freed_all_usable<H: Allocator>(mut h: H) {
    let mut live = Vec::new();
    for i in 0.. {
        let p = h.malloc(if i % 2 == 0 { 16 } else { 1000 });
        if p.is_null() {
            break;
        }
        live.push(p);
        assert!(i < 100_000);
    }
    assert!(live.len() > 20);
    for p in live {
        unsafe { h.free(p) };
    }
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
    let big = h.malloc(60_000);
    assert!(!big.is_null(), "a 60 000-byte block in an emptied 128 KiB memory");
    unsafe { h.free(big) };
    let before = h.stats().peak;
    let a = h.malloc(1000);
    let _pin = h.malloc(16);
    let b = unsafe { h.realloc(a, 2000) };
    assert!(!b.is_null());
    assert!(h.stats().peak <= before.max(2016), "peak {} counts both blocks of a moving realloc", h.stats().peak);
}

/// Found by an adversarial run (talc and dlmalloc builds): a small block
/// changing size class moves by allocate-copy-free, and the peak counted
/// both blocks.
fn peak_on_moves<H: Allocator>(mut h: H) {
    let a = h.malloc(100);
    let _pin = h.malloc(8);
    let mut most = h.stats().in_use;
    let mut p = a;
    for size in [150, 60, 5000, 40, 120_000, 16] {
        p = unsafe { h.realloc(p, size) };
        assert!(!p.is_null());
        most = most.max(h.stats().in_use);
        assert_eq!(h.stats().peak, most, "peak after realloc to {size}");
    }
}

macro_rules! backend_tests {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            #[allow(unused)]
            fn heap(pages: usize) -> (impl Allocator, usize, usize) {
                let (fake, lo, hi) = fake_memory(pages);
                #[allow(clippy::redundant_closure_call)]
                (($make)(fake), lo, hi)
            }
            #[test]
            fn basics() {
                super::basics(heap(64).0)
            }
            #[test]
            fn edge_cases() {
                super::edge_cases(heap(64).0)
            }
            #[test]
            fn out_of_memory() {
                super::out_of_memory(heap(16).0)
            }
            #[test]
            fn random_trace() {
                for seed in [1, 0xC0FFEE, 0xDEADBEEF] {
                    let (h, lo, hi) = heap(512);
                    super::random_trace(h, lo, hi, seed, crate::scaled(20_000))
                }
            }
            #[test]
            fn invalid_frees() {
                super::invalid_frees(heap(64).0)
            }
            #[test]
            fn double_frees_are_refused() {
                super::double_frees_are_refused(heap(64).0)
            }
            #[test]
            fn fixed_memories_are_used_whole() {
                for pages in if cfg!(miri) { [1, 2, 2, 2] } else { [1, 2, 16, 256] } {
                    let (p, lo, hi) = fake_memory_shaped(pages, pages);
                    let mem = p.memory();
                    #[allow(clippy::redundant_closure_call)]
                    super::fixed_memory(($make)(p), lo + 1024, hi, pages);
                    assert_eq!(mem.pages(), pages, "a fixed memory never grows");
                }
            }
            #[test]
            fn a_pointer_a_moving_realloc_left_behind_is_refused() {
                super::stale_after_moving_realloc(heap(64).0)
            }
            #[test]
            fn freeing_everything_makes_a_fixed_memory_usable_again() {
                let (p, _, _) = fake_memory_shaped(2, 2);
                #[allow(clippy::redundant_closure_call)]
                super::all_freed_all_usable(($make)(p))
            }
            #[test]
            fn moving_reallocs_count_once_in_the_peak() {
                super::peak_on_moves(heap(64).0)
            }
            #[test]
            fn stats_peak_tracks_high_water() {
                let (mut h, _, _) = heap(64);
                let a = h.malloc(1000);
                let b = h.malloc(500);
                unsafe { h.free(a) };
                let c = h.malloc(200);
                assert_eq!(h.stats().peak, 1500);
                assert_eq!(h.stats().in_use, 700);
                unsafe {
                    h.free(b);
                    h.free(c)
                };
                assert_eq!(h.stats().in_use, 0);
                assert!(h.heap_bytes() >= 1500);
            }
        }
    };
}

#[cfg(feature = "dlmalloc")]
// Not under Miri: dlmalloc-rs 0.2 itself is reported to have undefined
// behaviour under Stacked and Tree Borrows (alexcrichton/dlmalloc-rs#51,
// open); the Heap code it runs under is the same as talc's, which Miri checks.
#[cfg(not(miri))]
backend_tests!(dlmalloc, |p| Heap::new(crate::backend::dl::DlBackend::new(p)));
#[cfg(feature = "talc")]
backend_tests!(talc, |p| Heap::new(crate::backend::talc::TalcBackend::new(p)));
backend_tests!(lin, LinHeap::new);

#[cfg(feature = "talc")]
#[test]
fn quick_lists_of_the_release_heap() {
    quick_lists(Heap::new(crate::backend::talc::TalcBackend::new(fake_memory(256).0)))
}

/// Stray pointers that cheap checks can see are refused and counted; the
/// heap stays intact. (The checked build faults on them instead.)
pub(crate) fn invalid_frees<H: Allocator>(mut h: H) {
    let a = h.malloc(100);
    fill(a, 100, 7);
    let mut local = [0u64; 4];
    let stack_ptr = local.as_mut_ptr() as *mut u8;
    for bad in [a.wrapping_add(3), a.wrapping_add(4), stack_ptr, 8 as *mut u8, (usize::MAX & !7) as *mut u8] {
        assert!(!unsafe { h.free(bad) }, "{bad:?} refused");
        assert!(unsafe { h.realloc(bad, 10) }.is_null());
    }
    assert_eq!(h.stats().invalid_frees, 10);
    check(a, 100, 7);
    assert_eq!(h.stats().live, 1);
    assert!(unsafe { h.free(a) });
    assert_eq!(h.stats().live, 0);
}

/// A memory that cannot grow: 1 KiB blocks fill >= 90 % of the bytes from
/// the heap start to its end, and after freeing everything the same number
/// fits again.
fn fixed_memory<H: Allocator>(mut h: H, start: usize, end: usize, pages: usize) {
    let fill_up = |h: &mut H| {
        let mut v = Vec::new();
        loop {
            let p = h.malloc(1024);
            if p.is_null() {
                return v;
            }
            assert!((p as usize) >= start && (p as usize) + 1024 <= end, "block {p:?} outside the heap's pages");
            fill(p, 1024, v.len() as u8);
            v.push(p);
        }
    };
    let first = fill_up(&mut h);
    let share = first.len() * 1024 * 100 / (end - start);
    let need = 90;
    assert!(share >= need, "{pages} pages: {} blocks use only {share} % of the memory", first.len());
    for (i, p) in first.iter().enumerate() {
        check(*p, 1024, i as u8);
        unsafe { h.free(*p) };
    }
    let second = fill_up(&mut h);
    assert!(second.len() >= first.len(), "{pages} pages: after freeing everything only {} of {} fit again", second.len(), first.len());
    assert_eq!(h.stats().live, second.len());
}

/// A block freed twice (small, large, over-aligned) is refused and counted,
/// the counters stay exact, and no block is handed out twice afterwards.
pub(crate) fn double_frees_are_refused<H: Allocator>(mut h: H) {
    let keep = h.malloc(64);
    for (size, align) in [(24, 8), (100, 8), (5000, 8), (300_000, 8), (48, 64), (4000, 4096)] {
        let p = h.aligned_alloc(align, size);
        assert!(!p.is_null());
        assert!(unsafe { h.try_free(p) }.is_ok());
        let invalid = h.stats().invalid_frees;
        let again = unsafe { h.try_free(p) };
        // every heap names it a double free, whatever size (the dlmalloc
        // and talc builds called one over 128 bytes a stray pointer, found
        // by an adversarial run)
        assert_eq!(again, Err(Rejected::DoubleFree), "size {size} align {align}");
        assert_eq!(h.stats().invalid_frees, invalid + 1);
        assert_eq!(h.stats().live, 1, "size {size}: live count exact");
        // the next allocations are distinct blocks
        let a = h.aligned_alloc(align, size);
        let b = h.aligned_alloc(align, size);
        assert!(!a.is_null() && !b.is_null() && a != b);
        fill(a, size, 1);
        fill(b, size, 2);
        check(a, size, 1);
        unsafe {
            h.free(a);
            h.free(b)
        };
    }
    // a small block freed twice in a row is recognised as a double free
    let p = h.malloc(16);
    unsafe { h.free(p) };
    assert_eq!(unsafe { h.try_free(p) }, Err(Rejected::DoubleFree));
    unsafe { h.free(keep) };
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
}

/// Quick lists: a freed small block is reused by the next request of its
/// class, realloc within a class stays in place, and each list is bounded.
#[cfg(feature = "talc")]
fn quick_lists<H: Allocator>(mut h: H) {
    use crate::quick::{class, class_bytes, LIST_BYTES, SMALL_MAX};
    let a = h.malloc(20);
    unsafe { h.free(a) };
    assert_eq!(h.malloc(24), a, "same class (17..=24 bytes) reuses the block");
    assert_eq!(unsafe { h.realloc(a, 17) }, a, "realloc within the class stays in place");
    assert_eq!(h.stats().in_use, 17);
    fill(a, 17, 3);
    let b = unsafe { h.realloc(a, 40) };
    assert_ne!(a, b, "a new class moves");
    check(b, 17, 3);
    unsafe { h.free(b) };
    assert_eq!((h.stats().live, h.stats().in_use), (0, 0));
    // bounded: free far more small blocks than one list keeps
    let c = class(SMALL_MAX);
    let n = LIST_BYTES / class_bytes(c) * 3;
    let blocks: Vec<_> = (0..n).map(|_| h.malloc(SMALL_MAX)).collect();
    let grown = h.heap_bytes();
    for p in &blocks {
        unsafe { h.free(*p) };
    }
    let again: Vec<_> = (0..n).map(|_| h.malloc(SMALL_MAX)).collect();
    assert!(again.iter().all(|p| !p.is_null()));
    assert_eq!(h.heap_bytes(), grown, "blocks beyond the list bound went back to the backend and were reused");
}
