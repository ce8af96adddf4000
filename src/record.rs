//! The demo's ID/X/Y record, laid out exactly as JavaScript reads it.

/// `id` u32 at offset 0, `x` f64 at 8, `y` f64 at 16; 24 bytes, align 8.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// Caller-chosen identifier.
    pub id: u32,
    _pad: u32,
    /// X coordinate.
    pub x: f64,
    /// Y coordinate.
    pub y: f64,
}

impl Record {
    /// A record with the given fields.
    pub const fn new(id: u32, x: f64, y: f64) -> Self {
        Self { id, _pad: 0, x, y }
    }
}

const _: () = assert!(core::mem::size_of::<Record>() == 24);
const _: () = assert!(core::mem::align_of::<Record>() == 8);
const _: () = assert!(core::mem::offset_of!(Record, id) == 0);
const _: () = assert!(core::mem::offset_of!(Record, x) == 8);
const _: () = assert!(core::mem::offset_of!(Record, y) == 16);
