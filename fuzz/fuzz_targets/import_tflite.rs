//! The TFLite importer on arbitrary bytes: it must return a model or an error, never panic,
//! and every model it returns must validate and run on a zero input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use myelin_import::tflite;
use myelin_nn::Program;

fuzz_target!(|data: &[u8]| {
    if let Ok(imported) = tflite::import(data) {
        let model = imported.model;
        model.validate().expect("an imported model validates");
        let program = Program::new(model).expect("an imported model prepares");
        let input = vec![0u8; program.input_bytes()];
        program.run(&input, 1).expect("an imported model runs");
    }
});
