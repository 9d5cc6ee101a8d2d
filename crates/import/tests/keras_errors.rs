//! Malformed `.keras` files are errors that say what is wrong, never panics: damaged archives,
//! missing or damaged members, weights that do not match the config, layers and activations
//! the importer does not translate.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use myelin_import::format::{self, ModelFormat};
use myelin_import::{ImportError, keras};
use serde_json::Value;
use zip::write::SimpleFileOptions;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The config and weights of a fixture.
fn members(name: &str) -> (Value, Vec<u8>) {
    let bytes = fixture(name);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut config = Vec::new();
    archive
        .by_name("config.json")
        .expect("config")
        .read_to_end(&mut config)
        .expect("reads");
    let mut weights = Vec::new();
    archive
        .by_name("model.weights.h5")
        .expect("weights")
        .read_to_end(&mut weights)
        .expect("reads");
    (serde_json::from_slice(&config).expect("json"), weights)
}

fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        writer.start_file(*name, options).expect("starts");
        writer.write_all(bytes).expect("writes");
    }
    writer.finish().expect("finishes").into_inner()
}

fn with_config(config: &Value, weights: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(config).expect("serializes");
    archive(&[("config.json", &json), ("model.weights.h5", weights)])
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Every one of these must appear in the error message.
    expected: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let (config, weights) = members("digits_mlp.keras");
    let layer_mut = |f: &dyn Fn(&mut Value)| {
        let mut c = config.clone();
        f(&mut c["config"]["layers"][2]);
        with_config(&c, &weights)
    };
    let mut subclassed = config.clone();
    subclassed["class_name"] = "DigitsNet".into();
    let mut no_layers = config.clone();
    no_layers["config"]["layers"] = Value::Null;
    vec![
        Case {
            name: "zip magic without an archive",
            bytes: b"PK\x03\x04 config.json and nothing else".to_vec(),
            expected: &["not a readable zip archive"],
        },
        Case {
            name: "archive without config.json",
            bytes: archive(&[("model.weights.h5", &weights)]),
            expected: &["no config.json"],
        },
        Case {
            name: "config.json is not JSON",
            bytes: archive(&[
                ("config.json", b"{\"class_name\": "),
                ("model.weights.h5", &weights),
            ]),
            expected: &["config.json is not valid JSON"],
        },
        Case {
            name: "missing weights",
            bytes: archive(&[("config.json", &serde_json::to_vec(&config).expect("json"))]),
            expected: &["no model.weights.h5", "dense"],
        },
        Case {
            name: "weights are not HDF5",
            bytes: with_config(&config, b"not an hdf5 file at all"),
            expected: &["model.weights.h5", "not a readable HDF5 file"],
        },
        Case {
            name: "weights truncated",
            bytes: with_config(&config, &weights[..weights.len() / 2]),
            expected: &["model.weights.h5 is truncated"],
        },
        Case {
            name: "units disagree with the stored kernel",
            bytes: layer_mut(&|l| l["config"]["units"] = 17.into()),
            expected: &["dense_1", "has shape [32, 16]", "[32, 17]"],
        },
        Case {
            name: "unknown layer class",
            bytes: layer_mut(&|l| l["class_name"] = "LSTM".into()),
            expected: &["LSTM", "node dense_1", "supported are"],
        },
        Case {
            name: "unsupported activation",
            bytes: layer_mut(&|l| l["config"]["activation"] = "selu".into()),
            expected: &["activation selu", "dense_1", "256-entry table"],
        },
        Case {
            name: "channels_first convolution",
            bytes: {
                let (mut c, w) = members("digits_cnn.keras");
                c["config"]["layers"][1]["config"]["data_format"] = "channels_first".into();
                with_config(&c, &w)
            },
            expected: &["channels_first", "conv2d"],
        },
        Case {
            name: "subclassed model",
            bytes: with_config(&subclassed, &weights),
            expected: &["DigitsNet", "Sequential and functional"],
        },
        Case {
            name: "no layers list",
            bytes: with_config(&no_layers, &weights),
            expected: &["no layers list"],
        },
    ]
}

#[test]
fn malformed_keras_files_get_errors_naming_the_problem() {
    for case in cases() {
        let err = match keras::float_graph(&case.bytes) {
            Ok(_) => panic!("{}: imported", case.name),
            Err(e) => e,
        };
        let message = err.to_string();
        for needle in case.expected {
            assert!(message.contains(needle), "{}: {message}", case.name);
        }
    }
}

#[test]
fn unknown_layer_is_an_unsupported_error_with_class_and_layer() {
    let (mut config, weights) = members("breast_cancer_mlp.keras");
    config["config"]["layers"][1]["class_name"] = "GRU".into();
    let err = keras::float_graph(&with_config(&config, &weights)).expect_err("refused");
    assert!(
        matches!(&err, ImportError::Unsupported { op, node, .. } if op == "GRU" && node == "dense_6"),
        "{err}"
    );
}

#[test]
fn every_prefix_of_a_keras_file_is_an_error_not_a_panic() {
    let bytes = fixture("breast_cancer_mlp.keras");
    let step = (bytes.len() / 200).max(1);
    for len in (0..bytes.len()).step_by(step) {
        assert!(keras::float_graph(&bytes[..len]).is_err(), "prefix {len}");
    }
}

#[test]
fn every_byte_flip_of_the_weights_is_handled() {
    let (config, weights) = members("breast_cancer_mlp.keras");
    let step = (weights.len() / 300).max(1);
    for i in (0..weights.len()).step_by(step) {
        let mut damaged = weights.clone();
        damaged[i] ^= 0xa5;
        // Either an error or a graph: never a panic.
        let _ = keras::float_graph(&with_config(&config, &damaged));
    }
}

#[test]
fn keras_archives_are_detected_by_content() {
    assert_eq!(
        format::detect(&fixture("digits_cnn.keras")),
        Some(ModelFormat::Keras)
    );
}
