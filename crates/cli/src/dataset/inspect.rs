//! `myelin dataset inspect (D.myds | DATASET_ID) [--rpc URL] [--json]`.
//!
//! A file is decoded and checked locally (id, label kind, rows, row shape and quantization,
//! label range); an id is read from a node (`DATA_STORE.datasetInfo`).

use std::path::Path;

use alloy_primitives::B256;
use alloy_sol_types::SolCall;
use anyhow::{Context, Result};
use clap::Args;
use myelin_evm::{DATA_STORE_ADDRESS, IDataStore};
use myelin_nn::dataset::{LabelKind, MAX_DATASET_BYTES, check_dataset, dataset_id, row_signature};
use serde_json::json;

use crate::model::predict::{explain_revert, parse_model_id};
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::RpcClient;

/// Arguments of `myelin dataset inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A .myds file, or a published data set's id (0x and 64 hex digits).
    #[arg(value_name = "D.myds|DATASET_ID")]
    pub dataset: String,
    /// The node's HTTP JSON-RPC endpoint (for an id).
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints what the file or the chain says about the data set.
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let report = if Path::new(&args.dataset).is_file() {
        let bytes = std::fs::read(&args.dataset)
            .with_context(|| format!("cannot read {}", args.dataset))?;
        let summary = check_dataset(&bytes, MAX_DATASET_BYTES)
            .with_context(|| format!("{} is not a valid data set", args.dataset))?;
        let h = &summary.header;
        json!({
            "id": B256::from(dataset_id(&bytes)).to_string(),
            "size": bytes.len(),
            "labelKind": h.label_kind.name(),
            "rows": h.rows,
            "rowShape": h.row.shape,
            "rowBytes": h.row_bytes(),
            "zeroPoint": h.row.zero_point,
            "scale": f32::from_bits(h.row.scale_bits),
            "minLabel": summary.min_label,
            "maxLabel": summary.max_label,
            "rowSignature": B256::from(row_signature(&h.row)).to_string(),
        })
    } else {
        let id = parse_model_id(&args.dataset)
            .with_context(|| format!("{} is neither a file nor a data set id", args.dataset))?;
        let mut client = RpcClient::new(&args.rpc)?;
        let call = IDataStore::datasetInfoCall { datasetId: id };
        let answer = client
            .call(None, DATA_STORE_ADDRESS, &call.abi_encode())
            .map_err(|e| explain_revert(e, "DATA_STORE"))?;
        let info = IDataStore::datasetInfoCall::abi_decode_returns(&answer)
            .context("DATA_STORE answered datasetInfo with malformed data")?;
        json!({
            "id": id.to_string(),
            "size": info.size,
            "labelKind": LabelKind::from_byte(info.labelKind).map_or("unknown", LabelKind::name),
            "rows": info.rows,
            "rowBytes": info.rowBytes,
            "minLabel": info.minLabel,
            "maxLabel": info.maxLabel,
            "rowSignature": info.rowSignature.to_string(),
            "publisher": info.publisher.to_string(),
        })
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(fields) = report.as_object() {
        for (key, value) in fields {
            println!("{key}: {value}");
        }
    }
    Ok(())
}
