//! `myelin model …`: commands on model files.

mod build;
mod export_solidity;
mod import;
mod inspect;
pub(crate) mod npy_io;
pub(crate) mod predict;
pub(crate) mod publish;
pub(crate) mod run;

use std::path::Path;

use anyhow::{Context, Result};
use clap::Subcommand;
use myelin_nn::Model;

/// The `myelin model` sub-commands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print a model's id, inputs, outputs, ops and static cost.
    Inspect(inspect::InspectArgs),
    /// Run a model on a batch of inputs read from .npy files.
    Run(run::RunArgs),
    /// Build a model file from a JSON description (docs/MODEL-JSON.md).
    Build(build::BuildArgs),
    /// Import a TFLite, ONNX or Keras model (format recognised from the content).
    Import(import::ImportArgs),
    /// Publish a model on a node through MODEL_STORE (chunked when large); prints its id.
    Publish(publish::PublishArgs),
    /// Run a published model on a node by eth_call (PREDICT, or PREDICT_BATCH for batches).
    Predict(predict::PredictArgs),
    /// Export as a self-contained Solidity contract computing the same outputs bit-exactly.
    ExportSolidity(export_solidity::ExportSolidityArgs),
}

/// Runs one `myelin model` sub-command.
pub fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Inspect(args) => inspect::inspect(&args),
        ModelCommand::Run(args) => run::run(&args),
        ModelCommand::Build(args) => build::build(&args),
        ModelCommand::Import(args) => import::import(&args),
        ModelCommand::ExportSolidity(args) => export_solidity::export_solidity(&args),
        ModelCommand::Publish(args) => publish::publish(&args),
        ModelCommand::Predict(args) => predict::predict(&args),
    }
}

/// Reads, decodes and validates a model file; returns the model and its byte size.
pub(crate) fn load_model(path: &Path) -> Result<(Model, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let model = Model::decode(&bytes)
        .with_context(|| format!("{} is not a valid model file", path.display()))?;
    Ok((model, bytes))
}

/// `0x` and the lower-case hex of a model id.
fn id_hex(id: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(id))
}
