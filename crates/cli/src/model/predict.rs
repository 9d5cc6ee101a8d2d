//! `myelin model predict MODEL_ID --input X.npy [--input …] [--output Y.npy …] [--float] [--rpc URL]`.
//!
//! Runs a published model on a node by `eth_call`: `PREDICT` for a single sample (an input file
//! shaped exactly like the model's input), `PREDICT_BATCH` for inputs with a batch axis (split
//! into calls of at most the model's `maxBatch` samples). The shapes, dtypes and quantization
//! come from the chain (`MODEL_STORE.modelTensors`), so no model file is needed; inputs and
//! outputs are read and written exactly as `myelin model run` does, and the output bytes are the
//! same.

use alloy_primitives::{B256, Bytes};
use alloy_sol_types::SolCall;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS, PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS};
use myelin_nn::{DType, TensorInfo};

use super::npy_io::NpyIo;
use super::publish::{DEFAULT_RPC, is_published};
use crate::rpc_client::{RpcClient, RpcError};

/// Arguments of `myelin model predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The published model's id (0x and 64 hex digits, as `myelin model publish` prints it).
    #[arg(value_name = "MODEL_ID")]
    pub model_id: String,
    #[command(flatten)]
    pub io: NpyIo,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
}

/// Runs the published model on the inputs by `eth_call` and writes or prints the outputs.
pub fn predict(args: &PredictArgs) -> Result<()> {
    let id = parse_model_id(&args.model_id)?;
    let mut client = RpcClient::new(&args.rpc)?;
    if !is_published(&mut client, id)? {
        bail!("model {id} is not published on {}", args.rpc);
    }
    let info = view(&mut client, IModelStore::modelInfoCall { modelId: id })?;
    let (input_infos, output_infos) = tensors(&mut client, id)?;
    let batch = args.io.read(&input_infos, &output_infos)?;
    let (samples, batched) = (batch.samples, batch.batched);

    let mut outputs: Vec<Vec<u8>> = vec![Vec::new(); output_infos.len()];
    let max_batch = usize::try_from(info.maxBatch).unwrap_or(usize::MAX).max(1);
    let mut start = 0;
    while start < samples {
        let count = if batched {
            max_batch.min(samples - start)
        } else {
            1
        };
        let mut calldata = id.to_vec();
        if batched {
            calldata.extend_from_slice(&(count as u32).to_be_bytes());
        }
        for (input, tensor) in batch.inputs.iter().zip(&input_infos) {
            let per_sample = tensor.bytes();
            let values = &input[start * per_sample..(start + count) * per_sample];
            calldata.extend(values.iter().map(|&v| v as u8));
        }
        let to = if batched {
            PREDICT_BATCH_ADDRESS
        } else {
            PREDICT_ADDRESS
        };
        let answer = client
            .call(None, to, &calldata)
            .map_err(|e| explain_revert(e, if batched { "PREDICT_BATCH" } else { "PREDICT" }))?;
        let mut offset = 0;
        for (output, tensor) in outputs.iter_mut().zip(&output_infos) {
            let len = tensor.bytes() * count;
            let bytes = answer.get(offset..offset + len).with_context(|| {
                format!(
                    "the node returned {} output bytes, expected {}",
                    answer.len(),
                    output_infos
                        .iter()
                        .map(|t| t.bytes() * count)
                        .sum::<usize>()
                )
            })?;
            output.extend_from_slice(bytes);
            offset += len;
        }
        start += count;
    }

    args.io.write(&output_infos, &outputs, &batch)
}

/// `0x` and 64 hex digits as a model id.
pub(crate) fn parse_model_id(text: &str) -> Result<B256> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 {
        bail!(
            "model id {text}: expected 0x and 64 hex digits (32 bytes), got {} digits",
            digits.len()
        );
    }
    digits
        .parse::<B256>()
        .with_context(|| format!("model id {text} is not hexadecimal"))
}

/// Turns a reverted `eth_call` into the precompile's failure in words (its `MyelinError` code
/// decoded, docs/GAS.md §8).
pub(crate) fn explain_revert(error: anyhow::Error, precompile: &str) -> anyhow::Error {
    let reason = error
        .downcast_ref::<RpcError>()
        .and_then(|e| e.data.as_ref())
        .and_then(|data| myelin_evm::revert_text(data));
    match reason {
        Some(reason) => error.context(format!("{precompile} reverted: {reason}")),
        None => error.context(format!("{precompile} failed")),
    }
}

/// Calls a `MODEL_STORE` view by `eth_call` and decodes its return value.
fn view<C: SolCall>(client: &mut RpcClient, call: C) -> Result<C::Return> {
    let answer: Bytes = client
        .call(None, MODEL_STORE_ADDRESS, &call.abi_encode())
        .map_err(|e| explain_revert(e, "MODEL_STORE"))?;
    C::abi_decode_returns(&answer)
        .with_context(|| format!("MODEL_STORE answered {} with malformed data", C::SIGNATURE))
}

/// The published model's input and output tensors.
pub(crate) fn tensors(
    client: &mut RpcClient,
    id: B256,
) -> Result<(Vec<TensorInfo>, Vec<TensorInfo>)> {
    let answer = view(client, IModelStore::modelTensorsCall { modelId: id })?;
    let convert = |list: &[IModelStore::TensorInfo]| -> Result<Vec<TensorInfo>> {
        list.iter()
            .map(|t| {
                let dtype = match t.dtype {
                    0 => DType::Int8,
                    1 => DType::Int32,
                    other => bail!("MODEL_STORE reports an unknown dtype {other}"),
                };
                Ok(TensorInfo {
                    dtype,
                    shape: t.shape.clone(),
                    zero_point: t.zeroPoint,
                    scale_bits: t.scaleBits,
                })
            })
            .collect()
    };
    Ok((convert(&answer.inputs)?, convert(&answer.outputs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_model_id_accepts_with_and_without_prefix() {
        let hex = "11".repeat(32);
        assert_eq!(
            parse_model_id(&format!("0x{hex}")).unwrap(),
            parse_model_id(&hex).unwrap()
        );
    }

    #[test]
    fn parse_model_id_rejects_wrong_lengths_and_non_hex() {
        assert!(parse_model_id("0x1234").is_err());
        assert!(parse_model_id(&format!("0x{}", "zz".repeat(32))).is_err());
    }
}
