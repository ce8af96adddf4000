//! Property tests (proptest, run by `cargo test`) of the host-testable layer:
//! size arithmetic, stats, and `Heap` against a model, over arbitrary
//! operation sequences.
//!
//! SAFETY (every `unsafe` block in this file): pointers are live blocks the
//! heap under test returned, accessed within their requested sizes.

use crate::api::Allocator;
use crate::header::{self, HEADER, MAX_ALIGN, MAX_SIZE};
use crate::heap::Heap;
use crate::stats::Stats;
use proptest::prelude::*;
use std::vec::Vec;

proptest! {
    #[test]
    fn block_size_never_wraps(size in any::<u32>(), shift in 0u32..17) {
        let hdr = header::header_len(1 << shift).unwrap();
        match header::block_size(size as usize, hdr) {
            Some(b) => {
                prop_assert!(size as usize <= MAX_SIZE);
                prop_assert_eq!(b, size as usize + hdr);
                prop_assert!(b <= i32::MAX as usize, "fits one Rust allocation on wasm32");
            }
            None => prop_assert!(size as usize > MAX_SIZE),
        }
    }

    #[test]
    fn header_len_is_a_power_of_two_covering_the_header(align in any::<u32>()) {
        match header::header_len(align as usize) {
            Some(h) => {
                prop_assert!(align.is_power_of_two() && align as usize <= MAX_ALIGN);
                prop_assert!(h.is_power_of_two() && h >= HEADER && h >= align as usize);
            }
            None => prop_assert!(!align.is_power_of_two() || align as usize > MAX_ALIGN),
        }
    }

    #[test]
    fn array_size_matches_checked_math(n in any::<u32>(), s in any::<u32>()) {
        let want = (n as u64) * (s as u64);
        match header::array_size(n as usize, s as usize) {
            Some(v) => prop_assert_eq!(v as u64, want),
            None => prop_assert!(want > usize::MAX as u64),
        }
    }

    #[test]
    fn stats_follow_a_model(ops in proptest::collection::vec((0u8..3, 0usize..5000), 1..300)) {
        let mut st = Stats::new();
        let mut live: Vec<usize> = Vec::new();
        let mut peak = 0;
        for (kind, n) in ops {
            match kind {
                0 => { st.on_alloc(n); live.push(n); }
                1 if !live.is_empty() => { let s = live.swap_remove(n % live.len()); st.on_free(s); }
                _ if !live.is_empty() => { let i = n % live.len(); st.on_resize(live[i], n); live[i] = n; }
                _ => st.on_fail(),
            }
            let sum: usize = live.iter().sum();
            peak = peak.max(sum);
            prop_assert_eq!(st.in_use, sum);
            prop_assert_eq!(st.live, live.len());
            prop_assert_eq!(st.peak, peak);
        }
    }

    #[test]
    fn heap_over_talc_follows_a_model(ops in proptest::collection::vec((0u8..4, 0usize..3000, 0u32..8), 1..400)) {
        let (fake, lo, hi) = crate::heap::tests::fake_memory(128);
        let mut h = Heap::new(crate::backend::talc::TalcBackend::new(fake));
        let mut live: Vec<(usize, usize, u8)> = Vec::new();
        for (i, (kind, size, a)) in ops.into_iter().enumerate() {
            let tag = i as u8;
            match kind {
                0 | 1 => {
                    let align = 1usize << (a * 2);
                    let p = if kind == 0 { h.malloc(size) } else { h.aligned_alloc(align, size) };
                    prop_assert!(!p.is_null());
                    let pa = p as usize;
                    prop_assert!(pa >= lo && pa + size <= hi);
                    prop_assert_eq!(pa % if kind == 0 { 8 } else { align.max(8) }, 0);
                    unsafe { core::ptr::write_bytes(p, tag, size) };
                    live.push((pa, size, tag));
                }
                2 if !live.is_empty() => {
                    let (p, s, t) = live.swap_remove(size % live.len());
                    let intact = unsafe { core::slice::from_raw_parts(p as *const u8, s) }.iter().all(|&b| b == t);
                    prop_assert!(intact, "block contents changed");
                    let freed = unsafe { h.free(p as *mut u8) };
                    prop_assert!(freed, "free refused a live block");
                }
                _ if !live.is_empty() => {
                    let j = size % live.len();
                    let (p, s, t) = live[j];
                    let n = size + 1;
                    let q = unsafe { h.realloc(p as *mut u8, n) };
                    prop_assert!(!q.is_null());
                    let kept = unsafe { core::slice::from_raw_parts(q, s.min(n)) }.iter().all(|&b| b == t);
                    prop_assert!(kept, "realloc lost contents");
                    unsafe { core::ptr::write_bytes(q, t, n) };
                    live[j] = (q as usize, n, t);
                }
                _ => {}
            }
            prop_assert_eq!(h.stats().in_use, live.iter().map(|l| l.1).sum::<usize>());
            prop_assert_eq!(h.stats().live, live.len());
        }
        let mut spans: Vec<_> = live.iter().map(|l| (l.0, l.0 + l.1.max(1))).collect();
        spans.sort();
        for w in spans.windows(2) {
            prop_assert!(w[0].1 <= w[1].0, "overlap {:?}", w);
        }
    }
}
