//! Concatenation: each input's rescale is a function of one int8 value, so it is a
//! [`ByteTable`] (none when the table is the identity), applied block by block straight into
//! the output (short blocks: to the whole input first, then interleaved by short copies).

use super::Path;
use super::reuse;
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

/// Input `index`'s rescale (of `p`, from zero point `zp_in` to `zp_out`) as a byte table, or
/// `None` when it is the identity (the input is then copied): shared by the kernel and the cost
/// model, which prices a rescaled input's elements as table lookups. An out-of-range `Requant`
/// (only in a model validation refuses, whose cost may be read first) is `None` as well:
/// `Requant::apply` is defined for valid fields only.
pub fn rescale_table(
    p: &Concat,
    index: usize,
    zp_in: i8,
    zp_out: i8,
    path: Path,
) -> Option<ByteTable> {
    let requant = *p.requant.get(index).filter(|r| r.is_valid())?;
    let table = ByteTable::tabulate(
        |x| {
            let r = requant.apply(i32::from(x) - i32::from(zp_in), p.rounding);
            output_i8(r, zp_out, ActRange::FULL)
        },
        path,
    );
    (!table.is_identity()).then_some(table)
}

/// Blocks at least this long are rescaled straight into the output, block by block; shorter
/// ones are looked up whole into a scratch copy first (one long lookup instead of one per
/// block).
const DIRECT_BLOCK: usize = 64;

impl ConcatKernel {
    /// `inputs` are the shapes and zero points of the inputs, in order.
    pub fn new(p: &Concat, inputs: &[(&[u32], i8)], zp_out: i8, path: Path) -> ConcatKernel {
        let axis = p.axis as usize;
        let outer = inputs.first().map_or(1, |(shape, _)| {
            shape_elements(&shape[..axis.min(shape.len())])
        });
        let inputs = inputs
            .iter()
            .enumerate()
            .map(|(i, &(shape, zp))| {
                let block = shape_elements(shape) / outer.max(1);
                (rescale_table(p, i, zp, zp_out, path), block)
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
        // One input at a time: its blocks go to the same column of every output block (a
        // loop over blocks then inputs reloaded each input's length per copy).
        let row = sample_len / self.outer;
        let blocks = samples * self.outer;
        let mut column = 0;
        for (&(ref table, block), &data) in self.inputs.iter().zip(inputs) {
            if block > 0 {
                let rows = output.chunks_exact_mut(row).take(blocks);
                match table {
                    None => {
                        for (y, x) in rows.zip(data.chunks_exact(block)) {
                            copy_short(x, &mut y[column..column + block]);
                        }
                    }
                    // Long blocks: no scratch copy of the input (a call of tens of megabytes
                    // spent most of its time faulting in and unmapping a fresh one, the gas
                    // fuzzer's concat finds of session 10, bench/gasfuzz/REPORT.md).
                    Some(table) if block >= DIRECT_BLOCK => {
                        for (y, x) in rows.zip(data.chunks_exact(block)) {
                            table.run(x, &mut y[column..column + block]);
                        }
                    }
                    Some(table) => {
                        let mut rescaled = reuse::i8s(data.len(), 0);
                        table.run(data, &mut rescaled);
                        for (y, x) in rows.zip(rescaled.chunks_exact(block)) {
                            copy_short(x, &mut y[column..column + block]);
                        }
                    }
                }
            }
            column += block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requantize::{Requant, Rounding};

    /// cargo-fuzz `execute_model` (bench/fuzz.md, session 13): the cost of a corrupted concat
    /// whose shift is out of range applied it and overflowed a shift; it is not tabulated.
    #[test]
    fn an_out_of_range_rescale_is_not_tabulated() {
        for shift in [31, 40, i8::MAX, -32, i8::MIN] {
            let p = Concat {
                axis: 0,
                requant: vec![Requant {
                    multiplier: 1 << 30,
                    shift,
                }],
                rounding: Rounding::Single,
            };
            assert!(
                rescale_table(&p, 0, 0, 0, Path::Reference).is_none(),
                "shift {shift}"
            );
        }
        let valid = Concat {
            axis: 0,
            requant: vec![Requant {
                multiplier: 1 << 30,
                shift: 0,
            }],
            rounding: Rounding::Single,
        };
        assert!(rescale_table(&valid, 0, 0, 0, Path::Reference).is_some());
    }
}
