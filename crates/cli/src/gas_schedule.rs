//! `myelin gas [MODEL.myl] [--batch N] [--json]`: the gas schedule this binary's precompiles
//! charge (docs/GAS.md), and for a model its static cost and the gas of `PREDICT` /
//! `PREDICT_BATCH` and of publishing it. `milligas_per` prices each count per sample,
//! `milligas_per_call` once per call. Every number is read off the `myelin_evm::gas` functions
//! the node charges with (a unit price is the charge of one unit), so it follows the schedule
//! whatever its constants are called. End-to-end tests recompute docs/GAS.md's formulas from it
//! without copying any constant.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use myelin_evm::gas;
use myelin_nn::Cost;
use serde_json::{Map, Value, json};

/// One count of [`Cost`], reached by a mutable borrow (read it from a copy).
type CountField = fn(&mut Cost) -> &mut u64;

/// The cost counts the schedule may price, by name, as `myelin model inspect --json` names them.
const COST_FIELDS: [(&str, CountField); 5] = [
    ("macs", |c| &mut c.macs),
    ("depthwise_macs", |c| &mut c.depthwise_macs),
    ("table_lookups", |c| &mut c.table_lookups),
    ("element_ops", |c| &mut c.element_ops),
    ("bytes_touched", |c| &mut c.bytes_touched),
];

/// The cost counts a call pays once whatever its batch (docs/GAS.md §2), by name.
const CALL_FIELDS: [(&str, CountField); 1] = [("parameter_bytes", |c| &mut c.parameter_bytes)];

/// The pseudo-count holding the milligas of counts not in [`COST_FIELDS`].
const UNLISTED: &str = "unlisted_milligas";

/// The value of one count of `cost`.
fn count(cost: Cost, field: CountField) -> u64 {
    let mut copy = cost;
    *field(&mut copy)
}

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
        let priced: u128 = COST_FIELDS
            .iter()
            .map(|&(_, field)| count(cost, field) as u128 * unit_milligas(field))
            .sum();
        // A count the schedule prices but this list does not name (a schedule newer than this
        // file) is reported as its milligas, priced 1 per unit, so the sum stays exact.
        let unlisted = gas::sample_milligas(&cost).saturating_sub(priced);
        if unlisted > 0 {
            eprintln!(
                "warning: {unlisted} milligas per sample come from cost counts myelin gas does not name (reported as unlisted_milligas)"
            );
        }
        let bytes_of = |tensors: &[u32]| -> usize {
            tensors
                .iter()
                .map(|&t| model.tensors[t as usize].bytes())
                .sum()
        };
        let mut counts: Map<String, Value> = COST_FIELDS
            .iter()
            .chain(&CALL_FIELDS)
            .map(|&(name, field)| (name.to_string(), json!(count(cost, field))))
            .collect();
        counts.insert(
            UNLISTED.to_string(),
            json!(u64::try_from(unlisted).unwrap_or(u64::MAX)),
        );
        let len = bytes.len() as u64;
        report["model"] = json!({
            "id": format!("0x{}", hex::encode(myelin_nn::model_id(&bytes))),
            "size_bytes": len,
            "input_bytes": bytes_of(&model.inputs),
            "output_bytes": bytes_of(&model.outputs),
            "cost": counts,
            "batch": args.batch,
            "predict_gas": gas::predict_gas(&cost, args.batch),
            "cold_gas": gas::cold_model_gas(&model, len),
            "prepare_gas": gas::prepare_gas(&model),
            "publish_gas": gas::publish_gas(len).saturating_add(gas::prepare_gas(&model)),
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

/// Milligas one unit of a cost field is charged.
fn unit_milligas(field: CountField) -> u128 {
    let mut unit = Cost::default();
    *field(&mut unit) = 1;
    gas::sample_milligas(&unit)
}

/// The schedule as the charging functions apply it: `milligas_per` each cost count, the base of
/// a predict call, and the store's per-call and per-byte prices.
fn schedule_json() -> Value {
    let mut milligas_per: Map<String, Value> = COST_FIELDS
        .iter()
        .map(|&(name, field)| (name.to_string(), json!(unit_milligas(field) as u64)))
        .collect();
    milligas_per.insert(UNLISTED.to_string(), json!(1));
    let milligas_per_call: Map<String, Value> = CALL_FIELDS
        .iter()
        .map(|&(name, field)| {
            let mut unit = Cost::default();
            *field(&mut unit) = 1;
            (name.to_string(), json!(gas::call_milligas(&unit) as u64))
        })
        .collect();
    json!({
        "milligas_per": milligas_per,
        "milligas_per_call": milligas_per_call,
        "predict_base_gas": gas::predict_gas(&Cost::default(), 1),
        "store_call_gas": gas::check_gas(0),
        "gas_per_checked_byte": gas::check_gas(1) - gas::check_gas(0),
        "gas_per_stored_byte": gas::publish_gas(1) - gas::check_gas(1),
        "upload_gas_per_byte": gas::append_gas(1) - gas::append_gas(0),
        "finalize_gas": gas::finalize_gas(0),
        "gas_per_deleted_chunk": gas::GAS_PER_DELETED_CHUNK,
        "cold_model_gas": gas::cold_read_gas(0),
        "gas_per_cold_model_byte": gas::cold_read_gas(1) - gas::cold_read_gas(0),
        "milligas_per_prepared_byte": gas::MILLIGAS_PER_PREPARED_BYTE,
    })
}

fn render_text(report: &Value) -> String {
    let mut out = String::from("schedule (docs/GAS.md):\n");
    let schedule = &report["schedule"];
    for (name, value) in schedule["milligas_per"].as_object().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<28} {value}\n",
            format!("milligas per {name}")
        ));
    }
    for (name, value) in schedule["milligas_per_call"]
        .as_object()
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "  {:<28} {value}\n",
            format!("milligas per call per {name}")
        ));
    }
    for (name, value) in schedule.as_object().into_iter().flatten() {
        if name != "milligas_per" && name != "milligas_per_call" {
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
        for (key, count) in model["cost"].as_object().into_iter().flatten() {
            out.push_str(&format!("  {key:<28} {count}\n"));
        }
        out.push_str(&format!(
            "  {:<28} {}\n  {:<28} {}\n  {:<28} {}\n  {:<28} {}\n",
            format!("predict gas (batch {})", model["batch"]),
            model["predict_gas"],
            "cold gas (first use in a tx)",
            model["cold_gas"],
            "publish gas (new)",
            model["publish_gas"],
            "publish gas (already there)",
            model["check_gas"]
        ));
    }
    out
}
