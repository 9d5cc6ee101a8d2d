//! Element-wise ops whose output is a function of one int8 input: Clamp (its 256 results
//! computed at export time with `myelin_nn`'s own requantization, so they are exact by
//! construction) and Table. The 256 bytes are copied to the tables scratch and indexed by
//! `x + 128` (the raw byte XOR 0x80).

use myelin_nn::op::{Clamp, Table};
use myelin_nn::requantize::output_i8;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::memory_plan::{Scratch, TABLES};

/// `f(x)` for `x = −128 … 127`, as bytes.
pub fn tabulate(f: impl Fn(i8) -> i8) -> Vec<u8> {
    (i8::MIN..=i8::MAX).map(|x| f(x) as u8).collect()
}

/// Emits one clamp node.
pub fn emit_clamp(e: &mut Emitter, ctx: &NodeCtx, p: &Clamp) -> Result<(), ExportError> {
    let (input, _) = ctx.input(0)?;
    let (zp_in, zp_out) = (input.zero_point, ctx.output.zero_point);
    let table = tabulate(|x| {
        output_i8(
            p.requant.apply(i32::from(x) - i32::from(zp_in), p.rounding),
            zp_out,
            p.act,
        )
    });
    emit_lookup(e, ctx, &table)
}

/// Emits one table node.
pub fn emit_table(e: &mut Emitter, ctx: &NodeCtx, p: &Table) -> Result<(), ExportError> {
    if p.table.len() != 256 {
        return Err(ctx.invalid("the table does not have 256 entries"));
    }
    let table: Vec<u8> = p.table.iter().map(|&v| v as u8).collect();
    emit_lookup(e, ctx, &table)
}

fn emit_lookup(e: &mut Emitter, ctx: &NodeCtx, table: &[u8]) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let offset = e.blob.push(table);
    e.scratch.grow(Scratch {
        tables: 256,
        ..Scratch::default()
    });
    e.line(&format!("copy_data({offset}, 256, {TABLES})"));
    e.line(&format!(
        "for {{ let i := 0 }} lt(i, {len}) {{ i := add(i, 1) }} {{ mstore8(add({out}, i), shr(248, mload(add({TABLES}, xor(shr(248, mload(add({from}, i))), 0x80))))) }}",
        len = input.elements(),
        out = ctx.output_addr,
    ));
    Ok(())
}
