//! What the checked build found: the fault kinds (the numbers are ABI:
//! `checked_error_code`, `heap_check`, and the JS loader's error table) and
//! the one record of the last fault the exports report.

/// A misuse or a damaged area, as reported by `checked_error_code`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A block was freed twice (its memory is still freed and unused).
    DoubleFree = 1,
    /// A pointer that is not the start of a live block was freed.
    InvalidFree = 2,
    /// Bytes after a live block's end were overwritten (buffer overflow).
    Overflow = 3,
    /// The guard in front of a live block was overwritten: a write before
    /// the block's start, or an overrun from the block below it.
    Underflow = 4,
    /// `dealloc` got a size or alignment other than the allocation's.
    SizeMismatch = 5,
    /// A freed block's memory was written after it was freed.
    WriteAfterFree = 6,
    /// The checker's own tables (or the heap state) were overwritten; the
    /// damaged entries were dropped, which may leak the blocks they held.
    MetadataCorrupt = 7,
}

/// A detected fault: its kind, the block's user pointer (or the damaged
/// area), the block's requested size (0 when unknown) and the first
/// damaged byte (0 when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Kind of fault.
    pub fault: Fault,
    /// User pointer of the block involved, or the start of the damaged area.
    pub ptr: usize,
    /// Requested size of the block (0 when unknown).
    pub size: usize,
    /// Address of the first damaged byte (0 when not applicable).
    pub at: usize,
}

impl Found {
    /// A fault about the block (or pointer) `ptr` of `size` bytes.
    pub const fn new(fault: Fault, ptr: usize, size: usize, at: usize) -> Self {
        Self { fault, ptr, size, at }
    }
}

/// The last fault: kind, pointer, size, first damaged byte.
static mut LAST: [u32; 4] = [0; 4];

/// `[code, ptr, size, at]` of the last reported fault; code 0 when none.
pub fn last() -> [u32; 4] {
    // SAFETY: single-threaded; a plain copy of a static.
    unsafe { *core::ptr::addr_of!(LAST) }
}

/// Forgets the last fault.
pub fn clear() {
    // SAFETY: single-threaded; a plain write of a static.
    unsafe { *core::ptr::addr_of_mut!(LAST) = [0; 4] };
}

/// Records `f` for the `checked_error_*` exports.
pub fn record(f: Found) {
    // SAFETY: single-threaded; a plain write of a static.
    unsafe { *core::ptr::addr_of_mut!(LAST) = [f.fault as u32, f.ptr as u32, f.size as u32, f.at as u32] };
}

/// Records `f` and stops the call: a trap on wasm, which the JS loader turns
/// into a named error; a panic on the host.
#[cold]
pub fn raise(f: Found) -> ! {
    record(f);
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("linalloc checked: {:?} at {:#x} (size {}, first damaged byte {:#x})", f.fault, f.ptr, f.size, f.at);
}
