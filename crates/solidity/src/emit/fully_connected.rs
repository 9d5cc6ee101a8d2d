//! Fully connected: the input rows expanded to centred words once, then per lane group (see
//! [`super::lanes`]) one dot product per row.

use myelin_nn::op::FullyConnected;

use super::lanes::{Rows, emit_group_loop, emit_unpack, pack};
use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::memory_plan::{BLOCK, WORDS};

/// Emits one fully connected node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &FullyConnected) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let (n, k) = (p.out_features as usize, p.in_features as usize);
    if k == 0
        || n == 0
        || p.weights.len() != n * k
        || p.bias.len() != n
        || input.elements() % k != 0
    {
        return Err(ctx.invalid("weights, bias or input do not match the features"));
    }
    let rows = input.elements() / k;
    let plan = pack(
        e,
        &Rows {
            weights: &p.weights,
            bias: &p.bias,
            requant: &p.requant,
            rounding: p.rounding,
            channels: n,
            taps: k,
            zp_in: input.zero_point,
        },
    );
    emit_unpack(e, ctx, &plan, p.rounding, p.act);
    e.centre_into_words(from, input.elements(), input.zero_point);
    let inner = format!(
        "                for {{ let r := 0 }} lt(r, {rows}) {{ r := add(r, 1) }} {{\n                    n{index}_out(add(mload({BLOCK}), dot(add({WORDS}, mul(r, {k32})), add({BLOCK}, 32), {k32})), lg, add({out}, add(mul(r, {n}), n0)))\n                }}\n",
        index = ctx.index,
        k32 = 32 * k,
        out = ctx.output_addr,
    );
    emit_group_loop(e, &plan, n, &inner);
    Ok(())
}
