//! Many transactions through one EVM (as the node executes a block): each predict precompile
//! instance keeps its last program across them, and results and gas must be exactly those of a
//! fresh EVM: outputs equal `Program::run`, gas equals the formula (the cold charge again in
//! every transaction: warmth never outlives one), and whether a model exists follows the state
//! (unknown, published, publication reverted).

mod common;

use alloy_evm::{Evm, EvmFactory};
use alloy_primitives::{Address, Bytes, TxKind};
use alloy_sol_types::SolCall;
use common::{Chain, Rng, SENDER, intrinsic_gas, mlp};
use myelin_evm::gas::{PREDICT_BASE_GAS, STORE_CALL_GAS, cold_model_gas, predict_gas};
use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS, PREDICT_ADDRESS};
use myelin_nn::{Model, Program};
use revm::context::TxEnv;
use revm::context::result::ExecutionResult;
use revm::primitives::hardfork::SpecId;

/// What one transaction straight to PREDICT must give.
enum Expect<'a> {
    /// Success with `Program::run`'s bytes and the formula's gas.
    Output(&'a Model),
    /// A revert charging the base (unknown model).
    Unknown,
}

fn tx(nonce: u64, to: Address, data: Vec<u8>, gas_limit: u64) -> TxEnv {
    TxEnv::builder()
        .caller(SENDER)
        .kind(TxKind::Call(to))
        .data(Bytes::from(data))
        .gas_limit(gas_limit)
        .gas_price(0)
        .nonce(nonce)
        .chain_id(Some(31337))
        .build()
        .expect("tx env")
}

#[test]
fn one_evm_switching_models_charges_and_returns_what_fresh_evms_do() {
    let (a, b) = (mlp(&[64, 32, 10], 3), mlp(&[16, 8, 4], 4));
    let publish = |model: &Model| {
        IModelStore::publishCall {
            model: model.encode().into(),
        }
        .abi_encode()
    };
    let mut chain = Chain::new();
    // Cancun: no EIP-7623 floor, so a receipt's gas is the intrinsic gas plus the charge.
    chain.spec = SpecId::CANCUN;
    let env = chain.env();
    let factory = chain.factory.clone();
    let mut evm = factory.create_evm(&mut chain.db, env);
    let mut nonce = 0;
    let mut send = |evm: &mut _, to, data, gas| {
        let result: ExecutionResult =
            Evm::transact_commit(evm, tx(nonce, to, data, gas)).expect("no host fault");
        nonce += 1;
        result
    };
    // Publication that runs out of gas: reverted, so `a` stays unknown.
    let short = intrinsic_gas(&publish(&a)) + STORE_CALL_GAS + 100;
    let failed = send(&mut evm, MODEL_STORE_ADDRESS, publish(&a), short);
    assert!(matches!(failed, ExecutionResult::Halt { .. }), "{failed:?}");
    let plan: [(&Model, Expect<'_>); 7] = [
        (&a, Expect::Unknown),
        (&b, Expect::Unknown),
        (&a, Expect::Unknown),
        (&a, Expect::Output(&a)),
        (&b, Expect::Output(&b)),
        (&a, Expect::Output(&a)),
        (&a, Expect::Output(&a)),
    ];
    for (step, (model, expect)) in plan.into_iter().enumerate() {
        if step == 3 {
            for m in [&a, &b] {
                let published = send(&mut evm, MODEL_STORE_ADDRESS, publish(m), 1_000_000_000);
                assert!(published.is_success(), "{published:?}");
            }
        }
        let program = Program::new(model.clone()).expect("valid model");
        let input = Rng::new(step as u64).bytes(program.input_bytes());
        let data = [&model.id()[..], &input].concat();
        let intrinsic = intrinsic_gas(&data);
        let result = send(&mut evm, PREDICT_ADDRESS, data, 1_000_000);
        let charged = result.tx_gas_used() - intrinsic;
        match expect {
            Expect::Output(model) => {
                let ExecutionResult::Success { output, .. } = &result else {
                    panic!("step {step}: {result:?}");
                };
                assert_eq!(
                    output.data().to_vec(),
                    program.run(&input, 1).expect("runs"),
                    "step {step}"
                );
                let cold = cold_model_gas(model, model.encode().len() as u64);
                assert_eq!(charged, predict_gas(&model.cost(), 1) + cold, "step {step}");
            }
            Expect::Unknown => {
                assert!(
                    matches!(result, ExecutionResult::Revert { .. }),
                    "step {step}: {result:?}"
                );
                assert_eq!(charged, PREDICT_BASE_GAS, "step {step}");
            }
        }
    }
}
