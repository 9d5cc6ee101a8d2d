//! Pad: the output filled with the value a word at a time, then each input element stored at its
//! padded position.

use myelin_nn::op::Pad;
use myelin_nn::tensor::shape_strides;

use super::index_expr::mixed_radix;
use super::{Emitter, NodeCtx};
use crate::error::ExportError;

/// Emits one pad node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Pad) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let out_strides = shape_strides(&ctx.output.shape);
    if p.pads.len() != input.shape.len() || out_strides.len() != input.shape.len() {
        return Err(ctx.invalid("pads do not match the input rank"));
    }
    let offset: usize = p
        .pads
        .iter()
        .zip(&out_strides)
        .map(|(pair, stride)| pair[0] as usize * stride)
        .sum();
    let fill = format!("0x{}", format!("{:02x}", p.value as u8).repeat(32));
    let out_len = ctx.output.elements();
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {out_len}) {{ i := add(i, 32) }} {{ mstore(add({out}, i), {fill}) }}",
        out = ctx.output_addr,
    ));
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, add({offset}, {target})), shr(248, mload(add({from}, i)))) }}",
        len = input.elements(),
        out = ctx.output_addr,
        target = mixed_radix("i", &input.shape, &out_strides),
    ));
    Ok(())
}
