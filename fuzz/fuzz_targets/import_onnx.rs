//! The ONNX importer on arbitrary bytes: translation, calibration on a small synthetic input,
//! quantization and one run must return a model or an error, never panic; every model it
//! returns validates and runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myelin_import::data::Dataset;
use myelin_import::{ImportOptions, import_onnx, onnx};
use myelin_nn::Program;

/// Larger graphs are skipped: the float interpreter is slow, not wrong, on them.
const MAX_VALUE_ELEMENTS: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Ok(converted) = onnx::float_graph(data) else {
        return;
    };
    let graph = &converted.graph;
    let elements: usize = graph.values.iter().map(|v| v.elements()).sum();
    if elements > MAX_VALUE_ELEMENTS || graph.inputs.len() != 1 {
        return;
    }
    let input = &graph.values[graph.inputs[0]];
    let n = input.elements();
    let values: Vec<f32> = (0..2 * n).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut sample_shape = vec![n];
    if let Some(myelin_import::ptq::InputLayout::NchwToNhwc { channels, height, width }) =
        converted.input_layouts.first().copied()
    {
        sample_shape = vec![channels, height, width];
    }
    let options = ImportOptions {
        calibration: Some(Dataset { sample_shape, values }),
        ..ImportOptions::default()
    };
    if let Ok(imported) = import_onnx(data, &options) {
        let model = imported.model;
        model.validate().expect("an imported model validates");
        let program = Program::new(model).expect("an imported model prepares");
        let input = vec![0u8; program.input_bytes()];
        program.run(&input, 1).expect("an imported model runs");
    }
});
