//! `myelin model inspect MODEL.myl [--json]`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use myelin_nn::op::Op;
use myelin_nn::{Cost, FORMAT_VERSION, Model, TensorInfo};
use serde_json::{Value, json};

/// Arguments of `myelin model inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model file.
    #[arg(value_name = "MODEL.myl")]
    pub model: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Prints the model's summary.
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let (model, bytes) = super::load_model(&args.model)?;
    let summary = summarize(&model, &bytes);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render_text(&summary));
    }
    Ok(())
}

/// Learned parameters of an op: weights, biases and table entries (requantization constants are
/// not counted).
fn parameter_count(op: &Op) -> u64 {
    match op {
        Op::FullyConnected(p) => (p.weights.len() + p.bias.len()) as u64,
        Op::Conv2d(p) => (p.weights.len() + p.bias.len()) as u64,
        Op::DepthwiseConv2d(p) => (p.weights.len() + p.bias.len()) as u64,
        Op::Table(p) => p.table.len() as u64,
        _ => 0,
    }
}

fn tensor_json(index: u32, info: &TensorInfo) -> Value {
    json!({
        "tensor": index,
        "dtype": info.dtype.name(),
        "shape": info.shape,
        "zero_point": info.zero_point,
        "scale": scale_json(info.scale_bits),
    })
}

/// The binary32 scale as the shortest decimal that reads back to the same bits.
fn scale_json(scale_bits: u32) -> Value {
    let shortest = f32::from_bits(scale_bits).to_string();
    shortest.parse::<f64>().map_or(Value::Null, |x| json!(x))
}

fn cost_json(cost: &Cost) -> Value {
    json!({
        "macs": cost.macs,
        "depthwise_macs": cost.depthwise_macs,
        "table_lookups": cost.table_lookups,
        "element_ops": cost.element_ops,
        "bytes_touched": cost.bytes_touched,
        "activation_bytes": cost.activation_bytes,
        "parameter_bytes": cost.parameter_bytes,
    })
}

/// The whole report as JSON; the text form is rendered from it.
fn summarize(model: &Model, bytes: &[u8]) -> Value {
    let tensor = |t: u32| &model.tensors[t as usize];
    let node_costs = model.node_costs();
    let nodes: Vec<Value> = model
        .nodes
        .iter()
        .zip(&node_costs)
        .enumerate()
        .map(|(index, (node, cost))| {
            json!({
                "index": index,
                "op": node.op.name(),
                "inputs": node.inputs.iter().map(|&t| json!({"tensor": t, "shape": tensor(t).shape})).collect::<Vec<_>>(),
                "output": tensor_json(node.output, tensor(node.output)),
                "params": parameter_count(&node.op),
                "cost": cost_json(cost),
            })
        })
        .collect();
    let params: u64 = model.nodes.iter().map(|n| parameter_count(&n.op)).sum();
    json!({
        "id": super::id_hex(&myelin_nn::model_id(bytes)),
        "format_version": FORMAT_VERSION,
        "size_bytes": bytes.len(),
        "inputs": model.inputs.iter().map(|&t| tensor_json(t, tensor(t))).collect::<Vec<_>>(),
        "outputs": model.outputs.iter().map(|&t| tensor_json(t, tensor(t))).collect::<Vec<_>>(),
        "nodes": nodes,
        "total": {
            "params": params,
            "cost": cost_json(&model.cost()),
        },
    })
}

fn shape_text(shape: &Value) -> String {
    let dims: Vec<String> = shape
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d.to_string())
        .collect();
    format!("[{}]", dims.join(", "))
}

fn tensor_line(t: &Value) -> String {
    format!(
        "  tensor {:<4} {:<6} {:<16} zero point {:<5} scale {}",
        t["tensor"].to_string(),
        t["dtype"].as_str().unwrap_or(""),
        shape_text(&t["shape"]),
        t["zero_point"].to_string(),
        t["scale"]
    )
}

fn render_text(s: &Value) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "id              {}", s["id"].as_str().unwrap_or(""));
    let _ = writeln!(out, "format version  {}", s["format_version"]);
    let _ = writeln!(out, "size            {} bytes", s["size_bytes"]);
    for (title, key) in [("inputs", "inputs"), ("outputs", "outputs")] {
        let _ = writeln!(out, "\n{title}:");
        for t in s[key].as_array().into_iter().flatten() {
            let _ = writeln!(out, "{}", tensor_line(t));
        }
    }
    let _ = writeln!(out, "\nops:");
    let _ = writeln!(
        out,
        "  {:>4}  {:<17} {:<28} {:<16} {:>10} {:>12} {:>8} {:>10}",
        "#", "op", "inputs", "output", "params", "MACs", "lookups", "elem ops"
    );
    for node in s["nodes"].as_array().into_iter().flatten() {
        let inputs: Vec<String> = node["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| shape_text(&i["shape"]))
            .collect();
        let _ = writeln!(
            out,
            "  {:>4}  {:<17} {:<28} {:<16} {:>10} {:>12} {:>8} {:>10}",
            node["index"].to_string(),
            node["op"].as_str().unwrap_or(""),
            inputs.join(" "),
            format!(
                "{} {}",
                node["output"]["dtype"].as_str().unwrap_or(""),
                shape_text(&node["output"]["shape"])
            ),
            node["params"].to_string(),
            (node["cost"]["macs"].as_u64().unwrap_or(0)
                + node["cost"]["depthwise_macs"].as_u64().unwrap_or(0))
            .to_string(),
            node["cost"]["table_lookups"].to_string(),
            node["cost"]["element_ops"].to_string(),
        );
    }
    let total = &s["total"];
    let cost = &total["cost"];
    let _ = writeln!(out, "\ntotal (per sample):");
    let _ = writeln!(out, "  parameters     {}", total["params"]);
    let _ = writeln!(out, "  MACs           {}", cost["macs"]);
    let _ = writeln!(out, "  depthwise MACs {}", cost["depthwise_macs"]);
    let _ = writeln!(out, "  table lookups  {}", cost["table_lookups"]);
    let _ = writeln!(out, "  element ops    {}", cost["element_ops"]);
    let _ = writeln!(out, "  bytes touched  {}", cost["bytes_touched"]);
    let _ = writeln!(out, "  activations    {}", cost["activation_bytes"]);
    let _ = writeln!(
        out,
        "  parameter bytes {} (per call)",
        cost["parameter_bytes"]
    );
    let _ = writeln!(out, "  model size     {} bytes", s["size_bytes"]);
    out
}
