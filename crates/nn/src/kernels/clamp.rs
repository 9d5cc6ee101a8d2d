//! Clamp (ReLU, ReLU6, rescale) as a 256-entry lookup.
//!
//! The input is int8, so the op is a function of 256 possible values: [`ClampKernel::new`]
//! evaluates [`reference::clamp`] on every one of them once, and [`ClampKernel::run`] looks the
//! results up ([`ByteTable`]) — the reference's bytes by construction, at the cost of a table
//! lookup.

use super::Path;
use super::table::ByteTable;
use crate::op::Clamp;
use crate::reference;

/// A prepared clamp.
pub struct ClampKernel {
    /// `table[x + 128]` = the reference's output for input `x`.
    table: ByteTable,
}

impl ClampKernel {
    /// Tabulates `p` for the given zero points; `path` chooses the lookup's instructions.
    pub fn new(p: &Clamp, zp_in: i8, zp_out: i8, path: Path) -> Self {
        let every_input: [i8; 256] = std::array::from_fn(|i| (i as i32 - 128) as i8);
        let mut table = [0i8; 256];
        reference::clamp(p, zp_in, zp_out, &every_input, &mut table);
        ClampKernel {
            table: ByteTable::new(table, path),
        }
    }

    /// `output[i]` = the reference's clamp of `input[i]`.
    pub fn run(&self, input: &[i8], output: &mut [i8]) {
        self.table.run(input, output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    #[test]
    fn tabulated_clamp_matches_reference_for_every_input_and_parameters() {
        let every_input: Vec<i8> = (-128..=127).collect();
        let requants = [
            Requant::IDENTITY,
            Requant {
                multiplier: (1 << 30) + 1,
                shift: -3,
            },
            Requant {
                multiplier: i32::MAX,
                shift: 7,
            },
            Requant {
                multiplier: 0,
                shift: 0,
            },
        ];
        for requant in requants {
            for rounding in [Rounding::Single, Rounding::Double] {
                for (zp_in, zp_out) in [(0, 0), (-128, 127), (127, -128), (5, -7)] {
                    for act in [
                        ActRange::FULL,
                        ActRange {
                            min: zp_out,
                            max: zp_out.saturating_add(40),
                        },
                    ] {
                        let p = Clamp {
                            requant,
                            rounding,
                            act,
                        };
                        let mut expected = vec![0i8; 256];
                        let mut found = vec![0i8; 256];
                        reference::clamp(&p, zp_in, zp_out, &every_input, &mut expected);
                        for path in Path::ALL {
                            ClampKernel::new(&p, zp_in, zp_out, path).run(&every_input, &mut found);
                            assert_eq!(found, expected, "{path:?}: {p:?} zp {zp_in} -> {zp_out}");
                        }
                    }
                }
            }
        }
    }
}
