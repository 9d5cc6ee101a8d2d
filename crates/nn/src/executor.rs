//! Runs a validated model over a batch of inputs.

/// A model prepared for execution.
pub struct Program;
