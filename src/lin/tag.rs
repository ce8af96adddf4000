//! The boundary tags of linalloc's own heap: one word of size and flags in
//! front of every block, a key word that proves a live block, and a size
//! footer at the end of free blocks.
//!
//! ```text
//!  live block  b: [ size | flags ][ key:hash | align:4 | slack:6 ][ user bytes ..... ]
//!                                                       ^ user = b + HDR
//!  free block  b: [ size | PINUSE ][ next free ][ prev free ] ...... [ size (footer) ]
//!  fence         [ 0 | INUSE | PINUSE? ]   (last HDR bytes of every region)
//! ```
//!
//! Words are `usize` (4 bytes on wasm32, 8 on the host tests), so `HDR` is 8
//! bytes on wasm. A block's size is a multiple of 8 and at least `MIN_BLOCK`,
//! room for a free block's header, two links and its footer. `INUSE` says
//! the block is live (or the fence); `PINUSE` that the block in front of it
//! is, so a free block's neighbours can merge without walking the heap.
//! The key is a hash of the user address and size (22 bits on wasm32). Its
//! low 6 bits hold the slack (block bytes beyond header + requested size),
//! so the requested size is exact without another word; the 4 bits above
//! hold log2 of the requested alignment minus 3, which a moving `realloc`
//! keeps.

/// Bytes of one tag word.
pub const W: usize = core::mem::size_of::<usize>();
/// Bytes in front of every user pointer.
pub const HDR: usize = 2 * W;
/// Smallest block: header, two free-list links, footer.
pub const MIN_BLOCK: usize = 4 * W;
/// The block is live (or is a region's fence).
pub const INUSE: usize = 1;
/// The block in front of this one is live (so has no footer).
pub const PINUSE: usize = 2;
/// The flag bits of the first word (bit 2 is unused).
pub const FLAGS: usize = 7;
/// Low bits of the key word holding the slack.
pub const SLACK: usize = 63;
/// Where the key word keeps log2(alignment) - 3 (0 for 8-byte alignment).
pub const ALIGN_SHIFT: u32 = 6;
/// The key word's bits that are not the hash: alignment and slack.
pub const LOW: usize = (15 << ALIGN_SHIFT) | SLACK;

// The slack field holds every slack a block can have: rounding (< 8),
// malloc(0)'s empty minimum block, and an unsplit remainder (< MIN_BLOCK).
const _: () = assert!(MIN_BLOCK - HDR + 7 + MIN_BLOCK <= SLACK);

/// Reads the word at `a`.
///
/// # Safety
/// `a` is `W`-aligned, readable memory of the heap.
#[inline(always)]
pub unsafe fn rd(a: usize) -> usize {
    // SAFETY: caller contract.
    unsafe { (a as *const usize).read() }
}

/// Writes the word at `a`.
///
/// # Safety
/// `a` is `W`-aligned memory the heap owns and may overwrite.
#[inline(always)]
pub unsafe fn wr(a: usize, v: usize) {
    // SAFETY: caller contract.
    unsafe { (a as *mut usize).write(v) }
}

/// Block bytes for `n` user bytes (`n` at most `crate::header::MAX_SIZE`).
#[inline(always)]
pub fn block_for(n: usize) -> usize {
    ((n + HDR + 7) & !7).max(MIN_BLOCK)
}

/// The key word of a live block of `size` bytes at user address `user`,
/// with `low` in its low bits: the slack (block bytes beyond header and
/// request), and for over-aligned blocks `(log2(align) - 3) << ALIGN_SHIFT`.
#[inline(always)]
pub fn key(user: usize, size: usize, low: usize) -> usize {
    (user ^ size.rotate_left(16)).wrapping_mul(0x9E37_79B1) & !LOW | low
}

/// The `low` bits of the key word for alignment `align` (a power of two
/// from 8 to 65536) and `slack`.
#[inline(always)]
pub fn low(align: usize, slack: usize) -> usize {
    ((align.trailing_zeros() as usize - 3) << ALIGN_SHIFT) | slack
}

/// The alignment a key word records.
#[inline(always)]
pub fn align_of_key(k: usize) -> usize {
    8 << ((k >> ALIGN_SHIFT) & 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes() {
        assert_eq!(block_for(0), MIN_BLOCK);
        assert_eq!(block_for(1) % 8, 0);
        assert_eq!(block_for(24), (24 + HDR + 7) & !7);
        assert!(block_for(crate::header::MAX_SIZE) > crate::header::MAX_SIZE);
    }

    #[test]
    fn keys_depend_on_address_and_size() {
        let k = key(0x1_0008, 32, low(4096, 5));
        assert_eq!(k & SLACK, 5);
        assert_eq!(align_of_key(k), 4096);
        assert_eq!(align_of_key(key(8, 16, low(8, 0))), 8);
        assert_eq!(align_of_key(key(8, 16, low(65536, 0))), 65536);
        assert_ne!(k, key(0x1_0010, 32, 5));
        assert_ne!(k, key(0x1_0008, 40, 5));
    }
}
