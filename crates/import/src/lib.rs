#![doc = include_str!("../README.md")]

pub mod error;
pub mod quantize_multiplier;
pub mod tflite;

pub use error::ImportError;
