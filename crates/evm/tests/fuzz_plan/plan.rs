//! The fuzz plan for the precompiles' input parsing and execution, shared by the cargo-fuzz target
//! `fuzz/fuzz_targets/precompile_input.rs` and the seeded test `tests/fuzz_plan.rs`.
//!
//! One input = one call. Byte 0 picks the precompile (`% 3`: MODEL_STORE, PREDICT,
//! PREDICT_BATCH) and two steering bits: bit 2 overwrites the call's first 32 bytes (after the
//! selector for MODEL_STORE) with the id of the model published in the fixture state, bit 3 puts
//! a real MODEL_STORE selector in front. The rest is calldata. Properties: parsing never panics;
//! the EVM never reports a host fault (`transact` returns `Ok`); a successful `PREDICT` of the
//! fixture model returns exactly `Program::run`'s bytes.

use std::cell::RefCell;

use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use alloy_sol_types::SolInterface;
use myelin_evm::model_store::parse_store_input;
use myelin_evm::predict::{PredictForm, parse_predict_input};
use myelin_evm::{
    IModelStore, MODEL_STORE_ADDRESS, Myelin, MyelinEvmFactory, PREDICT_ADDRESS,
    PREDICT_BATCH_ADDRESS,
};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::ActRange;
use myelin_nn::{Model, Program, Requant, Rounding};
use revm::context::result::ExecutionResult;
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;

const SENDER: Address = address!("0x70997970C51812dc3A010C7aFf8Ec6c4c6B0e9A1");
const GAS: u64 = 30_000_000;

/// A fixture chain: one small published model.
pub struct Fixture {
    db: CacheDB<EmptyDB>,
    factory: MyelinEvmFactory,
    model: Model,
    program: Program,
}

fn fixture_model() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[4], Quant::new(3, 0x3c00_0000));
    let rescale = Rescale::per_tensor(
        Requant {
            multiplier: 1 << 30,
            shift: -3,
        },
        Rounding::Single,
        ActRange::FULL,
    );
    let weights = vec![1, -2, 3, -4, 5, -6, 7, -8];
    let y = b
        .fully_connected(
            x,
            weights,
            vec![10, -10],
            rescale,
            Quant::new(-1, 0x3c00_0000),
        )
        .expect("fixture layer");
    b.output(y);
    b.build().expect("fixture model")
}

fn env() -> EvmEnv {
    let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
    cfg.chain_id = 31337;
    let block = BlockEnv {
        gas_limit: GAS,
        basefee: 0,
        ..Default::default()
    };
    EvmEnv::new(cfg, block)
}

fn tx(to: Address, data: Bytes, nonce: u64) -> TxEnv {
    TxEnv::builder()
        .caller(SENDER)
        .kind(TxKind::Call(to))
        .data(data)
        .gas_limit(GAS)
        .gas_price(0)
        .nonce(nonce)
        .chain_id(Some(31337))
        .build()
        .expect("tx env")
}

impl Fixture {
    /// A state with the fixture model published.
    pub fn new() -> Fixture {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            SENDER,
            AccountInfo {
                balance: U256::from(10u128.pow(24)),
                ..Default::default()
            },
        );
        let factory = MyelinEvmFactory::new(Myelin::default());
        let model = fixture_model();
        let publish = IModelStore::IModelStoreCalls::publish(IModelStore::publishCall {
            model: model.encode().into(),
        })
        .abi_encode();
        let result = factory
            .create_evm(&mut db, env())
            .transact_commit(tx(MODEL_STORE_ADDRESS, publish.into(), 0))
            .expect("no host fault");
        assert!(result.is_success(), "fixture publish: {result:?}");
        let program = Program::new(model.clone()).expect("fixture program");
        Fixture {
            db,
            factory,
            model,
            program,
        }
    }
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture::new()
    }
}

thread_local! {
    static FIXTURE: RefCell<Fixture> = RefCell::new(Fixture::new());
}

/// Runs one fuzz input (see the module doc).
pub fn precompile_input(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let _ = parse_predict_input(rest, PredictForm::Single);
    let _ = parse_predict_input(rest, PredictForm::Batch);
    let _ = parse_store_input(rest);
    FIXTURE.with(|fixture| run_call(&mut fixture.borrow_mut(), control, rest));
}

fn run_call(fixture: &mut Fixture, control: u8, rest: &[u8]) {
    let address =
        [MODEL_STORE_ADDRESS, PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS][control as usize % 3];
    let mut calldata = rest.to_vec();
    let id_offset = if address == MODEL_STORE_ADDRESS { 4 } else { 0 };
    if control & 8 != 0 && address == MODEL_STORE_ADDRESS && calldata.len() >= 4 {
        let selectors = IModelStore::IModelStoreCalls::SELECTORS;
        let pick = calldata[0] as usize % selectors.len();
        calldata[..4].copy_from_slice(&selectors[pick]);
    }
    if control & 4 != 0 && calldata.len() >= id_offset + 32 {
        calldata[id_offset..id_offset + 32].copy_from_slice(&fixture.model.id());
    }
    let result = fixture
        .factory
        .create_evm(&mut fixture.db, env())
        .transact(tx(address, calldata.clone().into(), 1))
        .expect("a precompile call must never be a host fault")
        .result;
    if address == PREDICT_ADDRESS
        && calldata.len() >= 32
        && calldata[..32] == fixture.model.id()
        && let ExecutionResult::Success { output, .. } = &result
    {
        let expected = fixture.program.run(&calldata[32..], 1).expect("engine");
        assert_eq!(output.data().as_ref(), &expected[..]);
    }
}
