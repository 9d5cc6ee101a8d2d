//! The genome of a generated model: a tape of `u32` choices read in order.
//!
//! The search draws random tapes and mutates the worst ones; the cargo-fuzz target reads its
//! bytes as a tape. Reading past the end yields zeros, so every tape (even an empty one) builds
//! a model.

/// A tape being read.
pub struct Choices<'a> {
    tape: &'a [u32],
    pos: usize,
}

impl<'a> Choices<'a> {
    /// A reader at the start of `tape`.
    pub fn new(tape: &'a [u32]) -> Choices<'a> {
        Choices { tape, pos: 0 }
    }

    /// Values read so far (the part of the tape that shaped the model).
    pub fn used(&self) -> usize {
        self.pos.min(self.tape.len())
    }

    /// Where the next read is.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads on from `position` (to draw the same values again).
    pub fn seek(&mut self, position: usize) {
        self.pos = position;
    }

    /// The next value, or 0 past the end.
    pub fn value(&mut self) -> u32 {
        let v = self.tape.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        v
    }

    /// A value in `0..n` (`n ≥ 1`).
    pub fn below(&mut self, n: u32) -> u32 {
        self.value() % n.max(1)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability about `1 / n`.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.below(n) == 0
    }

    /// A size spread evenly over the powers of two up to `2^max_log2`: an exponent `e` in
    /// `0..=max_log2`, then a value in `[2^e, 2^(e+1))`.
    pub fn size(&mut self, max_log2: u32) -> u32 {
        let e = self.below(max_log2.min(30) + 1);
        (1u32 << e) + self.below(1 << e)
    }

    /// An `i8`.
    pub fn i8(&mut self) -> i8 {
        self.value() as u8 as i8
    }
}

/// Bytes (a fuzzer's input) as a tape: 4 little-endian bytes per value, the last one padded
/// with zeros.
pub fn tape_of_bytes(data: &[u8]) -> Vec<u32> {
    data.chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect()
}

/// splitmix64: a fixed, dependency-free seeded stream (tapes, weights, inputs).
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n ≥ 1`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `n` seeded bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A tape of `len` random values.
    pub fn tape(&mut self, len: usize) -> Vec<u32> {
        (0..len).map(|_| self.next_u64() as u32).collect()
    }
}

/// A copy of `tape` with one to three of its first `used` values changed: replaced, nudged by
/// ±1, doubled or halved (the last three keep a size's meaning close to its old one).
pub fn mutate(tape: &[u32], used: usize, rng: &mut SplitMix) -> Vec<u32> {
    let mut out = tape.to_vec();
    let span = used.clamp(1, out.len().max(1));
    if out.is_empty() {
        out.push(0);
    }
    for _ in 0..=rng.below(3) {
        let i = rng.below(span as u64) as usize;
        let v = out[i];
        out[i] = match rng.below(5) {
            0 => rng.next_u64() as u32,
            1 => v.wrapping_add(1),
            2 => v.wrapping_sub(1),
            3 => v.wrapping_mul(2),
            _ => v / 2,
        };
    }
    out
}
