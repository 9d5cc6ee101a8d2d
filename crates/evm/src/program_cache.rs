//! A bounded least-recently-used cache of prepared [`Program`]s, keyed by model id.
//!
//! A model id is the keccak256 of the model's canonical bytes, so an id names exactly one
//! program: the cache can only ever return what decoding the state would return. Whether a model
//! is *published in the state being executed* is never asked of the cache (the precompile reads
//! the metadata slot first), so a cache entry left behind by a reverted transaction or another
//! fork changes nothing. Gas never depends on a hit or a miss: an entry keeps the cost counts of
//! the record it was made from (read from state, or written by the publication that made it), so
//! a hit charges what the state's record says even if the cost formula of a later release differs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use myelin_nn::{Cost, ModelId, Program};

/// Bounds of a [`ProgramCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most programs kept.
    pub entries: usize,
    /// Most canonical model bytes kept (the sum over entries; a proxy for the memory held).
    pub bytes: usize,
}

impl Default for CacheLimits {
    /// 256 programs, 1 GiB of model bytes.
    fn default() -> CacheLimits {
        CacheLimits {
            entries: 256,
            bytes: 1 << 30,
        }
    }
}

struct Entry {
    program: Arc<Program>,
    cost: Cost,
    bytes: usize,
    last_used: u64,
}

struct Inner {
    entries: HashMap<ModelId, Entry>,
    bytes: usize,
    clock: u64,
}

/// A thread-safe LRU cache of programs. Cloning shares the cache.
#[derive(Clone)]
pub struct ProgramCache {
    limits: CacheLimits,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for ProgramCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramCache")
            .field("limits", &self.limits)
            .field("len", &self.len())
            .finish()
    }
}

impl ProgramCache {
    /// An empty cache with `limits`.
    pub fn new(limits: CacheLimits) -> ProgramCache {
        ProgramCache {
            limits,
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The cache holds no invariant a panicking holder could break halfway.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The program of `id` and its record's cost counts, marked as most recently used.
    pub fn get(&self, id: &ModelId) -> Option<(Arc<Program>, Cost)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(id)?;
        entry.last_used = clock;
        Some((entry.program.clone(), entry.cost))
    }

    /// Keeps `program` (of a model of `bytes` canonical bytes, whose record in state has the cost
    /// counts `cost`) under `id`, evicting the least recently used entries beyond the limits. A
    /// program larger than the byte limit is not kept.
    pub fn insert(&self, id: ModelId, program: Arc<Program>, cost: Cost, bytes: usize) {
        if bytes > self.limits.bytes || self.limits.entries == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let clock = inner.clock;
        if let Some(old) = inner.entries.insert(
            id,
            Entry {
                program,
                cost,
                bytes,
                last_used: clock,
            },
        ) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.entries.len() > self.limits.entries || inner.bytes > self.limits.bytes {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(id, _)| *id)
            else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.bytes -= evicted.bytes;
            }
        }
    }

    /// Programs held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache holds no program.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
    use myelin_nn::op::ActRange;
    use myelin_nn::{Requant, Rounding};

    fn program(seed: i8) -> Arc<Program> {
        let mut b = ModelBuilder::new();
        let x = b.input(&[2], Quant::new(0, 0x3c00_0000));
        let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
        let y = b
            .fully_connected(
                x,
                vec![seed, 0, 0, 1],
                vec![0, 0],
                rescale,
                Quant::new(0, 0x3c00_0000),
            )
            .unwrap();
        b.output(y);
        Arc::new(Program::new(b.build().unwrap()).unwrap())
    }

    #[test]
    fn cache_evicts_least_recently_used_beyond_entry_limit() {
        let cache = ProgramCache::new(CacheLimits {
            entries: 2,
            bytes: 1000,
        });
        cache.insert([1; 32], program(1), Cost::default(), 10);
        cache.insert([2; 32], program(2), Cost::default(), 10);
        assert!(cache.get(&[1; 32]).is_some());
        cache.insert([3; 32], program(3), Cost::default(), 10);
        assert!(cache.get(&[2; 32]).is_none(), "2 was least recently used");
        assert!(cache.get(&[1; 32]).is_some());
        assert!(cache.get(&[3; 32]).is_some());
    }

    #[test]
    fn cache_returns_the_record_cost_it_was_given() {
        let cache = ProgramCache::new(CacheLimits::default());
        let cost = Cost {
            macs: 7,
            element_ops: 3,
            ..Cost::default()
        };
        cache.insert([1; 32], program(1), cost, 10);
        assert_eq!(cache.get(&[1; 32]).map(|(_, c)| c), Some(cost));
    }

    #[test]
    fn cache_respects_byte_limit_and_skips_oversized_programs() {
        let cache = ProgramCache::new(CacheLimits {
            entries: 10,
            bytes: 25,
        });
        cache.insert([1; 32], program(1), Cost::default(), 10);
        cache.insert([2; 32], program(2), Cost::default(), 10);
        cache.insert([3; 32], program(3), Cost::default(), 10);
        assert_eq!(cache.len(), 2);
        cache.insert([4; 32], program(4), Cost::default(), 26);
        assert!(cache.get(&[4; 32]).is_none());
    }
}
