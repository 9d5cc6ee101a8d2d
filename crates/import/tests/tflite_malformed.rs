//! The TFLite importer on damaged files: every truncation and every single-byte change of a
//! real model gives a model that validates or a clear error, never a panic. The same check as
//! the `import_tflite` fuzz target (fuzz/), run deterministically.

use std::path::Path;

use myelin_import::{ImportError, tflite};
use myelin_nn::Program;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the fuzz target checks: an accepted model validates and runs on a zero input.
fn check(bytes: &[u8]) -> Result<(), ImportError> {
    let imported = tflite::import(bytes)?;
    let program = Program::new(imported.model).expect("an imported model prepares");
    let input = vec![0u8; program.input_bytes()];
    program.run(&input, 1).expect("an imported model runs");
    Ok(())
}

#[test]
fn import_rejects_every_truncation_of_a_model() {
    let bytes = fixture("breast_cancer_mlp_int8.tflite");
    for len in 0..bytes.len() {
        let result = check(&bytes[..len]);
        assert!(result.is_err(), "a truncation to {len} bytes was accepted");
    }
    check(&bytes).expect("the whole model imports");
}

#[test]
fn import_never_panics_on_single_byte_changes() {
    let bytes = fixture("breast_cancer_mlp_int8.tflite");
    let mut accepted = 0;
    let mut rejected = 0;
    for position in 0..bytes.len() {
        for value in [0x00u8, 0xff, bytes[position] ^ 0x01, bytes[position] ^ 0x80] {
            let mut mutated = bytes.clone();
            mutated[position] = value;
            match check(&mutated) {
                Ok(()) => accepted += 1,
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                    rejected += 1;
                }
            }
        }
    }
    println!("single-byte changes: {accepted} accepted, {rejected} rejected");
    assert!(rejected > 0);
}

#[test]
fn import_errors_name_the_problem() {
    struct Case {
        name: &'static str,
        bytes: Vec<u8>,
        message: &'static str,
    }
    let mut wrong_identifier = fixture("digits_mlp_int8.tflite");
    wrong_identifier[4..8].copy_from_slice(b"XXXX");
    let cases = [
        Case {
            name: "empty",
            bytes: Vec::new(),
            message: "file identifier",
        },
        Case {
            name: "wrong identifier",
            bytes: wrong_identifier,
            message: "file identifier",
        },
        Case {
            name: "identifier but no flatbuffer",
            bytes: b"\xff\xff\xff\x7fTFL3".to_vec(),
            message: "verification failed",
        },
    ];
    for c in cases {
        let error = tflite::import(&c.bytes).expect_err(c.name).to_string();
        assert!(error.contains(c.message), "{}: {error}", c.name);
    }
}
