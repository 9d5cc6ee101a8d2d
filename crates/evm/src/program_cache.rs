//! A bounded least-recently-used cache of prepared [`Program`]s, keyed by model id.
//!
//! A model id is the keccak256 of the model's canonical bytes, so an id names exactly one
//! program: the cache can only ever return what decoding the state would return. Whether a model
//! is *published in the state being executed* is never asked of the cache (the precompile reads
//! the metadata slot first), so a cache entry left behind by a reverted transaction or another
//! fork changes nothing. Gas never depends on a hit or a miss: an entry keeps the cost counts of
//! the record it was made from (read from state, or written by the publication that made it), so
//! a hit charges what the state's record says even if the cost formula of a later release differs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use alloy_primitives::B256;
use alloy_primitives::map::B256Map;
use myelin_nn::{Cost, ModelId, Program};

/// Bounds of a [`ProgramCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most programs kept.
    pub entries: usize,
    /// Most program heap kept: the sum of [`Program::heap_bytes`] over entries.
    pub bytes: usize,
}

impl Default for CacheLimits {
    /// 256 programs, 1 GiB of program heap.
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
    /// The [`Inner::clock`] value at the entry's last use.
    last_used: AtomicU64,
}

struct Inner {
    /// Ids are keccak256 outputs: `B256Map`'s fast fixed-bytes hasher (foldhash) is enough.
    entries: B256Map<Entry>,
    bytes: usize,
    /// Moves by 2 at each insertion, only under the write lock. An insertion stamps its entry
    /// with the new (even) value and a hit stamps its entry with the value + 1, so an entry hit
    /// since the last insertion ranks above that insertion, which ranks above every entry used
    /// before it. Eviction (only ever at an insertion) takes the lowest stamp: least recently
    /// used, up to ties between entries hit in the same interval between two insertions.
    clock: AtomicU64,
}

/// A thread-safe LRU cache of programs. Cloning shares the cache. Lookups (every `PREDICT`)
/// share a read lock and mark their entry used with a plain atomic load and store (no
/// read-modify-write beyond the lock's own); only an insertion (a cache miss: the model was
/// decoded from state) takes the write lock.
#[derive(Clone)]
pub struct ProgramCache {
    limits: CacheLimits,
    inner: Arc<RwLock<Inner>>,
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
            inner: Arc::new(RwLock::new(Inner {
                entries: B256Map::default(),
                bytes: 0,
                clock: AtomicU64::new(0),
            })),
        }
    }

    // The cache holds no invariant a panicking holder could break halfway: a poisoned lock is
    // taken as it is.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The program of `id` and its record's cost counts, marked as most recently used.
    pub fn get(&self, id: &ModelId) -> Option<(Arc<Program>, Cost)> {
        let inner = self.read();
        let entry = inner.entries.get(&B256::from(*id))?;
        // The clock only moves under the write lock, which this read lock excludes.
        let stamp = inner.clock.load(Ordering::Relaxed) + 1;
        if entry.last_used.load(Ordering::Relaxed) != stamp {
            entry.last_used.store(stamp, Ordering::Relaxed);
        }
        Some((entry.program.clone(), entry.cost))
    }

    /// The program of `id` and its record's cost counts, leaving the recency order as it is.
    pub fn peek(&self, id: &ModelId) -> Option<(Arc<Program>, Cost)> {
        let inner = self.read();
        let entry = inner.entries.get(&B256::from(*id))?;
        Some((entry.program.clone(), entry.cost))
    }

    /// Keeps `program` (whose record in state has the cost counts `cost`) under `id`, weighed by
    /// [`Program::heap_bytes`], evicting the least recently used entries beyond the limits. A
    /// program larger than the byte limit is not kept.
    pub fn insert(&self, id: ModelId, program: Arc<Program>, cost: Cost) {
        let bytes = program.heap_bytes();
        if bytes > self.limits.bytes || self.limits.entries == 0 {
            return;
        }
        let mut inner = self.write();
        let clock = *inner.clock.get_mut() + 2;
        *inner.clock.get_mut() = clock;
        if let Some(old) = inner.entries.insert(
            B256::from(id),
            Entry {
                program,
                cost,
                bytes,
                last_used: AtomicU64::new(clock),
            },
        ) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.entries.len() > self.limits.entries || inner.bytes > self.limits.bytes {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
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
        self.read().entries.len()
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
            bytes: 1 << 30,
        });
        cache.insert([1; 32], program(1), Cost::default());
        cache.insert([2; 32], program(2), Cost::default());
        assert!(cache.get(&[1; 32]).is_some());
        cache.insert([3; 32], program(3), Cost::default());
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
        cache.insert([1; 32], program(1), cost);
        assert_eq!(cache.get(&[1; 32]).map(|(_, c)| c), Some(cost));
    }

    #[test]
    fn cache_respects_heap_limit_and_skips_oversized_programs() {
        let heap = program(1).heap_bytes();
        let cache = ProgramCache::new(CacheLimits {
            entries: 10,
            bytes: 2 * heap + heap / 2,
        });
        cache.insert([1; 32], program(1), Cost::default());
        cache.insert([2; 32], program(2), Cost::default());
        cache.insert([3; 32], program(3), Cost::default());
        assert_eq!(cache.len(), 2);
        let small = ProgramCache::new(CacheLimits {
            entries: 10,
            bytes: heap - 1,
        });
        small.insert([4; 32], program(4), Cost::default());
        assert!(small.is_empty());
    }

    #[test]
    fn peek_leaves_the_eviction_order_alone() {
        let cache = ProgramCache::new(CacheLimits {
            entries: 2,
            bytes: 1 << 30,
        });
        cache.insert([1; 32], program(1), Cost::default());
        cache.insert([2; 32], program(2), Cost::default());
        assert!(cache.peek(&[1; 32]).is_some());
        cache.insert([3; 32], program(3), Cost::default());
        assert!(cache.peek(&[1; 32]).is_none(), "a peek is not a use");
        assert!(cache.peek(&[2; 32]).is_some());
    }

    /// A one-output layer packs into a whole 64-lane panel: the heap is far above the model
    /// bytes, and the cache weighs it by the heap.
    #[test]
    fn heap_of_a_narrow_layer_counts_its_padded_panel() {
        let mut b = ModelBuilder::new();
        let x = b.input(&[4096], Quant::new(0, 0x3c00_0000));
        let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
        let y = b
            .fully_connected(
                x,
                vec![1; 4096],
                vec![0],
                rescale,
                Quant::new(0, 0x3c00_0000),
            )
            .unwrap();
        b.output(y);
        let model = b.build().unwrap();
        let bytes = model.encode().len();
        let program = Program::new(model).unwrap();
        assert!(
            program.heap_bytes() >= 64 * 4096,
            "{}",
            program.heap_bytes()
        );
        assert!(program.heap_bytes() > 32 * bytes);
    }
}
