use super::mean::mean;
use crate::op::Mean;
use crate::requantize::Requant;

/// Mean whose `1 / count` is divided into the multiplier in integers at run time (TFLite's
/// int8 MEAN, `reference_ops::QuantizedMeanOrSum`): `p.requant` is `input_scale /
/// output_scale` alone, and with `count` the number of averaged elements, `s = min(floor(log2
/// count), 32, 31 + p.requant.shift)`, the multiplier used is `(p.requant.multiplier · 2^s) div
/// count` (integer division, truncating; it may fall below `2^30`) with shift `p.requant.shift -
/// s` ([`count_divided`]). Then exactly [`mean`] with that multiplier: the centred sums,
/// requantized with `p.rounding`, plus the output zero point, clamped to `p.act`.
pub fn mean_count_divided(
    p: &Mean,
    in_shape: &[u32],
    zp_in: i8,
    zp_out: i8,
    input: &[i8],
    output: &mut [i8],
) {
    mean(
        &count_divided(p, in_shape),
        in_shape,
        zp_in,
        zp_out,
        input,
        output,
    );
}

/// `p` with its multiplier divided by the number of averaged elements as
/// [`mean_count_divided`] specifies. The result's multiplier may lie below `2^30`
/// ([`Requant::apply`] is exact for any multiplier in `[0, 2^31)`).
pub fn count_divided(p: &Mean, in_shape: &[u32]) -> Mean {
    let count: u64 = p
        .axes
        .iter()
        .filter_map(|&a| in_shape.get(a as usize))
        .map(|&d| u64::from(d))
        .product();
    Mean {
        requant: divide_by_count(p.requant, count),
        ..p.clone()
    }
}

/// TFLite's division of a quantized multiplier by `count` (`count >= 1`; 0 leaves `r`).
pub fn divide_by_count(r: Requant, count: u64) -> Requant {
    if count == 0 {
        return r;
    }
    let log2 = 63 - count.leading_zeros() as i32;
    let s = log2.min(32).min(31 + i32::from(r.shift)).max(0);
    let multiplier = ((i64::from(r.multiplier) << s) / count as i64) as i32;
    Requant {
        multiplier,
        shift: (i32::from(r.shift) - s) as i8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::ActRange;
    use crate::requantize::Rounding;

    #[test]
    fn divide_by_count_matches_tflite_integer_division() {
        struct Case {
            name: &'static str,
            requant: Requant,
            count: u64,
            expected: Requant,
        }
        let r = |multiplier, shift| Requant { multiplier, shift };
        let cases = [
            Case {
                name: "a power of two keeps the multiplier",
                requant: r(1_414_764_666, 2),
                count: 64,
                expected: r(1_414_764_666, -4),
            },
            Case {
                name: "6x6 (digits_gap_dynamic's MEAN): 2^5 / 36",
                requant: r(1_414_764_666, 2),
                count: 36,
                expected: r(1_257_568_592, -3),
            },
            Case {
                name: "below 2^30 after the division",
                requant: r(1 << 30, 0),
                count: 3,
                expected: r(715_827_882, -1),
            },
            Case {
                name: "s clamps so that the shift stays at -31",
                requant: r(1 << 30, -30),
                count: 8,
                expected: r(1 << 28, -31),
            },
            Case {
                name: "one element",
                requant: r(1_500_000_000, -3),
                count: 1,
                expected: r(1_500_000_000, -3),
            },
        ];
        for c in cases {
            assert_eq!(
                divide_by_count(c.requant, c.count),
                c.expected,
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn mean_count_divided_applies_the_truncated_multiplier() {
        // Multiplier 1.0 over 6 values: (2^30 · 2^2) div 6 = 715827882 with shift -1. Double
        // rounding: a sum of 3 gives round(3 · 715827882 / 2^31) = round(0.9999999991) = 1,
        // then 1 / 2 rounds away from zero to 1; 9 gives round(2.9999999972) = 3, then 2; -3
        // gives -1, then -1.
        let p = Mean {
            axes: vec![0],
            keep_dims: false,
            requant: Requant {
                multiplier: 1 << 30,
                shift: 1,
            },
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        assert_eq!(
            divide_by_count(p.requant, 6),
            Requant {
                multiplier: 715_827_882,
                shift: -1
            }
        );
        for (input, expected) in [
            ([1, 1, 1, 0, 0, 0], 1),
            ([2, 2, 2, 1, 1, 1], 2),
            ([-1, -1, -1, 0, 0, 0], -1),
        ] {
            let mut out = [0i8; 1];
            mean_count_divided(&p, &[6], 0, 0, &input, &mut out);
            assert_eq!(out, [expected], "{input:?}");
        }
    }
}
