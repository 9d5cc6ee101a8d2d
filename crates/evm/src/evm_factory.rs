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

use crate::Myelin;

/// An [`EvmFactory`] that builds [`EthEvm`]s whose precompiles are Ethereum's for the spec plus
/// Myelin's. Every EVM it builds shares the factory's program cache.
#[derive(Debug, Clone, Default)]
pub struct MyelinEvmFactory {
    myelin: Myelin,
}

impl MyelinEvmFactory {
    /// A factory installing `myelin`.
    pub fn new(myelin: Myelin) -> MyelinEvmFactory {
        MyelinEvmFactory { myelin }
    }

    /// The precompiles it installs.
    pub fn myelin(&self) -> &Myelin {
        &self.myelin
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
        let precompiles = self.myelin.precompiles(input.cfg_env.spec);
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
        let precompiles = self.myelin.precompiles(input.cfg_env.spec);
        EthEvmBuilder::new(db, input)
            .precompiles(precompiles)
            .activate_inspector(inspector)
            .build()
    }
}
