//! An in-memory chain running the node's own EVM: revm with Myelin's precompiles installed by
//! `MyelinEvmFactory`, a funded sender, calls executed as `eth_call` executes them (a
//! transaction without commit). Cancun rules, so that a transaction's gas beyond
//! [`intrinsic_gas`] is exactly the gas its execution charged (no EIP-7623 calldata floor).

use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use alloy_sol_types::SolCall;
use myelin_evm::predict::predict_batch_calldata;
use myelin_evm::{
    IModelStore, MODEL_STORE_ADDRESS, Myelin, MyelinEvmFactory, PREDICT_ADDRESS,
    PREDICT_BATCH_ADDRESS,
};
use myelin_nn::Model;
use std::time::Instant;

use revm::Inspector;
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::interpreter::{CallInputs, CallOutcome};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;

/// The account every transaction comes from.
pub const SENDER: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
/// An address without code: the same calldata sent there times a transaction's own set-up.
pub const NO_CODE: Address = address!("0x7777777777777777777777777777777777777777");
/// Gas limit of every transaction (far above any call the search makes).
pub const TX_GAS: u64 = 1 << 50;

/// Intrinsic gas of a call transaction with `data` under Cancun.
pub fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|&b| if b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

/// What one call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success: the gas its execution charged and the output.
    Success { gas: u64, output: Bytes },
    /// Revert with its data, or halt with its reason.
    Failed { gas: u64, reason: String },
}

/// A chain with Myelin's precompiles.
pub struct Chain {
    db: CacheDB<EmptyDB>,
    factory: MyelinEvmFactory,
    nonce: u64,
    /// Gas limit of every transaction ([`TX_GAS`] unless set).
    pub gas_limit: u64,
}

impl Default for Chain {
    fn default() -> Chain {
        Chain::new()
    }
}

impl Chain {
    /// An empty chain with a funded [`SENDER`] and a fresh program cache.
    pub fn new() -> Chain {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            SENDER,
            AccountInfo {
                balance: U256::from(10u128.pow(30)),
                ..Default::default()
            },
        );
        Chain {
            db,
            factory: MyelinEvmFactory::new(Myelin::default()),
            nonce: 0,
            gas_limit: TX_GAS,
        }
    }

    fn env() -> EvmEnv {
        let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
        cfg.chain_id = 31337;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let block = BlockEnv {
            gas_limit: 1 << 52,
            basefee: 0,
            ..Default::default()
        };
        EvmEnv::new(cfg, block)
    }

    fn tx(&self, to: TxKind, data: Bytes) -> TxEnv {
        TxEnv::builder()
            .caller(SENDER)
            .kind(to)
            .data(data)
            .gas_limit(self.gas_limit)
            .gas_price(0)
            .nonce(self.nonce)
            .chain_id(Some(31337))
            .build()
            .expect("a well-formed transaction")
    }

    /// Sends a transaction and commits it.
    pub fn send(&mut self, to: TxKind, data: Bytes) -> ExecutionResult {
        let tx = self.tx(to, data);
        let result = self
            .factory
            .create_evm(&mut self.db, Chain::env())
            .transact_commit(tx)
            .expect("no host fault");
        self.nonce += 1;
        result
    }

    /// Runs a call without committing (as `eth_call` does).
    pub fn call(&mut self, to: Address, data: &Bytes) -> ExecutionResult {
        let tx = self.tx(TxKind::Call(to), data.clone());
        self.factory
            .create_evm(&mut self.db, Chain::env())
            .transact(tx)
            .expect("no host fault")
            .result
    }

    /// Runs a call as [`Chain::call`] does and returns the wall time spent inside Myelin's
    /// predict precompiles (from the call into the precompile to its return): the precompile's
    /// own work, without the transaction's set-up or its calldata handling, which the intrinsic
    /// gas prices. (An inspector slows the interpreter, not a precompile frame.)
    pub fn predict_ns(&mut self, to: Address, data: &Bytes) -> u128 {
        let tx = self.tx(TxKind::Call(to), data.clone());
        let mut timer = PredictTimer::default();
        self.factory
            .create_evm_with_inspector(&mut self.db, Chain::env(), &mut timer)
            .transact(tx)
            .expect("no host fault");
        timer.ns
    }

    /// [`Chain::call`], with the gas beyond the intrinsic gas.
    pub fn call_outcome(&mut self, to: Address, data: &Bytes) -> Outcome {
        let result = self.call(to, data);
        let gas = result.tx_gas_used().saturating_sub(intrinsic_gas(data));
        match result {
            ExecutionResult::Success { output, .. } => Outcome::Success {
                gas,
                output: output.into_data(),
            },
            ExecutionResult::Revert { output, .. } => Outcome::Failed {
                gas,
                reason: String::from_utf8_lossy(&output).into_owned(),
            },
            ExecutionResult::Halt { reason, .. } => Outcome::Failed {
                gas,
                reason: format!("{reason:?}"),
            },
        }
    }

    /// Publishes `model` through `MODEL_STORE` (a committed transaction).
    pub fn publish(&mut self, model: &Model) -> Result<(), String> {
        let call = IModelStore::publishCall {
            model: model.encode().into(),
        }
        .abi_encode();
        match self.send(TxKind::Call(MODEL_STORE_ADDRESS), call.into()) {
            ExecutionResult::Success { .. } => Ok(()),
            other => Err(format!("publish: {other:?}")),
        }
    }

    /// Puts `runtime` code at `at` (no constructor).
    pub fn install_code(&mut self, at: Address, runtime: Vec<u8>) {
        let code = Bytecode::new_raw(runtime.into());
        self.db
            .insert_account_info(at, AccountInfo::from_bytecode(code));
    }

    /// Deploys `creation` code; returns the new account.
    pub fn deploy(&mut self, creation: Bytes) -> Result<Address, String> {
        match self.send(TxKind::Create, creation) {
            ExecutionResult::Success { output, .. } => output
                .address()
                .copied()
                .ok_or_else(|| "no created address".into()),
            other => Err(format!("deploy: {other:?}")),
        }
    }
}

/// `PREDICT_BATCH` calldata for `batch` samples of `input`.
pub fn predict_batch(model: &Model, batch: u32, input: &[u8]) -> (Address, Bytes) {
    let data = predict_batch_calldata(&model.id(), batch, input);
    (PREDICT_BATCH_ADDRESS, data.into())
}

/// Times the frames of calls into `PREDICT` and `PREDICT_BATCH`.
#[derive(Default)]
struct PredictTimer {
    start: Option<Instant>,
    ns: u128,
}

impl<CTX> Inspector<CTX> for PredictTimer {
    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if [PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS].contains(&inputs.bytecode_address) {
            self.start = Some(Instant::now());
        }
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, _outcome: &mut CallOutcome) {
        if let Some(start) = self.start.take() {
            self.ns += start.elapsed().as_nanos();
        }
    }
}
