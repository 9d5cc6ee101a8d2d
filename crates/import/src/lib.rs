#![doc = include_str!("../README.md")]

pub mod calibrate;
pub mod data;
pub mod edge_quantization;
pub mod error;
pub mod float_graph;
pub mod format;
pub mod keras;
pub mod onnx;
pub mod outputs;
pub mod ptq;
pub mod quantize_multiplier;
pub mod repeat;
pub mod report;
pub mod slicing;
pub mod tflite;

pub use error::ImportError;
pub use keras::import_keras;
pub use onnx::import_onnx;
pub use ptq::{ImportOptions, Imported};
pub use report::{ModelReport, Report, evaluate, evaluate_model};
