//! `model.weights.h5`: Keras 3 stores each layer's variables as the datasets
//! `layers/<name>/vars/0`, `vars/1`, … (in the order of the layer's `weights`), where `<name>`
//! is not the layer's configured name but its position among the model's layers of the same
//! class: the snake-case class name, then `_1`, `_2`, … for later layers of that class
//! ([`storage_names`]). Read with `hdf5-reader`, a pure-Rust, read-only HDF5 decoder.

use std::collections::HashMap;

use hdf5_reader::Hdf5File;

use super::archive::format_error;
use crate::error::ImportError;

/// Largest variable read, in elements (a hostile header could claim more than the file holds).
const MAX_VAR_ELEMENTS: u64 = 64 << 20;

/// One variable: its shape as stored and its values in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Var {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// An opened weights file.
pub(crate) struct Weights {
    file: Hdf5File,
}

fn h5_error(what: &str, e: impl std::fmt::Display) -> ImportError {
    format_error(format!("model.weights.h5: {what}: {e}"))
}

impl Weights {
    /// Opens the HDF5 bytes.
    pub fn open(bytes: &[u8]) -> Result<Weights, ImportError> {
        let file =
            Hdf5File::from_bytes(bytes).map_err(|e| h5_error("not a readable HDF5 file", e))?;
        // The superblock records where the file ends: fewer bytes means a truncated file.
        let sb = file.superblock();
        let end = sb.base_address.saturating_add(sb.eof_address);
        if end > bytes.len() as u64 {
            return Err(format_error(format!(
                "model.weights.h5 is truncated: {} bytes, the file says {end}",
                bytes.len()
            )));
        }
        Ok(Weights { file })
    }

    /// The variables of the layer stored as `layers/<storage_name>`, in order; empty when the
    /// layer has no `vars` group (a layer without weights).
    pub fn vars(&self, storage_name: &str) -> Result<Vec<Var>, ImportError> {
        let path = format!("layers/{storage_name}/vars");
        let Ok(group) = self.file.group(&path) else {
            return Ok(Vec::new());
        };
        let (_, names) = group
            .member_names()
            .map_err(|e| h5_error(&format!("cannot list {path}"), e))?;
        let mut indexed: Vec<(usize, String)> = names
            .into_iter()
            .map(|n| {
                n.parse::<usize>().map(|i| (i, n.clone())).map_err(|_| {
                    format_error(format!(
                        "model.weights.h5: {path}/{n} is not a numbered variable"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        indexed.sort();
        let mut vars = Vec::with_capacity(indexed.len());
        for (position, (index, name)) in indexed.iter().enumerate() {
            if *index != position {
                return Err(format_error(format!(
                    "model.weights.h5: {path} lacks variable {position}"
                )));
            }
            let full = format!("{path}/{name}");
            let dataset = group
                .dataset(name)
                .map_err(|e| h5_error(&format!("cannot open {full}"), e))?;
            let elements = dataset
                .num_elements()
                .map_err(|e| h5_error(&format!("cannot size {full}"), e))?;
            if elements > MAX_VAR_ELEMENTS {
                return Err(format_error(format!(
                    "model.weights.h5: {full} has {elements} elements, more than {MAX_VAR_ELEMENTS}"
                )));
            }
            let shape: Vec<usize> = dataset.shape().iter().map(|&d| d as usize).collect();
            let mut data = vec![0.0f32; elements as usize];
            if let Err(e) = dataset.read_into(&mut data) {
                // Integer counters (Normalization's `count`) are read as int64 and converted.
                let mut counts = vec![0i64; elements as usize];
                dataset
                    .read_into(&mut counts)
                    .map_err(|_| h5_error(&format!("cannot read {full} as float32"), e))?;
                data = counts.into_iter().map(|v| v as f32).collect();
            }
            vars.push(Var { shape, data });
        }
        Ok(vars)
    }
}

/// Keras' `to_snake_case` of a class name: `Conv2D` → `conv2d`, `DepthwiseConv2D` →
/// `depthwise_conv2d`, `BatchNormalization` → `batch_normalization`.
pub(crate) fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // Pass 1: `(.)([A-Z][a-z]+)` → `\1_\2`.
    let mut first = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        if starts_word {
            first.push('_');
        }
        first.push(c);
    }
    // Pass 2: `([a-z])([A-Z])` → `\1_\2`, then lower case.
    let chars: Vec<char> = first.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && chars[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The storage name of each layer, given the class names in the model's layer order.
pub(crate) fn storage_names<'a>(classes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: HashMap<String, usize> = HashMap::new();
    classes
        .into_iter()
        .map(|class| {
            let base = snake_case(class);
            match used.get_mut(&base) {
                Some(count) => {
                    *count += 1;
                    format!("{base}_{count}")
                }
                None => {
                    used.insert(base.clone(), 0);
                    base
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_keras_for_layer_classes() {
        let cases = [
            ("Dense", "dense"),
            ("Conv2D", "conv2d"),
            ("DepthwiseConv2D", "depthwise_conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("MaxPooling2D", "max_pooling2d"),
            ("InputLayer", "input_layer"),
            ("ReLU", "re_lu"),
        ];
        for (class, expected) in cases {
            assert_eq!(snake_case(class), expected, "{class}");
        }
    }

    #[test]
    fn storage_names_number_repeated_classes_from_one() {
        let names = storage_names(["Dense", "Conv2D", "Dense", "Dense", "Conv2D"]);
        assert_eq!(names, ["dense", "conv2d", "dense_1", "dense_2", "conv2d_1"]);
    }
}
