//! The 8-byte header in front of every block, and the size arithmetic that
//! must never wrap.
//!
//! ```text
//!  backend block start                       user pointer (aligned to `align`)
//!  |<---------------- hdr bytes ----------------->|
//!  [ padding (align > 8 only) ][ size:u32 ][ key:27 | log2(hdr):5 ][ user bytes ... ]
//! ```
//!
//! `hdr = max(8, align)`, so the user pointer keeps the block's alignment and
//! `free(ptr)` recovers the requested size and the backend's block start and
//! alignment from the header alone. The second word stores `hdr` keyed with a
//! hash of the block's address and size (see [`read`]); freeing overwrites it
//! with [`FREED`], so a double free or a stray pointer is refused instead of
//! corrupting the heap (glibc's tcache keys freed blocks in the same spirit).

/// Bytes of header for blocks with the default alignment.
pub const HEADER: usize = 8;

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
    Some(size + hdr)
}

/// `n * size` for `calloc`, `None` on overflow.
#[inline]
pub fn array_size(n: usize, size: usize) -> Option<usize> {
    n.checked_mul(size)
}

/// Second header word of a freed block. Its low 5 bits (31) are no valid
/// alignment, so it never decodes as a live block's word.
pub const FREED: u32 = 0xDEAD_F5FF;

/// Why a header is not a live block's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadHeader {
    /// The block was freed (its header still says so): a double free.
    Freed,
    /// Not a header this heap wrote for this address and size: a stray
    /// pointer, a damaged header, or a freed block the backend reused.
    Garbage,
}

/// The key in a live header's second word: a hash of the block's address
/// and size, with log2 of the header length in the low 5 bits. A freed or
/// foreign word matches by chance with probability 2^-27.
#[inline]
fn key(user: *const u8, size: usize, hdr: usize) -> u32 {
    ((user as usize as u32) ^ (size as u32).rotate_left(16)).wrapping_mul(0x9E37_79B1) & !0x1F | hdr.trailing_zeros()
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
        h.add(1).write(key(user, size, hdr));
    }
}

/// Marks the block at `user` freed, so freeing it again is recognised.
///
/// # Safety
/// `user` is a live block being freed.
#[inline]
pub unsafe fn mark_freed(user: *mut u8) {
    // SAFETY: caller contract.
    unsafe { (user.sub(4) as *mut u32).write(FREED) };
}

/// Where a block given back to its backend keeps a second freed mark, as an
/// offset from its user pointer: past the words the backends write into
/// the start of a free chunk (dlmalloc up to six, in a tree chunk, which a
/// block of any size becomes when it merges with a large free neighbour;
/// talc four; wee_alloc one), which overwrite the header's mark. `None`
/// when the block has no room for it (a small over-aligned block).
#[inline]
pub fn gone_at(size: usize, hdr: usize) -> Option<usize> {
    let w = core::mem::size_of::<usize>();
    let off = (6 * w).saturating_sub(hdr);
    // and a word before the block's end, which dlmalloc and talc may use
    // for the free chunk's footer (a mark there broke dlmalloc's merging)
    (size >= off + 8 + w).then_some(off)
}

/// The largest offset [`gone_at`] returns (headers are at least 8 bytes);
/// every one is a multiple of 8.
pub const GONE_MAX: usize = 6 * core::mem::size_of::<usize>() - 8;
/// First word of that mark; the second is a hash of the block's address.
const GONE: u32 = 0xDEAD_601E;

fn gone_key(user: *const u8) -> u32 {
    (user as usize as u32).wrapping_mul(0x9E37_79B1) ^ GONE
}

/// Marks the block at `user`, just given back to the backend, as freed at
/// `off` (from [`gone_at`]) where the backend keeps nothing, so a second
/// free of it is recognised as a double free (found by an adversarial run:
/// one reported as a stray pointer).
///
/// # Safety
/// `user + off .. user + off + 8` is memory of a block just freed, which
/// the backend keeps no data in.
#[inline]
pub unsafe fn mark_gone(user: *mut u8, off: usize) {
    // SAFETY: caller contract; user + off is 8-aligned.
    unsafe {
        let w = user.add(off) as *mut u32;
        w.write(GONE);
        w.add(1).write(gone_key(user));
    }
}

/// Whether `user` carries the mark of [`mark_gone`] at `off`.
///
/// # Safety
/// `user + off .. user + off + 8` is readable memory.
#[inline]
pub unsafe fn is_gone(user: *const u8, off: usize) -> bool {
    // SAFETY: caller contract.
    unsafe {
        let w = user.add(off) as *const u32;
        w.read() == GONE && w.add(1).read() == gone_key(user)
    }
}

/// Whether the header in front of `user` carries the freed mark.
///
/// # Safety
/// `user - 8 .. user` is readable memory.
#[inline]
pub unsafe fn is_freed(user: *const u8) -> bool {
    // SAFETY: caller contract.
    unsafe { (user.sub(4) as *const u32).read() == FREED }
}

/// Reads `(size, hdr)` from the header in front of `user`, if it is the
/// header of a live block at `user`.
///
/// # Safety
/// `user - 8 .. user` is readable memory.
#[inline]
pub unsafe fn read(user: *const u8) -> Result<(usize, usize), BadHeader> {
    // SAFETY: caller contract.
    let (size, word) = unsafe {
        let h = user.sub(8) as *const u32;
        (h.read() as usize, h.add(1).read())
    };
    if word == FREED {
        return Err(BadHeader::Freed);
    }
    let shift = word & 0x1F;
    if shift > MAX_ALIGN.trailing_zeros() {
        return Err(BadHeader::Garbage);
    }
    let hdr = 1usize << shift;
    if hdr < HEADER || word != key(user, size, hdr) {
        return Err(BadHeader::Garbage);
    }
    Ok((size, hdr))
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
        assert_eq!(block_size(MAX_SIZE, 65536), Some(MAX_SIZE + 65536));
        assert!(MAX_SIZE + MAX_ALIGN <= i32::MAX as usize);
        assert_eq!(array_size(usize::MAX, 2), None);
        assert_eq!(array_size(3, 5), Some(15));
    }

    #[test]
    fn header_round_trips() {
        // SAFETY (below): `user` is 16 bytes into a 32-byte, 8-aligned buffer.
        let mut buf = [0u64; 4];
        let user = unsafe { (buf.as_mut_ptr() as *mut u8).add(16) };
        unsafe { write(user, 0xDEAD_BEEF, 16) };
        assert_eq!(unsafe { read(user) }, Ok((0xDEAD_BEEF, 16)));
        // the same words in front of another address, or with another size, are no header
        let mut copy = [0u64; 4];
        let other = unsafe { (copy.as_mut_ptr() as *mut u8).add(24) };
        unsafe { core::ptr::copy_nonoverlapping(user.sub(8), other.sub(8), 8) };
        assert_eq!(unsafe { read(other) }, Err(BadHeader::Garbage));
        unsafe { (user.sub(8) as *mut u32).write(0xDEAD_BEEE) };
        assert_eq!(unsafe { read(user) }, Err(BadHeader::Garbage));
        unsafe { mark_freed(user) };
        assert_eq!(unsafe { read(user) }, Err(BadHeader::Freed));
    }
}
