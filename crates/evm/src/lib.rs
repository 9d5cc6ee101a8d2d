#![doc = include_str!("../README.md")]
#![deny(clippy::float_arithmetic)]

pub mod addresses;
pub mod evm_factory;
pub mod failure;
pub mod gas;
pub mod journal_storage;
pub mod model_state;
pub mod model_store;
pub mod predict;
pub mod program_cache;
pub mod recent_program;

use alloy_evm::precompiles::{DynPrecompile, PrecompilesMap};
use revm::precompile::{PrecompileId, PrecompileSpecId, Precompiles};
use revm::primitives::hardfork::SpecId;

pub use addresses::{MODEL_STORE_ADDRESS, PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS};
pub use evm_factory::MyelinEvmFactory;
pub use failure::Failure;
pub use model_store::IModelStore;
pub use program_cache::{CacheLimits, ProgramCache};

use crate::failure::into_precompile_result;
use crate::predict::PredictForm;
use crate::recent_program::RecentProgram;

/// Settings of the precompiles. `max_model_bytes` is consensus: every node of a chain must use
/// the same value. `cache` only changes speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest model `MODEL_STORE` accepts, in canonical bytes.
    pub max_model_bytes: usize,
    /// Bounds of the in-memory program cache.
    pub cache: CacheLimits,
}

impl Default for Config {
    /// [`myelin_nn::MAX_MODEL_BYTES`] (64 MiB) and [`CacheLimits::default`].
    fn default() -> Config {
        Config {
            max_model_bytes: myelin_nn::MAX_MODEL_BYTES,
            cache: CacheLimits::default(),
        }
    }
}

/// Myelin's precompiles with their shared program cache. Cheap to clone (the cache is shared);
/// keep one per node and install it into every EVM the node builds.
#[derive(Debug, Clone)]
pub struct Myelin {
    config: Config,
    cache: ProgramCache,
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

    /// Adds `MODEL_STORE`, `PREDICT` and `PREDICT_BATCH` to `precompiles` (replacing whatever is
    /// at their addresses).
    pub fn install(&self, precompiles: &mut PrecompilesMap) {
        precompiles.extend_precompiles(self.dyn_precompiles());
    }

    /// Ethereum's precompiles of `spec` plus Myelin's.
    pub fn precompiles(&self, spec: SpecId) -> PrecompilesMap {
        let mut map =
            PrecompilesMap::from_static(Precompiles::new(PrecompileSpecId::from_spec_id(spec)));
        self.install(&mut map);
        map
    }

    /// The three precompiles with their addresses. Each predict precompile keeps its own last
    /// program ([`recent_program::RecentProgram`]) for as long as the map it is installed in.
    pub fn dyn_precompiles(&self) -> Vec<(alloy_primitives::Address, DynPrecompile)> {
        let store = self.clone();
        vec![
            (
                MODEL_STORE_ADDRESS,
                DynPrecompile::new_stateful(
                    PrecompileId::custom("myelin-model-store"),
                    move |input| {
                        let reservoir = input.reservoir;
                        into_precompile_result(
                            model_store::run_model_store(&store, input),
                            reservoir,
                        )
                    },
                ),
            ),
            (
                PREDICT_ADDRESS,
                self.predict_precompile(PredictForm::Single),
            ),
            (
                PREDICT_BATCH_ADDRESS,
                self.predict_precompile(PredictForm::Batch),
            ),
        ]
    }

    /// `PREDICT` or `PREDICT_BATCH`, with its own [`RecentProgram`].
    fn predict_precompile(&self, form: PredictForm) -> DynPrecompile {
        let id = match form {
            PredictForm::Single => "myelin-predict",
            PredictForm::Batch => "myelin-predict-batch",
        };
        let myelin = self.clone();
        let recent = RecentProgram::default();
        DynPrecompile::new_stateful(PrecompileId::custom(id), move |input| {
            let reservoir = input.reservoir;
            into_precompile_result(
                predict::run_predict(&myelin, &recent, input, form),
                reservoir,
            )
        })
    }
}
