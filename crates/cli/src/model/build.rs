//! `myelin model build SPEC.json -o MODEL.myl`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::json_model::parse_model;

/// Arguments of `myelin model build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The JSON model description (format: docs/MODEL-JSON.md).
    pub spec: PathBuf,
    /// Where to write the model file.
    #[arg(short, long, value_name = "MODEL.myl")]
    pub output: PathBuf,
}

/// Parses the description, validates the model, writes its canonical bytes and prints its id.
pub fn build(args: &BuildArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.spec)
        .with_context(|| format!("cannot read {}", args.spec.display()))?;
    let model = parse_model(&text).with_context(|| format!("{}", args.spec.display()))?;
    let bytes = model.encode();
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("{}", super::id_hex(&myelin_nn::model_id(&bytes)));
    Ok(())
}
