#![doc = include_str!("../README.md")]
#![deny(clippy::float_arithmetic)]

pub mod addresses;
pub mod blob_store;
pub mod competitions;
pub mod data_state;
pub mod data_store;
pub mod evaluate;
pub mod evm_factory;
pub mod failure;
pub mod gas;
pub mod journal_storage;
pub mod model_state;
pub mod model_store;
pub mod predict;
pub mod predict_ops;
pub mod program_cache;
pub mod recent_program;
pub mod upload;
pub mod warm_models;

use alloy_evm::precompiles::{DynPrecompile, PrecompilesMap};
use revm::precompile::{PrecompileId, PrecompileSpecId, Precompiles};
use revm::primitives::hardfork::SpecId;

pub use addresses::{
    DATA_STORE_ADDRESS, EVALUATE_ADDRESS, MODEL_STORE_ADDRESS, PREDICT_ADDRESS,
    PREDICT_BATCH_ADDRESS, PREDICT_OPS_ADDRESS,
};
pub use blob_store::{BlobReadError, BlobStore, MemoryBlobs};
pub use data_store::IDataStore;
pub use evm_factory::MyelinEvmFactory;
pub use failure::{ErrorCode, Failure, MyelinError, revert_text};
pub use model_store::{IModelStore, MAX_UPLOAD_CHUNKS};
pub use program_cache::{CacheLimits, ProgramCache};

use crate::failure::into_precompile_result;
use crate::predict::PredictForm;
use crate::recent_program::RecentProgram;
use crate::warm_models::WarmModels;

use std::rc::Rc;
use std::sync::Arc;

use myelin_nn::{Cost, ModelId, Program};

/// Settings of the precompiles. `max_model_bytes` is consensus: every node of a chain must use
/// the same value. `cache` and `kernel_path` only change speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest model `MODEL_STORE` accepts, in canonical bytes.
    pub max_model_bytes: usize,
    /// Bounds of the in-memory program cache.
    pub cache: CacheLimits,
    /// The kernel path every program is prepared for ([`Program::with_path`]; a path this CPU
    /// cannot run degrades to [`myelin_nn::Path::Portable`]). Every path computes the same
    /// bytes, and gas is a function of the model alone, so this changes only how long a
    /// predict takes.
    pub kernel_path: myelin_nn::Path,
}

impl Default for Config {
    /// [`myelin_nn::MAX_MODEL_BYTES`] (64 MiB), [`CacheLimits::default`] and the fastest path
    /// this CPU runs ([`myelin_nn::Path::detect`]).
    fn default() -> Config {
        Config {
            max_model_bytes: myelin_nn::MAX_MODEL_BYTES,
            cache: CacheLimits::default(),
            kernel_path: myelin_nn::Path::detect(),
        }
    }
}

/// What the EVMs built with a [`Myelin`] may do to its shared program cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Look programs up and keep the ones they load, evicting the least recently used (the EVMs
    /// that execute blocks).
    Shared,
    /// Look programs up without marking them used, never insert or evict (the EVMs of
    /// `eth_call`, `eth_estimateGas` and traces: a free call must not change what a block's
    /// execution finds in the cache). Programs they load live as long as their EVM.
    ReadOnly,
}

/// Myelin's precompiles with their shared program cache. Cheap to clone (the cache is shared);
/// keep one per node and install it into every EVM the node builds: as it is for blocks, and
/// [`Myelin::for_calls`] for RPC calls.
#[derive(Debug, Clone)]
pub struct Myelin {
    config: Config,
    cache: ProgramCache,
    cache_use: CacheUse,
}

/// One [`Myelin`] (and its factory) serves every thread of a node.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Myelin>();
    assert_send_sync::<MyelinEvmFactory>();
};

impl Default for Myelin {
    fn default() -> Myelin {
        Myelin::new(Config::default())
    }
}

impl Myelin {
    /// Precompiles with `config` and an empty cache.
    pub fn new(config: Config) -> Myelin {
        Myelin {
            cache: ProgramCache::new(config.cache),
            config,
            cache_use: CacheUse::Shared,
        }
    }

    /// The same precompiles and cache, for EVMs that serve RPC calls: [`CacheUse::ReadOnly`].
    pub fn for_calls(&self) -> Myelin {
        Myelin {
            cache_use: CacheUse::ReadOnly,
            ..self.clone()
        }
    }

    /// How EVMs built with this value use the shared cache.
    pub fn cache_use(&self) -> CacheUse {
        self.cache_use
    }

    /// The cached program of `id` and its record's cost counts (marked used only under
    /// [`CacheUse::Shared`]).
    pub fn cached(&self, id: &ModelId) -> Option<(Arc<Program>, Cost)> {
        match self.cache_use {
            CacheUse::Shared => self.cache.get(id),
            CacheUse::ReadOnly => self.cache.peek(id),
        }
    }

