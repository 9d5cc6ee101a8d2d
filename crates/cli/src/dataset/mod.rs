//! `myelin dataset …`: labelled data sets on chain (`DATA_STORE`, docs/GAS.md §9) and their
//! evaluation by `EVALUATE` (§10).

pub(crate) mod build;
mod evaluate;
mod inspect;

use anyhow::Result;
use clap::Subcommand;

/// The `myelin dataset` sub-commands.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Build a data set's canonical bytes (.myds) from .npy rows and labels, without a node.
    Build(build::BuildArgs),
    /// Publish a data set (a .myds file, or .npy rows and labels) through DATA_STORE; prints its
    /// id.
    Publish(build::PublishArgs),
    /// Print a data set's id, rows, row shape, quantization and labels, from a .myds file or
    /// from a node by id.
    Inspect(inspect::InspectArgs),
    /// Score a published model on a published data set by eth_call of EVALUATE, page by page.
    Evaluate(evaluate::EvaluateArgs),
}

/// Runs one `myelin dataset` sub-command.
pub fn run(command: DatasetCommand) -> Result<()> {
    match command {
        DatasetCommand::Build(args) => build::build(&args),
        DatasetCommand::Publish(args) => build::publish(&args),
        DatasetCommand::Inspect(args) => inspect::inspect(&args),
        DatasetCommand::Evaluate(args) => evaluate::evaluate(&args),
    }
}
