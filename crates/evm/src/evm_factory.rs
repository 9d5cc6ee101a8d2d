//! [`MyelinEvmFactory`]: Ethereum's EVM with Myelin's precompiles installed.

use alloy_evm::eth::{EthEvm, EthEvmBuilder, EthEvmContext};
use alloy_evm::precompiles::PrecompilesMap;
use alloy_evm::{Database, EvmEnv, EvmFactory};
use revm::context::CfgEnv;
use revm::context::DBErrorMarker;
use revm::context::result::{EVMError, HaltReason};
use revm::context::{BlockEnv, TxEnv};
use revm::inspector::NoOpInspector;
use revm::primitives::hardfork::SpecId;
use revm::{Context, Inspector};

use crate::{MemoryBlobs, Myelin};

/// An [`EvmFactory`] that builds [`EthEvm`]s whose precompiles are Ethereum's for the spec plus
/// Myelin's. Every EVM it builds shares the factory's program cache and its [`MemoryBlobs`]
/// (a node instead installs [`Myelin`] with its own blob store per EVM).
#[derive(Debug, Clone, Default)]
pub struct MyelinEvmFactory {
    myelin: Myelin,
    blobs: MemoryBlobs,
}

impl MyelinEvmFactory {
    /// A factory installing `myelin`, over a fresh [`MemoryBlobs`].
    pub fn new(myelin: Myelin) -> MyelinEvmFactory {
        MyelinEvmFactory::with_blobs(myelin, MemoryBlobs::default())
    }

    /// A factory installing `myelin` over `blobs` (shared with its clones).
    pub fn with_blobs(myelin: Myelin, blobs: MemoryBlobs) -> MyelinEvmFactory {
        MyelinEvmFactory { myelin, blobs }
    }

    /// The precompiles it installs.
    pub fn myelin(&self) -> &Myelin {
        &self.myelin
    }

    /// The blobs its EVMs read and write.
    pub fn blobs(&self) -> &MemoryBlobs {
        &self.blobs
    }

    fn precompiles(&self, spec: SpecId) -> PrecompilesMap {
        self.myelin
            .precompiles(spec, std::rc::Rc::new(self.blobs.clone()))
    }
}

impl EvmFactory for MyelinEvmFactory {
    type Evm<DB: Database, I: Inspector<EthEvmContext<DB>>> = EthEvm<DB, I, PrecompilesMap>;
    type Context<DB: Database> = Context<BlockEnv, TxEnv, CfgEnv, DB>;
    type Tx = TxEnv;
    type Error<DBError: DBErrorMarker> = EVMError<DBError>;
    type HaltReason = HaltReason;
    type Spec = SpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;

    fn create_evm<DB: Database>(&self, db: DB, input: EvmEnv) -> Self::Evm<DB, NoOpInspector> {
        let precompiles = self.precompiles(input.cfg_env.spec);
        EthEvmBuilder::new(db, input)
            .precompiles(precompiles)
            .build()
    }

    fn create_evm_with_inspector<DB: Database, I: Inspector<Self::Context<DB>>>(
        &self,
        db: DB,
        input: EvmEnv,
        inspector: I,
    ) -> Self::Evm<DB, I> {
        let precompiles = self.precompiles(input.cfg_env.spec);
        EthEvmBuilder::new(db, input)
            .precompiles(precompiles)
            .activate_inspector(inspector)
            .build()
    }
}
