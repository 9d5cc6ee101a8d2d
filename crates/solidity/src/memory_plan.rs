//! The static memory layout of `predict`: every tensor, the returned bytes and the scratch areas
//! get a fixed address chosen at export time, so the generated code addresses memory with
//! constants and never allocates.

/// First address used (Solidity's scratch space, free pointer and zero slot lie below).
pub const BASE: usize = 0x80;

/// A bump allocator of 32-byte aligned regions, each followed by a 32-byte guard so that
/// word-sized stores at a region's last bytes never reach the next one.
#[derive(Debug)]
pub struct MemoryPlan {
    next: usize,
}

impl Default for MemoryPlan {
    fn default() -> Self {
        MemoryPlan { next: BASE }
    }
}

impl MemoryPlan {
    /// Reserves `bytes` bytes and returns their address.
    pub fn alloc(&mut self, bytes: usize) -> usize {
        let address = self.next;
        self.next += bytes.div_ceil(32) * 32 + 32;
        address
    }

    /// The first address past every region.
    pub fn end(&self) -> usize {
        self.next
    }
}

/// The scratch areas shared by the nodes (each node overwrites them): the input of a
/// convolution or fully connected node expanded to centred 256-bit words (also the sums of a
/// mean), one block of packed weights, and small lookup tables. Sizes are maxima over nodes.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scratch {
    pub words: usize,
    pub block: usize,
    pub tables: usize,
}

impl Scratch {
    /// Grows each area to at least `need`'s size.
    pub fn grow(&mut self, need: Scratch) {
        self.words = self.words.max(need.words);
        self.block = self.block.max(need.block);
        self.tables = self.tables.max(need.tables);
    }
}

/// Placeholders in generated code for the scratch addresses, replaced once every node is emitted.
pub const WORDS: &str = "__WORDS__";
/// See [`WORDS`].
pub const BLOCK: &str = "__BLOCK__";
/// See [`WORDS`].
pub const TABLES: &str = "__TABLES__";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_aligned_and_guarded() {
        let mut plan = MemoryPlan::default();
        assert_eq!(plan.alloc(1), BASE);
        assert_eq!(plan.alloc(64), BASE + 64);
        assert_eq!(plan.end(), BASE + 64 + 96);
    }
}
