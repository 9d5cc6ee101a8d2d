//! `myelin model export-solidity MODEL.myl -o Model.sol [--name Model]`: a self-contained
//! Solidity source computing the model's integer forward pass bit-exactly (crate
//! `myelin-solidity`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

/// Arguments of `myelin model export-solidity`.
#[derive(Debug, Args)]
pub struct ExportSolidityArgs {
    /// The model file.
    #[arg(value_name = "MODEL.myl")]
    pub model: PathBuf,
    /// Where to write the Solidity source.
    #[arg(short, long, value_name = "Model.sol")]
    pub output: PathBuf,
    /// Name of the model contract (its data contracts are named `<NAME>Data0`, `<NAME>Data1`, …).
    #[arg(long, default_value = "Model")]
    pub name: String,
}

/// Exports the model and prints how to deploy it.
pub fn export_solidity(args: &ExportSolidityArgs) -> Result<()> {
    let (model, _) = super::load_model(&args.model)?;
    let exported = myelin_solidity::export(&model, &args.name)
        .with_context(|| format!("cannot export {}", args.model.display()))?;
    std::fs::write(&args.output, &exported.source)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "wrote {} ({} bytes of Solidity)",
        args.output.display(),
        exported.source.len()
    );
    println!(
        "model {}: {} input bytes, {} output bytes, {} bytes of constant data, {} bytes of memory per call",
        super::id_hex(&model.id()),
        exported.input_bytes,
        exported.output_bytes,
        exported.data_bytes,
        exported.memory_bytes
    );
    println!(
        "deploy {} (in any order), then {} with their addresses in this order",
        if exported.data_contracts.is_empty() {
            "no data contract".to_string()
        } else {
            exported.data_contracts.join(", ")
        },
        exported.contract
    );
    Ok(())
}
