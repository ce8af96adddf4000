//! The 8-byte header in front of every block, and the size arithmetic that
//! must never wrap.
//!
//! ```text
//!  backend block start                       user pointer (aligned to `align`)
//!  |<---------------- hdr bytes ----------------->|
//!  [ padding (align > 8 only) ][ size:u32 ][ hdr:u32 ][ user bytes ... ]
//! ```
//!
//! `hdr = max(8, align)`, so the user pointer keeps the block's alignment and
//! `free(ptr)` recovers the requested size and the backend's block start and
//! alignment from the header alone.
//!
//! The `checked` build uses 16 bytes, `[magic][state][size][hdr]`, and an
//! 8-byte canary after the user bytes (see `crate::checked`).

/// Bytes of header for blocks with the default alignment.
#[cfg(not(feature = "checked"))]
pub const HEADER: usize = 8;
/// Bytes of header for blocks with the default alignment.
#[cfg(feature = "checked")]
pub const HEADER: usize = 16;

/// Bytes after the user bytes: the checked build's canary.
#[cfg(not(feature = "checked"))]
pub const TRAILER: usize = 0;
/// Bytes after the user bytes: the checked build's canary.
#[cfg(feature = "checked")]
pub const TRAILER: usize = 8;

/// Largest alignment `aligned_alloc`/`alloc` accept: one wasm page.
pub const MAX_ALIGN: usize = 65536;

/// Largest user size accepted. Keeps `size + hdr` below `isize::MAX` on
/// wasm32 (Rust's limit for one allocation) with room for backend rounding.
pub const MAX_SIZE: usize = (i32::MAX as usize) - 2 * MAX_ALIGN;

/// Header length for a request aligned to `align`, or `None` when `align` is
/// not a power of two in `1..=MAX_ALIGN`.
#[inline]
pub fn header_len(align: usize) -> Option<usize> {
    if !align.is_power_of_two() || align > MAX_ALIGN {
        return None;
    }
    Some(if align < HEADER { HEADER } else { align })
}

/// Backend block size for `size` user bytes behind a `hdr`-byte header, or
/// `None` when `size` is too large to ever be satisfied.
#[inline]
pub fn block_size(size: usize, hdr: usize) -> Option<usize> {
    if size > MAX_SIZE {
        return None;
    }
    Some(size + hdr + TRAILER)
}

/// `n * size` for `calloc`, `None` on overflow.
#[inline]
pub fn array_size(n: usize, size: usize) -> Option<usize> {
    n.checked_mul(size)
}

/// Writes the header for a block whose user part starts at `user`.
///
/// # Safety
/// `user - 8 .. user` is writable memory of the block.
#[inline]
pub unsafe fn write(user: *mut u8, size: usize, hdr: usize) {
    // SAFETY: caller contract; user is 8-aligned so the u32 writes are aligned.
    unsafe {
        let h = user.sub(8) as *mut u32;
        h.write(size as u32);
        h.add(1).write(hdr as u32);
    }
}

/// Reads `(size, hdr)` from the header in front of `user`.
///
/// # Safety
/// `user` is the user pointer of a live block.
#[inline]
pub unsafe fn read(user: *const u8) -> (usize, usize) {
    // SAFETY: caller contract.
    unsafe {
        let h = user.sub(8) as *const u32;
        (h.read() as usize, h.add(1).read() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_len_follows_alignment() {
        assert_eq!(header_len(1), Some(HEADER));
        assert_eq!(header_len(8), Some(HEADER));
        assert_eq!(header_len(16), Some(16));
        assert_eq!(header_len(65536), Some(65536));
        assert_eq!(header_len(131072), None);
        assert_eq!(header_len(0), None);
        assert_eq!(header_len(24), None);
    }

    #[test]
    fn sizes_near_4gib_are_refused_not_wrapped() {
        assert_eq!(block_size(0xFFFF_FFF0, 8), None);
        assert_eq!(block_size(MAX_SIZE + 1, 8), None);
        assert_eq!(block_size(MAX_SIZE, 65536), Some(MAX_SIZE + 65536 + TRAILER));
        assert!(MAX_SIZE + MAX_ALIGN + TRAILER <= i32::MAX as usize);
        assert_eq!(array_size(usize::MAX, 2), None);
        assert_eq!(array_size(3, 5), Some(15));
    }

    #[test]
    fn header_round_trips() {
        // SAFETY (below): `user` is 16 bytes into a 32-byte, 8-aligned buffer.
        let mut buf = [0u64; 4];
        let user = unsafe { (buf.as_mut_ptr() as *mut u8).add(16) };
        unsafe { write(user, 0xDEAD_BEEF, 16) };
        assert_eq!(unsafe { read(user) }, (0xDEAD_BEEF, 16));
    }
}
