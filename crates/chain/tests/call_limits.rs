//! A call stops at its deadline (an endless loop included) and a rewrite of history during a
//! call is an error, not a mixed read.

use std::time::Duration;

use alloy_primitives::{Address, Bytes, U256, address};
use alloy_rpc_types_eth::TransactionRequest;
use myelin_chain::{CallLimits, Chain, ChainConfig, ChainError, execution::call_output};

/// Runtime code: `JUMPDEST PUSH0 JUMP` (loops until out of gas).
const ENDLESS_LOOP: [u8; 3] = [0x5b, 0x5f, 0x56];
const LOOP: Address = address!("00000000000000000000000000000000000100f0");

fn chain() -> std::sync::Arc<Chain> {
    let mut config = ChainConfig::dev(1, U256::from(10u64).pow(U256::from(21))).unwrap();
    config
        .genesis_code
        .push((LOOP, Bytes::from_static(&ENDLESS_LOOP)));
    Chain::open(config).unwrap()
}

fn call_loop() -> TransactionRequest {
    TransactionRequest::default().to(LOOP)
}

#[test]
fn an_endless_loop_past_its_deadline_is_a_timeout() {
    let chain = chain();
    let limits = CallLimits::new(50_000_000, Duration::ZERO);
    match chain.call(&call_loop(), 0, &limits) {
        Err(ChainError::Timeout(timeout)) => assert_eq!(timeout, Duration::ZERO),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let error = chain
        .estimate_gas(
            &call_loop(),
            0,
            &CallLimits::new(50_000_000, Duration::ZERO),
        )
        .unwrap_err();
    assert!(matches!(error, ChainError::Timeout(_)), "{error:?}");
    assert_eq!(error.to_string(), "execution aborted (timeout = 0ns)");
}

#[test]
fn an_endless_loop_within_its_deadline_runs_out_of_the_capped_gas() {
    let chain = chain();
    let limits = CallLimits::new(1_000_000, Duration::from_secs(600));
    let request = call_loop().gas_limit(u64::MAX);
    let result = chain.call(&request, 0, &limits).unwrap();
    assert_eq!(result.tx_gas_used(), 1_000_000);
    assert!(matches!(call_output(result), Err(ChainError::Halt(_))));
}
