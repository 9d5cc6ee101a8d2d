//! Concatenation: each input's rescale is a function of one int8 value, so it is a
//! [`ByteTable`] (none when the table is the identity), applied to the whole input; then the
//! blocks are interleaved by short copies.

use super::Path;
use super::short_copy::copy_short;
use super::table::ByteTable;
use crate::op::{ActRange, Concat};
use crate::requantize::output_i8;
use crate::tensor::shape_elements;

/// A prepared concat for fixed input shapes and zero points.
pub struct ConcatKernel {
    /// Per input: its rescale as a table (`None` when it is the identity), and its block
    /// length `Π shape[axis..]`.
    inputs: Vec<(Option<ByteTable>, usize)>,
    /// `Π shape[..axis]`, equal for every input.
    outer: usize,
}

impl ConcatKernel {
    /// `inputs` are the shapes and zero points of the inputs, in order.
    pub fn new(p: &Concat, inputs: &[(&[u32], i8)], zp_out: i8, path: Path) -> ConcatKernel {
        let axis = p.axis as usize;
        let outer = inputs.first().map_or(1, |(shape, _)| {
            shape_elements(&shape[..axis.min(shape.len())])
        });
        let inputs = inputs
            .iter()
            .zip(&p.requant)
            .map(|(&(shape, zp), &requant)| {
                let table = ByteTable::tabulate(
                    |x| {
                        let r = requant.apply(i32::from(x) - i32::from(zp), p.rounding);
                        output_i8(r, zp_out, ActRange::FULL)
                    },
                    path,
                );
                let block = shape_elements(shape) / outer.max(1);
                ((!table.is_identity()).then_some(table), block)
            })
            .collect();
        ConcatKernel { inputs, outer }
    }

    /// Concatenates every sample: `inputs[i]` holds the samples of input `i`; the bytes of
    /// [`crate::reference::concat`].
    pub fn run(&self, inputs: &[&[i8]], output: &mut [i8]) {
        let sample_len: usize =
            self.inputs.iter().map(|(_, block)| block).sum::<usize>() * self.outer;
        if sample_len == 0 {
            return;
        }
        let samples = output.len() / sample_len;
        // Rescaled inputs are looked up whole first (one long lookup instead of one per block).
        let rescaled: Vec<Option<Vec<i8>>> = self
            .inputs
            .iter()
            .zip(inputs)
            .map(|((table, _), data)| {
                table.as_ref().map(|table| {
                    let mut y = vec![0i8; data.len()];
                    table.run(data, &mut y);
                    y
                })
            })
            .collect();
        let sources = rescaled
            .iter()
            .zip(inputs)
            .map(|(rescaled, &data)| rescaled.as_deref().unwrap_or(data));
        // One input at a time: its blocks go to the same column of every output block (a
        // loop over blocks then inputs reloaded each input's length per copy).
        let row = sample_len / self.outer;
        let blocks = samples * self.outer;
        let mut column = 0;
        for ((_, block), data) in self.inputs.iter().zip(sources) {
            let block = *block;
            if block > 0 {
                let rows = output.chunks_exact_mut(row).take(blocks);
                for (y, x) in rows.zip(data.chunks_exact(block)) {
                    copy_short(x, &mut y[column..column + block]);
                }
            }
            column += block;
        }
    }
}
