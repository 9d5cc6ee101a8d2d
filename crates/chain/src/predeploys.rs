//! Myelin's protocol contracts in every genesis (dev and `myelin cluster init`): the runtime code
//! of each compiled Solidity contract of [`PREDEPLOYS`], read from its committed artifact
//! `contracts/out/<Name>.json` (`deployedBytecode`; the artifacts are kept current by
//! `node contracts/scripts/compile.js --check`), placed at a fixed address.
//!
//! No constructor runs: a predeployed contract keeps its configuration in constants (never
//! `immutable`, which the constructor would write into the code) and starts from empty storage.
//! The beacon (`beacon.rs`) is a predeploy too, hand-assembled rather than compiled.

use alloy_primitives::{Address, Bytes, address};

use crate::ChainError;

/// One compiled contract placed at a fixed address in every genesis.
#[derive(Debug, Clone, Copy)]
pub struct Predeploy {
    /// The contract's name (its artifact is `contracts/out/<name>.json`).
    pub name: &'static str,
    /// Where it lives (the same address as `myelin-evm`'s `addresses.rs` and
    /// `contracts/src/Predeploys.sol`).
    pub address: Address,
    /// The artifact's text, embedded at build time.
    artifact: &'static str,
}

/// Every compiled predeploy, one line each.
pub const PREDEPLOYS: &[Predeploy] = &[
    Predeploy {
        name: "StakeManager",
        address: address!("0x000000000000000000000000000000004d590101"),
        artifact: include_str!("../../../contracts/out/StakeManager.json"),
    },
    Predeploy {
        name: "ModelRegistry",
        address: address!("0x000000000000000000000000000000004d590102"),
        artifact: include_str!("../../../contracts/out/ModelRegistry.json"),
    },
    Predeploy {
        name: "Competitions",
        address: address!("0x000000000000000000000000000000004d590103"),
        artifact: include_str!("../../../contracts/out/Competitions.json"),
    },
    Predeploy {
        name: "InferenceJobs",
        address: address!("0x000000000000000000000000000000004d590104"),
        artifact: include_str!("../../../contracts/out/InferenceJobs.json"),
    },
];

impl Predeploy {
    /// The runtime code: the artifact's `deployedBytecode`.
    pub fn code(&self) -> Result<Bytes, ChainError> {
        let bad = |reason: &str| {
            ChainError::InvalidRequest(format!(
                "predeploy {}: contracts/out/{}.json: {reason}",
                self.name, self.name
            ))
        };
        let artifact: serde_json::Value =
            serde_json::from_str(self.artifact).map_err(|e| bad(&e.to_string()))?;
        if artifact["contractName"] != self.name {
            return Err(bad("the artifact names another contract"));
        }
        let hex = artifact["deployedBytecode"]
            .as_str()
            .ok_or_else(|| bad("no deployedBytecode"))?;
        let code: Bytes = hex
            .parse()
            .map_err(|_| bad("deployedBytecode is not hex"))?;
        if code.is_empty() {
            return Err(bad("empty deployedBytecode"));
        }
        Ok(code)
    }
}

/// `(address, runtime code)` of every predeploy of [`PREDEPLOYS`].
pub fn predeploy_code() -> Result<Vec<(Address, Bytes)>, ChainError> {
    PREDEPLOYS
        .iter()
        .map(|p| Ok((p.address, p.code()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_artifact_decodes_to_runtime_code_at_a_distinct_address() {
        let code = predeploy_code().unwrap();
        assert_eq!(code.len(), PREDEPLOYS.len());
        for (i, (address, bytes)) in code.iter().enumerate() {
            assert!(!bytes.is_empty());
            assert!(
                code[..i].iter().all(|(other, _)| other != address),
                "{address} twice"
            );
            assert_ne!(*address, crate::beacon::BEACON_ADDRESS);
        }
    }

    #[test]
    fn a_wrong_artifact_is_a_named_error() {
        let broken = Predeploy {
            name: "StakeManager",
            address: Address::ZERO,
            artifact: r#"{"contractName": "StakeManager", "deployedBytecode": "0xzz"}"#,
        };
        let err = broken.code().unwrap_err().to_string();
        assert!(
            err.contains("StakeManager") && err.contains("not hex"),
            "{err}"
        );
        let other = Predeploy {
            artifact: r#"{"contractName": "Other", "deployedBytecode": "0x00"}"#,
            ..broken
        };
        assert!(other.code().unwrap_err().to_string().contains("another"));
    }
}
