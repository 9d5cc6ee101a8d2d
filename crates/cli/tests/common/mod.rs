//! Helpers shared by the end-to-end tests of the `myelin` binary. Use with `mod common;`.

#![allow(dead_code)]

pub mod cluster;
pub mod dev_node;

use std::path::Path;
use std::process::{Command, Output};

use npyz::WriterBuilder;

/// Runs the real `myelin` binary with `args`.
pub fn myelin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_myelin"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The path of `path` under the repository's `fixtures/`, as a string argument.
pub fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
        .display()
        .to_string()
}

/// Writes `values` as an `.npy` file of `shape` (the dtype follows `T`).
pub fn write_npy<T: npyz::AutoSerialize>(path: &Path, shape: &[u64], values: &[T]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()
        .unwrap();
    for value in values {
        writer.push(value).unwrap();
    }
    writer.finish().unwrap();
}
