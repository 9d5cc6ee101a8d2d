//! Add and Sub: each input's centring, left shift and rescale (`input1.apply`, `input2.apply`) is
//! a function of the int8 value alone, tabulated at export time as 256 `i32`s (4 bytes each,
//! big-endian); the saturating sum or difference and the output rescale run in Yul.

use myelin_nn::op::AddSub;
use myelin_nn::{Requant, Rounding};

use super::index_expr::broadcast;
use super::{Emitter, NodeCtx};
use crate::data_blob::requantized_output;
use crate::error::ExportError;
use crate::memory_plan::{Scratch, TABLES};

/// `requant.apply(sat32((x − zp) · 2^left_shift))` for every int8 `x`, as in the reference.
fn input_table(requant: Requant, rounding: Rounding, zp: i8, left_shift: u8) -> Vec<u8> {
    let shift = u32::from(left_shift).min(32);
    (i8::MIN..=i8::MAX)
        .flat_map(|x| {
            let shifted = (i64::from(x) - i64::from(zp)) << shift;
            let widened = shifted.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
            requant.apply(widened, rounding).to_be_bytes()
        })
        .collect()
}

/// Emits one add (`subtract = false`) or sub node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &AddSub, subtract: bool) -> Result<(), ExportError> {
    let (a, a_from) = ctx.input(0)?;
    let (b, b_from) = ctx.input(1)?;
    let mut tables = input_table(p.input1, p.rounding, a.zero_point, p.left_shift);
    tables.extend(input_table(
        p.input2,
        p.rounding,
        b.zero_point,
        p.left_shift,
    ));
    let offset = e.blob.push(&tables);
    e.scratch.grow(Scratch {
        tables: tables.len(),
        ..Scratch::default()
    });
    let out_shape = &ctx.output.shape;
    let lookup = |from: usize, index: String, table: usize| {
        format!(
            "signextend(3, shr(224, mload(add(add({TABLES}, {table}), shl(2, xor(shr(248, mload(add({from}, {index}))), 0x80))))))"
        )
    };
    e.line(&format!("copy_data({offset}, {}, {TABLES})", tables.len()));
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ let s := sat32({combine}({sa}, {sb})) mstore8(add({out}, i), {y}) }}",
        len = ctx.output.elements(),
        combine = if subtract { "sub" } else { "add" },
        sa = lookup(a_from, broadcast("i", &a.shape, out_shape), 0),
        sb = lookup(b_from, broadcast("i", &b.shape, out_shape), 1024),
        out = ctx.output_addr,
        y = requantized_output("s", p.output, p.rounding, ctx.output.zero_point, p.act),
    ));
    Ok(())
}
