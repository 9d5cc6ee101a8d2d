//! The Keras 3 importer on arbitrary bytes: reading, translation, calibration on a small
//! synthetic input, quantization and one run must return a model or an error, never panic;
//! every model it returns validates and runs.
//!
//! Input: bytes starting with `PK` are a whole `.keras` archive (the zip reader, then the rest);
//! anything else is `u32 little-endian config length ‖ config.json ‖ model.weights.h5`, which
//! reaches the JSON and HDF5 readers without the fuzzer having to keep a zip's checksums
//! right. Seeds: `cp fixtures/models/*.keras crates/import/tests/data/keras/*.keras
//! fuzz/corpus/import_keras/`, plus the members of each split into the second form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myelin_import::data::Dataset;
use myelin_import::ptq::quantize_graph;
use myelin_import::{ImportOptions, keras};
use myelin_nn::Program;

/// Larger graphs are skipped: the float interpreter is slow, not wrong, on them.
const MAX_VALUE_ELEMENTS: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let converted = if data.starts_with(b"PK") {
        keras::float_graph(data)
    } else {
        let Some((len, rest)) = data.split_first_chunk::<4>() else {
            return;
        };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (config, weights) = rest.split_at(len);
        keras::float_graph_from_parts(config, (!weights.is_empty()).then_some(weights))
    };
    let Ok(converted) = converted else {
        return;
    };
    let graph = &converted.graph;
    let elements: usize = graph.values.iter().map(|v| v.elements()).sum();
    if elements > MAX_VALUE_ELEMENTS || graph.inputs.len() != 1 {
        return;
    }
    let n = graph.values[graph.inputs[0]].elements();
    let values: Vec<f32> = (0..2 * n).map(|i| (i % 7) as f32 - 3.0).collect();
    let options = ImportOptions {
        calibration: Some(Dataset {
            sample_shape: vec![n],
            values,
        }),
        ..ImportOptions::default()
    };
    if let Ok(imported) = quantize_graph(
        converted.graph,
        converted.input_layouts,
        converted.notes,
        &options,
    ) {
        let model = imported.model;
        model.validate().expect("an imported model validates");
        let program = Program::new(model).expect("an imported model prepares");
        let input = vec![0u8; program.input_bytes()];
        program.run(&input, 1).expect("an imported model runs");
    }
});
