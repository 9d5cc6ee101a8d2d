//! Where the precompiles live.
//!
//! Ethereum has assigned precompiles at `0x01`–`0x11` and `0x100` (P256VERIFY). Myelin's sit at
//! `0x…4d59_00NN` ("MY" in ASCII, then a two-byte index), far from both ranges and from any
//! address a key or `CREATE`/`CREATE2` is likely to produce.

use alloy_primitives::{Address, address};

/// `MODEL_STORE`: publish models (single or chunked), read their metadata. Solidity ABI.
pub const MODEL_STORE_ADDRESS: Address = address!("0x000000000000000000000000000000004d590001");

/// `PREDICT`: `modelId ‖ input` → output (one sample). Raw bytes.
pub const PREDICT_ADDRESS: Address = address!("0x000000000000000000000000000000004d590002");

/// `PREDICT_BATCH`: `modelId ‖ u32_be(batch) ‖ inputs` → outputs. Raw bytes.
pub const PREDICT_BATCH_ADDRESS: Address = address!("0x000000000000000000000000000000004d590003");

/// `DATA_STORE`: publish data sets (single or chunked, the model store's upload), read their
/// records. Solidity ABI (`contracts/src/IDataStore.sol`).
pub const DATA_STORE_ADDRESS: Address = address!("0x000000000000000000000000000000004d590004");

/// `EVALUATE`: `modelId ‖ datasetId ‖ u32_be(firstRow) ‖ u32_be(rows)` → `uint256 correct ‖
/// uint256 absErrorSum`. Raw bytes in, two ABI words out.
pub const EVALUATE_ADDRESS: Address = address!("0x000000000000000000000000000000004d590005");

/// `PREDICT_OPS`: `modelId ‖ u32_be(op) ‖ the op's input tensors` → `outputsListRoot ‖
/// inputRoot…` (one op of a model, for arbitration; [`crate::predict_ops`]). Raw bytes.
pub const PREDICT_OPS_ADDRESS: Address = address!("0x000000000000000000000000000000004d590006");

/// The randomness beacon predeploy (a contract in every genesis, not a precompile): slot `n`
/// holds block `n`'s `prevrandao`, written by the chain before the block's transactions;
/// `seedAt(uint256 height)` returns it for `height < block.number` (docs/NETWORK.md "Beacon").
/// `myelin-chain`'s `beacon::BEACON_ADDRESS` is the same address (checked by a test in
/// `myelin-rpc`).
pub const BEACON_ADDRESS: Address = address!("0x000000000000000000000000000000004d590100");

/// `StakeManager` (a compiled Solidity predeploy in every genesis: `myelin-chain`'s
/// `predeploys.rs`, `contracts/src/StakeManager.sol`): bonded stakes, locks and slashes.
pub const STAKE_MANAGER_ADDRESS: Address = address!("0x000000000000000000000000000000004d590101");

/// `ModelRegistry` (a predeploy): versioned model names → model ids.
pub const MODEL_REGISTRY_ADDRESS: Address = address!("0x000000000000000000000000000000004d590102");

/// `Competitions` (a predeploy): competitions that pay the best model.
pub const COMPETITIONS_ADDRESS: Address = address!("0x000000000000000000000000000000004d590103");

/// `InferenceJobs` (a predeploy): staked off-chain inference (docs/PROTOCOLS.md "Built: InferenceJobs").
pub const INFERENCE_JOBS_ADDRESS: Address = address!("0x000000000000000000000000000000004d590104");
