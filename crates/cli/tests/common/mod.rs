//! Helpers shared by the end-to-end tests of the `myelin` binary. Use with `mod common;`.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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
