//! Helpers shared by the host tests.

/// xorshift32: the same sequence on every run for a given seed (not 0).
pub struct Rng(pub u32);

impl Rng {
    /// The next value of the sequence.
    pub fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}
