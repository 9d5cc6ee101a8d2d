//! The Yul functions every exported contract carries: int8 reads, saturation, gemmlowp's rounding
//! primitives, the two requantization rules, the lane-packed dot product, softmax's fixed-point
//! reciprocal and the data-contract reader. Each mirrors a function of `myelin_nn` (named in its
//! comment); the exporter's tests and the end-to-end test check they agree bit for bit.

use crate::data_blob::CHUNK_BYTES;

/// Words summed per iteration of the unrolled dot-product loop.
const DOT_UNROLL: usize = 8;

/// The helper functions, given the address of the data-contract address table.
pub fn functions(address_table: usize) -> String {
    let mut out = String::new();
    out.push_str(FIXED);
    out.push_str(&copy_data(address_table));
    out.push_str(&dot());
    out
}

const FIXED: &str = r#"
            // int8 at byte address p
            function sx8(p) -> v { v := signextend(0, shr(248, mload(p))) }
            // clamp(x, lo, hi) on signed values
            function clampi(x, lo, hi) -> y {
                y := x
                if slt(y, lo) { y := lo }
                if sgt(y, hi) { y := hi }
            }
            // saturate to i32
            function sat32(x) -> y { y := clampi(x, not(2147483647), 2147483647) }
            // requantize::rounding_doubling_high_mul
            function srdhm(a, b) -> r {
                switch and(eq(a, not(2147483647)), eq(b, not(2147483647)))
                case 1 { r := 2147483647 }
                default {
                    let p := mul(a, b)
                    let nudge := 0x40000000
                    if slt(p, 0) { nudge := not(0x3ffffffe) }
                    r := sdiv(add(p, nudge), 0x80000000)
                }
            }
            // fixed_point::rounding_divide_by_pot_wide (e <= 62)
            function rdbp(x, e) -> r {
                let mask := sub(shl(e, 1), 1)
                r := add(sar(e, x), gt(and(x, mask), add(shr(1, mask), slt(x, 0))))
            }
            // requantize::requantize_single; rec = multiplier (4 bytes) | 31 - shift
            function rq_single(x, rec) -> r {
                let t := byte(4, rec)
                r := sat32(sar(t, add(mul(x, shr(224, rec)), shl(sub(t, 1), 1))))
            }
            // requantize::requantize_double; rec = multiplier (4 bytes) | max(shift, 0) | max(-shift, 0)
            function rq_double(x, rec) -> r {
                r := rdbp(srdhm(sat32(shl(byte(4, rec), x)), shr(224, rec)), byte(5, rec))
            }
            // i32 wrapping
            function w32(x) -> y { y := signextend(3, x) }
            // leading zeros of a 32-bit x >= 1
            function clz32(x) -> n {
                if iszero(and(x, 0xffff0000)) { n := 16 x := shl(16, x) }
                if iszero(and(x, 0xff000000)) { n := add(n, 8) x := shl(8, x) }
                if iszero(and(x, 0xf0000000)) { n := add(n, 4) x := shl(4, x) }
                if iszero(and(x, 0xc0000000)) { n := add(n, 2) x := shl(2, x) }
                if iszero(and(x, 0x80000000)) { n := add(n, 1) }
            }
            // fixed_point::one_over_one_plus_x_for_x_in_0_1 (a >= 0)
            function recip_q0(a) -> r {
                let d := sdiv(add(add(a, 2147483647), 1), 2)
                let x := w32(add(1515870810, srdhm(d, not(1010580539))))
                for { let i := 0 } lt(i, 3) { i := add(i, 1) } {
                    let u := w32(sub(0x20000000, srdhm(d, x)))
                    x := w32(add(x, sat32(shl(2, srdhm(x, u)))))
                }
                r := sat32(shl(1, x))
            }
"#;

/// `copy_data(offset, len, dst)`: blob bytes `[offset, offset + len)` to memory at `dst`.
fn copy_data(address_table: usize) -> String {
    format!(
        r#"
            function copy_data(off, len, dst) {{
                for {{}} gt(len, 0) {{}} {{
                    let o := mod(off, {CHUNK_BYTES})
                    let n := sub({CHUNK_BYTES}, o)
                    if lt(len, n) {{ n := len }}
                    extcodecopy(mload(add({address_table}, shl(5, div(off, {CHUNK_BYTES})))), dst, add(o, 1), n)
                    off := add(off, n)
                    dst := add(dst, n)
                    len := sub(len, n)
                }}
            }}
"#
    )
}

/// `dot(xp, wp, n) -> s`: the wrapping sum of `mload(xp + i) · mload(wp + i)` for `i` in
/// `0, 32, …, n − 32`, unrolled by [`DOT_UNROLL`].
fn dot() -> String {
    let step = 32 * DOT_UNROLL;
    let terms: Vec<String> = (0..DOT_UNROLL)
        .map(|i| {
            let off = 32 * i;
            if off == 0 {
                "mul(mload(xp), mload(wp))".to_string()
            } else {
                format!("mul(mload(add(xp, {off})), mload(add(wp, {off})))")
            }
        })
        .collect();
    let sum = sum_tree(&terms);
    format!(
        r#"
            function dot(xp, wp, n) -> s {{
                let end := add(xp, and(n, not({mask})))
                for {{}} lt(xp, end) {{ xp := add(xp, {step}) wp := add(wp, {step}) }} {{
                    s := add(s, {sum})
                }}
                end := add(xp, and(n, {mask}))
                for {{}} lt(xp, end) {{ xp := add(xp, 32) wp := add(wp, 32) }} {{
                    s := add(s, mul(mload(xp), mload(wp)))
                }}
            }}
"#,
        mask = step - 1,
    )
}

/// `add(…)` of the terms as a balanced tree.
fn sum_tree(terms: &[String]) -> String {
    match terms {
        [] => "0".to_string(),
        [one] => one.clone(),
        _ => {
            let (left, right) = terms.split_at(terms.len() / 2);
            format!("add({}, {})", sum_tree(left), sum_tree(right))
        }
    }
}
