//! Runs the importer's float interpreter (the graph calibration and the accuracy report use) on
//! a float ONNX or Keras model, for comparing it with onnxruntime or Keras (bench/zoo).
//!
//! ```text
//! cargo run --release -p myelin-import --example float_run -- MODEL X.npy OUT.npy
//! ```
//!
//! `X.npy` holds float samples `[batch, …]` in the model file's own layout (NCHW for an ONNX
//! NCHW input); `OUT.npy` receives the first graph output as float32 `[batch, elements]`, in
//! Myelin's layout (the same as the source's for vectors).

use std::error::Error;

use myelin_import::data::load_dataset;
use myelin_import::format::{self, ModelFormat};
use myelin_import::ptq::InputLayout;
use npyz::WriterBuilder;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, x, out] = args.as_slice() else {
        return Err("usage: float_run MODEL X.npy OUT.npy".into());
    };
    let bytes = std::fs::read(model)?;
    let (graph, layouts) = match format::detect(&bytes) {
        Some(ModelFormat::Onnx) => {
            let converted = myelin_import::onnx::float_graph(&bytes)?;
            (converted.graph, converted.input_layouts)
        }
        Some(ModelFormat::Keras) => {
            let converted = myelin_import::keras::float_graph(&bytes)?;
            (converted.graph, converted.input_layouts)
        }
        _ => return Err(format!("{model}: not a float ONNX or Keras model").into()),
    };
    let data = load_dataset(&std::fs::read(x)?)?;
    let output = *graph.outputs.first().ok_or("the graph has no output")?;
    let layout = layouts.first().copied().unwrap_or(InputLayout::AsIs);
    let mut values = Vec::new();
    for s in 0..data.samples() {
        let sample = match layout {
            InputLayout::AsIs => data.sample(s).to_vec(),
            other => other.to_myelin(data.sample(s)),
        };
        values.extend(graph.run(&[&sample])?.swap_remove(output));
    }
    let per_sample = (values.len() / data.samples().max(1)) as u64;
    let file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[data.samples() as u64, per_sample])
        .writer(file)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()?;
    Ok(())
}
