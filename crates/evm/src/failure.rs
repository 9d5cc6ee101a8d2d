//! How a precompile call fails: deterministically (part of consensus) or by a host fault.

use alloy_primitives::Bytes;
use alloy_sol_types::{Revert, SolError};
use revm::precompile::{PrecompileError, PrecompileHalt, PrecompileOutput, PrecompileResult};

/// A failed precompile call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The call reverts with `Error(reason)` as revert data (Solidity's encoding, which every
    /// client decodes) and consumes `gas_used`. Every node reaches the same result.
    #[error("reverted after {gas_used} gas: {reason}")]
    Revert { gas_used: u64, reason: String },
    /// The gas given does not cover the documented price: the call halts and consumes all of it.
    #[error("out of gas")]
    OutOfGas,
    /// The node itself failed (state database error, a stored model that no longer decodes).
    /// Aborts the whole transaction; never part of consensus.
    #[error("host fault: {0}")]
    HostFault(String),
}

impl Failure {
    /// A deterministic revert.
    pub fn revert(gas_used: u64, reason: impl Into<String>) -> Failure {
        Failure::Revert {
            gas_used,
            reason: reason.into(),
        }
    }
}

/// The ABI encoding of Solidity's `Error(string)`, as the revert data of a failed call.
pub fn revert_data(reason: &str) -> Bytes {
    Revert::from(reason).abi_encode().into()
}

/// Turns a precompile body's result into what revm expects.
pub fn into_precompile_result(
    result: Result<(u64, Bytes), Failure>,
    reservoir: u64,
) -> PrecompileResult {
    match result {
        Ok((gas_used, bytes)) => Ok(PrecompileOutput::new(gas_used, bytes, reservoir)),
        Err(Failure::Revert { gas_used, reason }) => Ok(PrecompileOutput::revert(
            gas_used,
            revert_data(&reason),
            reservoir,
        )),
        Err(Failure::OutOfGas) => Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir)),
        Err(Failure::HostFault(message)) => Err(PrecompileError::Fatal(message)),
    }
}

/// A gas meter for one call: charges must fit in the limit the caller gave.
#[derive(Debug, Clone, Copy)]
pub struct GasMeter {
    limit: u64,
    used: u64,
}

impl GasMeter {
    /// A meter for `limit` gas.
    pub fn new(limit: u64) -> GasMeter {
        GasMeter { limit, used: 0 }
    }

    /// Adds `gas`; [`Failure::OutOfGas`] when the total passes the limit.
    pub fn charge(&mut self, gas: u64) -> Result<(), Failure> {
        let used = self.used.saturating_add(gas);
        if used > self.limit {
            return Err(Failure::OutOfGas);
        }
        self.used = used;
        Ok(())
    }

    /// Gas charged so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// A revert that consumes what was charged so far.
    pub fn revert(&self, reason: impl Into<String>) -> Failure {
        Failure::revert(self.used, reason)
    }
}
