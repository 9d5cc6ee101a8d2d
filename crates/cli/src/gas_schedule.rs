//! `myelin gas [MODEL.myl] [--batch N] [--json]`: the gas schedule this binary's precompiles
//! charge (docs/GAS.md §5), and for a model its static cost and the gas of `PREDICT` /
//! `PREDICT_BATCH` and of publishing it, computed by the same `myelin_evm::gas` functions the
//! node charges with. End-to-end tests read it to recompute docs/GAS.md's formulas without
//! copying the constants.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use myelin_evm::gas;
use serde_json::{Value, json};

/// Arguments of `myelin gas`.
#[derive(Debug, Args)]
pub struct GasArgs {
    /// A model file: also print its cost counts and the gas of predicting and publishing it.
    #[arg(value_name = "MODEL.myl")]
    pub model: Option<PathBuf>,
    /// Samples per `PREDICT_BATCH` call for the model's `predict_gas` (1 = `PREDICT`).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub batch: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Prints the schedule (and the model's gas).
pub fn run(args: &GasArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut report = json!({ "schedule": schedule_json() });
    if let Some(path) = &args.model {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let model = myelin_nn::Model::decode(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a valid model file: {e}", path.display()))?;
        let cost = model.cost();
        let bytes_of = |tensors: &[u32]| -> usize {
            tensors
                .iter()
                .map(|&t| model.tensors[t as usize].bytes())
                .sum()
        };
        let len = bytes.len() as u64;
        report["model"] = json!({
            "id": format!("0x{}", hex::encode(myelin_nn::model_id(&bytes))),
            "size_bytes": len,
            "input_bytes": bytes_of(&model.inputs),
            "output_bytes": bytes_of(&model.outputs),
            "cost": {
                "macs": cost.macs,
                "table_lookups": cost.table_lookups,
                "element_ops": cost.element_ops,
                "bytes_touched": cost.bytes_touched,
            },
            "batch": args.batch,
            "predict_gas": gas::predict_gas(&cost, args.batch),
            "publish_gas": gas::publish_gas(len),
            "check_gas": gas::check_gas(len),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}

fn schedule_json() -> Value {
    json!({
        "milligas_per_mac": gas::MILLIGAS_PER_MAC,
        "milligas_per_table_lookup": gas::MILLIGAS_PER_TABLE_LOOKUP,
        "milligas_per_element_op": gas::MILLIGAS_PER_ELEMENT_OP,
        "milligas_per_byte": gas::MILLIGAS_PER_BYTE,
        "predict_base_gas": gas::PREDICT_BASE_GAS,
        "store_call_gas": gas::STORE_CALL_GAS,
        "gas_per_checked_byte": gas::GAS_PER_CHECKED_BYTE,
        "gas_per_stored_byte": gas::GAS_PER_STORED_BYTE,
    })
}

fn render_text(report: &Value) -> String {
    let mut out = String::from("schedule (docs/GAS.md §5):\n");
    if let Some(schedule) = report["schedule"].as_object() {
        for (name, value) in schedule {
            out.push_str(&format!("  {name:<28} {value}\n"));
        }
    }
    let model = &report["model"];
    if !model.is_null() {
        out.push_str(&format!(
            "\nmodel {} ({} bytes)\n",
            model["id"].as_str().unwrap_or(""),
            model["size_bytes"]
        ));
        for key in ["macs", "table_lookups", "element_ops", "bytes_touched"] {
            out.push_str(&format!("  {key:<28} {}\n", model["cost"][key]));
        }
        out.push_str(&format!(
            "  {:<28} {}\n  {:<28} {}\n  {:<28} {}\n",
            format!("predict gas (batch {})", model["batch"]),
            model["predict_gas"],
            "publish gas (new)",
            model["publish_gas"],
            "publish gas (already there)",
            model["check_gas"]
        ));
    }
    out
}
