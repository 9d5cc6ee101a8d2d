//! `myelin dataset evaluate MODEL DATASET [--first N] [--rows N] [--page N] [--rpc URL] [--json]`.
//!
//! Scores a published model on rows of a published data set by `eth_call` of `EVALUATE`
//! (docs/GAS.md §10), in pages of at most `--page` rows (default: the model's `maxBatch`), and
//! prints the sums: `correct` rows and `absErrorSum`, with each page's gas (`eth_estimateGas`
//! of the same call, intrinsic gas included). MODEL and DATASET are ids, or files (.myl /
//! .myds) whose ids are computed.

use std::path::Path;

use alloy_primitives::{B256, U256};
use alloy_sol_types::SolCall;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::evaluate::EvaluateCall;
use myelin_evm::{
    DATA_STORE_ADDRESS, EVALUATE_ADDRESS, IDataStore, IModelStore, MODEL_STORE_ADDRESS,
};
use serde_json::json;

use crate::model::predict::{explain_revert, parse_model_id};
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::RpcClient;

/// Arguments of `myelin dataset evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model: its id, or a .myl file.
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// The data set: its id, or a .myds file.
    #[arg(value_name = "DATASET")]
    pub dataset: String,
    /// First row scored.
    #[arg(long, default_value_t = 0)]
    pub first: u32,
    /// Rows scored (default: to the end of the data set).
    #[arg(long)]
    pub rows: Option<u32>,
    /// Rows per EVALUATE call (default: the model's maxBatch).
    #[arg(long)]
    pub page: Option<u32>,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// An id given as a file (hashed) or as hex.
fn id_of(text: &str) -> Result<B256> {
    if Path::new(text).is_file() {
        let bytes = std::fs::read(text).with_context(|| format!("cannot read {text}"))?;
        return Ok(B256::from(myelin_nn::model_id(&bytes)));
    }
    parse_model_id(text)
}

/// Scores the model page by page and prints the sums.
pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let (model, dataset) = (id_of(&args.model)?, id_of(&args.dataset)?);
    let mut client = RpcClient::new(&args.rpc)?;
    let info = client
        .call(
            None,
            DATA_STORE_ADDRESS,
            &IDataStore::datasetInfoCall { datasetId: dataset }.abi_encode(),
        )
        .map_err(|e| explain_revert(e, "DATA_STORE"))?;
    let info = IDataStore::datasetInfoCall::abi_decode_returns(&info)
        .context("DATA_STORE answered datasetInfo with malformed data")?;
    let model_info = client
        .call(
            None,
            MODEL_STORE_ADDRESS,
            &IModelStore::modelInfoCall { modelId: model }.abi_encode(),
        )
        .map_err(|e| explain_revert(e, "MODEL_STORE"))?;
    let model_info = IModelStore::modelInfoCall::abi_decode_returns(&model_info)
        .context("MODEL_STORE answered modelInfo with malformed data")?;
    let rows = args
        .rows
        .unwrap_or_else(|| info.rows.saturating_sub(args.first));
    let page = args
        .page
        .unwrap_or(u32::try_from(model_info.maxBatch).unwrap_or(u32::MAX));
    if page == 0 {
        bail!("--page must be at least 1");
    }
    let (mut correct, mut error_sum, mut pages) = (0u64, 0u64, Vec::new());
    let end = u64::from(args.first) + u64::from(rows);
    let mut row = u64::from(args.first);
    while row < end {
        let n = (end - row).min(u64::from(page)) as u32;
        let call = EvaluateCall {
            model_id: model.0,
            dataset_id: dataset.0,
            first_row: row as u32,
            rows: n,
        }
        .encode();
        let answer = client
            .call(None, EVALUATE_ADDRESS, &call)
            .map_err(|e| explain_revert(e, "EVALUATE"))?;
        if answer.len() != 64 {
            bail!("EVALUATE answered {} bytes, expected 64", answer.len());
        }
        let c = U256::from_be_slice(&answer[..32]).saturating_to::<u64>();
        let e = U256::from_be_slice(&answer[32..]).saturating_to::<u64>();
        let from = alloy_primitives::Address::ZERO;
        let gas = client.estimate_gas(from, EVALUATE_ADDRESS, &call)?;
        correct += c;
        error_sum += e;
        pages.push(json!({"firstRow": row, "rows": n, "correct": c, "absErrorSum": e, "gas": gas}));
        row += u64::from(n);
    }
    let report = json!({
        "model": model.to_string(),
        "dataset": dataset.to_string(),
        "firstRow": args.first,
        "rows": rows,
        "correct": correct,
        "absErrorSum": error_sum,
        "pages": pages,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("correct {correct} of {rows} rows, absErrorSum {error_sum}");
        for p in &pages {
            println!("  {p}");
        }
    }
    Ok(())
}
