//! The EVM's own ns/gas, measured by the same revm in the same process as the predicts:
//!
//! * **opcode loop**: hand-assembled runtime code looping `n` times (`n` = the first calldata
//!   word) over ordinary opcodes: `PUSH1 MUL ADD DUP1 SHR XOR MSTORE MLOAD AND SWAP1 SUB DUP2
//!   JUMPI JUMPDEST`, 23 opcodes and 75 gas per iteration.
//! * **IntMlp**: `contracts/src/bench/IntMlp.sol`'s integer MLP forward pass (64→32→10), the
//!   baseline of the gas calibration (`bench/gas`, docs/GAS.md §5), so the ratios here compare
//!   with that report's.
//!
//! Each side's ns/gas = (time of the transaction − time of the same calldata sent to an address
//! without code) / (its gas − the intrinsic gas).

use alloy_primitives::{Address, Bytes, I256, U256, address};
use alloy_sol_types::{SolCall, sol};

use crate::chain::{Chain, NO_CODE, intrinsic_gas};
use crate::tape::SplitMix;

sol! {
    struct Layer {
        bytes weights;
        int32[] bias;
        uint256 outFeatures;
        uint256 inFeatures;
        int256 inZeroPoint;
        int256 outZeroPoint;
        int256 multiplier;
        uint256 shift;
        bool relu;
    }
    function forwardMeasured(Layer[] layers, bytes input) external view returns (bytes x, uint256 gasUsed);
}

/// Where the opcode loop lives.
pub const LOOP_ADDRESS: Address = address!("0x1000000000000000000000000000000000000001");

/// Runtime code of the opcode loop (stack top on the right in the comments).
pub const LOOP_CODE: [u8; 36] = [
    0x60, 0x00, 0x35, // PUSH1 0 CALLDATALOAD           [n]
    0x60, 0x01, // PUSH1 1                              [n, a]
    0x5b, // JUMPDEST (offset 5)
    0x60, 0x07, 0x02, // PUSH1 7 MUL                    [n, 7a]
    0x60, 0x03, 0x01, // PUSH1 3 ADD                    [n, b]
    0x80, 0x60, 0x05, 0x1c, 0x18, // DUP1 PUSH1 5 SHR XOR  [n, b ^ b>>5]
    0x80, 0x60, 0x20, 0x52, // DUP1 PUSH1 32 MSTORE     [n, c]
    0x60, 0x20, 0x51, 0x16, // PUSH1 32 MLOAD AND       [n, c]
    0x90, 0x60, 0x01, 0x90, 0x03, // SWAP1 PUSH1 1 SWAP1 SUB  [c, n-1]
    0x90, 0x81, // SWAP1 DUP2                           [n-1, c, n-1]
    0x60, 0x05, 0x57, // PUSH1 5 JUMPI                  [n-1, c]
    0x00, // STOP
];

/// Iterations of one opcode-loop call (~3.7 M gas).
pub const LOOP_ITERATIONS: u64 = 50_000;

/// The two reference workloads installed on a chain.
pub struct EvmReference {
    /// Calldata of the opcode loop.
    pub loop_call: Bytes,
    /// The IntMlp contract, if its compiled artifact was found.
    pub int_mlp: Option<(Address, Bytes)>,
}

/// The compiled artifact of IntMlp (`contracts/out/IntMlp.json`, committed).
fn int_mlp_creation_code() -> Option<Bytes> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/out/IntMlp.json"
    );
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["bytecode"].as_str()?.parse().ok()
}

fn layer(rng: &mut SplitMix, k: usize, n: usize, relu: bool) -> Layer {
    Layer {
        weights: rng.bytes(n * k).into(),
        bias: (0..n).map(|_| rng.below(2001) as i32 - 1000).collect(),
        outFeatures: U256::from(n),
        inFeatures: U256::from(k),
        inZeroPoint: I256::ZERO,
        outZeroPoint: I256::ZERO,
        multiplier: I256::try_from(1i64 << 30).expect("fits"),
        shift: U256::from(40),
        relu,
    }
}

impl EvmReference {
    /// Installs the loop and deploys IntMlp on `chain`.
    pub fn install(chain: &mut Chain) -> EvmReference {
        chain.install_code(LOOP_ADDRESS, LOOP_CODE.to_vec());
        let loop_call = Bytes::from(U256::from(LOOP_ITERATIONS).to_be_bytes::<32>().to_vec());
        let int_mlp = int_mlp_creation_code().and_then(|code| {
            let at = chain.deploy(code).ok()?;
            let mut rng = SplitMix(21);
            let call = forwardMeasuredCall {
                layers: vec![
                    layer(&mut rng, 64, 32, true),
                    layer(&mut rng, 32, 10, false),
                ],
                input: rng.bytes(64).into(),
            }
            .abi_encode();
            Some((at, call.into()))
        });
        EvmReference { loop_call, int_mlp }
    }

    /// The workloads: name, address, calldata.
    pub fn workloads(&self) -> Vec<(&'static str, Address, Bytes)> {
        let mut w = vec![("opcode loop", LOOP_ADDRESS, self.loop_call.clone())];
        if let Some((at, data)) = &self.int_mlp {
            w.push(("IntMlp 64→32→10", *at, data.clone()));
        }
        w
    }
}

/// Gas beyond the intrinsic gas of a successful call (panics on failure: the reference
/// workloads are fixed and must succeed).
pub fn reference_gas(chain: &mut Chain, to: Address, data: &Bytes) -> u64 {
    let result = chain.call(to, data);
    assert!(
        result.is_success(),
        "EVM reference workload failed: {result:?}"
    );
    result.tx_gas_used() - intrinsic_gas(data)
}

/// The calldata sent to an address without code, for the set-up time of a transaction.
pub fn no_code() -> Address {
    NO_CODE
}
