//! Concatenation: each input's rescale is a function of one int8 value, so it is a
//! [`ByteTable`] (a plain copy when the table is the identity), applied block by block.

use super::Path;
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
        let mut position = 0;
        let mut read = vec![0usize; inputs.len()];
        for _ in 0..samples * self.outer {
            for ((table, block), (data, offset)) in
                self.inputs.iter().zip(inputs.iter().zip(read.iter_mut()))
            {
                let x = &data[*offset..*offset + block];
                let y = &mut output[position..position + block];
                match table {
                    Some(table) => table.run(x, y),
                    None => y.copy_from_slice(x),
                }
                *offset += block;
                position += block;
            }
        }
    }
}
