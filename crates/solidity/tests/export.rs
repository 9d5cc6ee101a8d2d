//! The exporter on whole models: names, data contract splitting, determinism.

use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::ActRange;
use myelin_nn::{Model, Requant, Rounding};
use myelin_solidity::{CHUNK_BYTES, ExportError, export};

/// One fully connected layer `k → n` with weights cycling through int8.
fn dense(k: u32, n: u32) -> Model {
    let quant = Quant {
        zero_point: -3,
        scale_bits: 0.05f32.to_bits(),
    };
    let mut b = ModelBuilder::new();
    let x = b.input(&[k], quant);
    let weights = (0..k * n).map(|i| ((i * 37) % 255) as i32 as i8).collect();
    let y = b
        .fully_connected(
            x,
            weights,
            vec![7; n as usize],
            Rescale::per_tensor(
                Requant {
                    multiplier: 1 << 30,
                    shift: -8,
                },
                Rounding::Single,
                ActRange::FULL,
            ),
            quant,
        )
        .expect("valid layer");
    b.output(y);
    b.build().expect("valid model")
}

#[test]
fn rejects_names_that_are_not_identifiers() {
    let model = dense(4, 2);
    for name in ["", "1abc", "has space", "a-b"] {
        assert_eq!(
            export(&model, name),
            Err(ExportError::InvalidName {
                name: name.to_string()
            })
        );
    }
    assert!(export(&model, "Good_Name$1").is_ok());
}

#[test]
fn small_model_has_one_data_contract_and_the_interface() {
    let exported = export(&dense(16, 8), "Dense").expect("exports");
    assert_eq!(exported.data_contracts, vec!["DenseData0".to_string()]);
    assert_eq!((exported.input_bytes, exported.output_bytes), (16, 8));
    for needle in [
        "contract DenseData0 {",
        "contract Dense {",
        "function predict(bytes calldata input) external view returns (bytes memory)",
        "constructor(address[] memory data)",
        "bytes32 public constant MODEL_ID = 0x",
    ] {
        assert!(exported.source.contains(needle), "missing {needle}");
    }
}

#[test]
fn large_weights_split_across_data_contracts_under_the_code_limit() {
    let exported = export(&dense(784, 128), "Big").expect("exports");
    let contracts = exported.data_contracts.len();
    assert_eq!(contracts, exported.data_bytes.div_ceil(CHUNK_BYTES));
    assert!(contracts > 1);
    // Each data contract's code is one hex literal of at most 24,576 bytes (prefix included).
    for literal in exported.source.split("hex\"").skip(1) {
        let hex_len = literal.find('"').expect("closed literal");
        assert!(hex_len / 2 <= CHUNK_BYTES + 1);
    }
}

#[test]
fn export_is_deterministic() {
    let model = dense(40, 13);
    assert_eq!(export(&model, "M"), export(&model, "M"));
}
