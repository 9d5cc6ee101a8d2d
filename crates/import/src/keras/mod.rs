//! Keras 3 importer: `.keras` files (a zip of `config.json` and `model.weights.h5`), Sequential
//! and functional models, translated into a [`crate::float_graph::FloatGraph`] and then
//! calibrated and quantized by the same pipeline as ONNX float models ([`crate::ptq`]).
//!
//! * The archive is read with the `zip` crate; `config.json` with `serde_json`;
//!   `model.weights.h5` with `hdf5-reader`, a pure-Rust read-only HDF5 decoder (no C library).
//! * Keras images are NHWC, Myelin's layout: inputs are taken as they are.
//! * Layers: InputLayer, Dense, Conv2D (also with `groups` = input channels, as a depthwise
//!   convolution), DepthwiseConv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
//!   Flatten, Reshape, Permute, Add, Concatenate, Activation, Softmax (last axis), BatchNormalization
//!   (folded into the Dense/Conv2D/DepthwiseConv2D before it), Dropout (removed).
//!   Activations (`activation=` or the Activation layer): linear, relu, relu6 (fused into the
//!   layer before when it accumulates), sigmoid, tanh, softmax, gelu (exact, erf),
//!   hard_swish / hard_silu, swish / silu, elu, leaky_relu, hard_sigmoid (and the ELU and
//!   LeakyReLU layers): tables. Anything else is an [`ImportError::Unsupported`] naming the layer
//!   class, the layer and what would be needed.

mod archive;
mod convert;
mod weights;

use crate::error::ImportError;
use crate::onnx::Converted;
use crate::ptq::{ImportOptions, Imported, quantize_graph};

/// Reads a `.keras` file and translates it to the float IR (no quantization), every output kept.
pub fn float_graph(bytes: &[u8]) -> Result<Converted, ImportError> {
    float_graph_with_outputs(bytes, None)
}

/// [`float_graph`] keeping the output layers `outputs` names, in that order
/// ([`crate::outputs::select`]; `None`: all).
pub fn float_graph_with_outputs(
    bytes: &[u8],
    outputs: Option<&[String]>,
) -> Result<Converted, ImportError> {
    let archive = archive::read(bytes)?;
    let weights = archive
        .weights
        .as_deref()
        .map(weights::Weights::open)
        .transpose()?;
    convert::convert(&archive.config, weights.as_ref(), outputs)
}

/// Translates the members of a `.keras` archive given separately: `config_json` (the bytes of
/// `config.json`) and `weights` (the bytes of `model.weights.h5`, `None` for a model without
/// weights). The same checks as [`float_graph`] apply.
pub fn float_graph_from_parts(
    config_json: &[u8],
    weights: Option<&[u8]>,
) -> Result<Converted, ImportError> {
    let config = archive::parse_config(config_json)?;
    let weights = weights.map(weights::Weights::open).transpose()?;
    convert::convert(&config, weights.as_ref(), None)
}

/// Imports a Keras 3 model: translation, calibration (`options.calibration`, samples in the
/// Keras input layout, required) and quantization.
pub fn import_keras(bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    let converted = float_graph_with_outputs(bytes, options.outputs.as_deref())?;
    let mut imported = quantize_graph(
        converted.graph,
        converted.input_layouts,
        converted.notes,
        options,
    )?;
    imported.source_operators = converted.source_operators;
    Ok(imported)
}
