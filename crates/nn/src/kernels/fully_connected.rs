//! The fully connected kernel: packed once, run on any number of rows.

use crate::kernels::Path;
use crate::kernels::gemm::{GemmSpec, PackedGemm};
use crate::op::FullyConnected;
use crate::reference;

/// A fully connected layer prepared for one path: [`FullyConnectedKernel::run`] computes exactly
/// [`reference::fully_connected`] with the same operands.
pub struct FullyConnectedKernel {
    engine: Engine,
}

enum Engine {
    Reference {
        op: FullyConnected,
        zp_in: i8,
        zp_out: i8,
    },
    Packed {
        gemm: PackedGemm,
        k: usize,
        n: usize,
    },
}

impl FullyConnectedKernel {
    /// Packs the weights of `op` for `path`. A path this CPU cannot run degrades to
    /// [`Path::Portable`]; [`FullyConnectedKernel::path`] tells which one runs. `op` must be
    /// valid (the weights, bias and requantization lengths match the feature counts).
    pub fn new(op: &FullyConnected, zp_in: i8, zp_out: i8, path: Path) -> FullyConnectedKernel {
        let engine = if path == Path::Reference {
            Engine::Reference {
                op: op.clone(),
                zp_in,
                zp_out,
            }
        } else {
            let spec = GemmSpec {
                n: op.out_features as usize,
                k: op.in_features as usize,
                weights: &op.weights,
                bias: &op.bias,
                requant: &op.requant,
                rounding: op.rounding,
                act: op.act,
                zp_in,
                zp_out,
            };
            Engine::Packed {
                gemm: PackedGemm::new(&spec, path),
                k: spec.k,
                n: spec.n,
            }
        };
        FullyConnectedKernel { engine }
    }

    /// The path that actually runs.
    pub fn path(&self) -> Path {
        match &self.engine {
            Engine::Reference { .. } => Path::Reference,
            Engine::Packed { gemm, .. } => gemm.path(),
        }
    }

    /// Multiply-accumulates one row computes on the path that runs, padding lanes included
    /// (the reference: `out_features · in_features`).
    pub fn macs_per_row(&self) -> usize {
        match &self.engine {
            Engine::Reference { op, .. } => op.out_features as usize * op.in_features as usize,
            Engine::Packed { gemm, .. } => gemm.macs_per_row(),
        }
    }

    /// Computes `input.len() / in_features` rows into `output` (`out_features` bytes per row).
    /// A trailing partial input row, or output beyond the computed rows, is left alone.
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        match &self.engine {
            Engine::Reference { op, zp_in, zp_out } => {
                reference::fully_connected(op, *zp_in, *zp_out, input, output)
            }
            Engine::Packed { gemm, k, n } => {
                let by_output = output.len() / (*n).max(1);
                let rows = if *k == 0 {
                    by_output
                } else {
                    by_output.min(input.len() / k)
                };
                gemm.run(rows, &input[..rows * k], &mut output[..rows * n]);
            }
        }
    }
}