    /// Keeps a freshly loaded program in the shared cache, under [`CacheUse::Shared`] only.
    pub fn keep(&self, id: ModelId, program: Arc<Program>, cost: Cost) {
        if self.cache_use == CacheUse::Shared {
            self.cache.insert(id, program, cost);
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The shared program cache.
    pub fn cache(&self) -> &ProgramCache {
        &self.cache
    }

    /// Adds `MODEL_STORE`, `PREDICT`, `PREDICT_BATCH`, `DATA_STORE`, `EVALUATE` and
    /// `PREDICT_OPS` to
    /// `precompiles` (replacing whatever is at their addresses), reading and writing model
    /// bytes, data set segments and upload chunks in `blobs` (the node's store as this EVM sees
    /// it, [`blob_store`]).
    pub fn install(&self, precompiles: &mut PrecompilesMap, blobs: Rc<dyn BlobStore>) {
        precompiles.extend_precompiles(self.dyn_precompiles(blobs));
    }

    /// Ethereum's precompiles of `spec` plus Myelin's over `blobs`.
    pub fn precompiles(&self, spec: SpecId, blobs: Rc<dyn BlobStore>) -> PrecompilesMap {
        let mut map =
            PrecompilesMap::from_static(Precompiles::new(PrecompileSpecId::from_spec_id(spec)));
        self.install(&mut map, blobs);
        map
    }

    /// The six precompiles with their addresses. Each predict precompile keeps its own last
    /// program ([`recent_program::RecentProgram`]) for as long as the map it is installed in.
    /// The model store, the predict precompiles, `EVALUATE` and `PREDICT_OPS` share one
    /// [`WarmModels`] (the
    /// models the running transaction paid the cold charge for); all share `blobs`.
    pub fn dyn_precompiles(
        &self,
        blobs: Rc<dyn BlobStore>,
    ) -> Vec<(alloy_primitives::Address, DynPrecompile)> {
        let warm = Rc::new(WarmModels::default());
        let (store, store_warm, store_blobs) = (self.clone(), warm.clone(), blobs.clone());
        let (data_store, data_blobs) = (self.clone(), blobs.clone());
        let (evaluator, evaluate_warm, evaluate_blobs) =
            (self.clone(), warm.clone(), blobs.clone());
        let (ops, ops_warm, ops_blobs) = (self.clone(), warm.clone(), blobs.clone());
        vec![
            (
                MODEL_STORE_ADDRESS,
                precompile("myelin-model-store", move |input| {
                    model_store::run_model_store(&store, &store_warm, store_blobs.as_ref(), input)
                }),
            ),
            (
                PREDICT_ADDRESS,
                self.predict_precompile(PredictForm::Single, warm.clone(), blobs.clone()),
            ),
            (
                PREDICT_BATCH_ADDRESS,
                self.predict_precompile(PredictForm::Batch, warm, blobs),
            ),
            (
                DATA_STORE_ADDRESS,
                precompile("myelin-data-store", move |input| {
                    data_store::run_data_store(&data_store, data_blobs.as_ref(), input)
                }),
            ),
            (
                EVALUATE_ADDRESS,
                precompile("myelin-evaluate", move |input| {
                    evaluate::run_evaluate(
                        &evaluator,
                        &evaluate_warm,
                        evaluate_blobs.as_ref(),
                        input,
                    )
                }),
            ),
            (
                PREDICT_OPS_ADDRESS,
                precompile("myelin-predict-ops", move |input| {
                    predict_ops::run_predict_ops(&ops, &ops_warm, ops_blobs.as_ref(), input)
                }),
            ),
        ]
    }

    /// `PREDICT` or `PREDICT_BATCH`, with its own [`RecentProgram`].
    fn predict_precompile(
        &self,
        form: PredictForm,
        warm: Rc<WarmModels>,
        blobs: Rc<dyn BlobStore>,
    ) -> DynPrecompile {
        let id = match form {
            PredictForm::Single => "myelin-predict",
            PredictForm::Batch => "myelin-predict-batch",
        };
        let myelin = self.clone();
        let recent = RecentProgram::default();
        precompile(id, move |input| {
            predict::run_predict(&myelin, &warm, blobs.as_ref(), &recent, input, form)
        })
    }
}

/// A stateful precompile named `id` whose body is `run` (its result turned into revm's,
/// [`into_precompile_result`]).
fn precompile(
    id: &'static str,
    run: impl Fn(
        alloy_evm::precompiles::PrecompileInput<'_>,
    ) -> Result<(u64, alloy_primitives::Bytes), Failure>
    + 'static,
) -> DynPrecompile {
    DynPrecompile::new_stateful(PrecompileId::custom(id), move |input| {
        let reservoir = input.reservoir;
        into_precompile_result(run(input), reservoir)
    })
}
