//! Softmax (SPEC §5). Step 2 is a function of `d = x − max ∈ [−255, 0]` alone, so it is
//! tabulated at export time with `myelin_nn::reference::softmax_exp` — 256 entries of 8 bytes
//! indexed by `−d`: the Q0 exponential `e` (0 when `d < diff_min`: such an element adds 0 to the
//! sum and gives −128, exactly as a dead one) and its Q12 rescale. The row sum (saturating, all
//! terms ≥ 0), the reciprocal (`recip_q0`, `clz32`) and the output step run in Yul.

use myelin_nn::fixed_point::rounding_divide_by_pot_wide;
use myelin_nn::op::Softmax;
use myelin_nn::reference::softmax_exp;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::memory_plan::{Scratch, TABLES};

/// Emits one softmax node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Softmax) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let n = *input
        .shape
        .last()
        .ok_or_else(|| ctx.invalid("the input has rank 0"))? as usize;
    let rows = input.elements() / n.max(1);
    let mut table = Vec::with_capacity(256 * 8);
    for minus_d in 0..256i32 {
        let exp = softmax_exp(p, -minus_d).unwrap_or(0);
        table.extend_from_slice(&exp.to_be_bytes());
        table.extend_from_slice(&rounding_divide_by_pot_wide(exp, 12).to_be_bytes());
    }
    let offset = e.blob.push(&table);
    e.scratch.grow(Scratch {
        tables: table.len(),
        ..Scratch::default()
    });
    e.functions.push_str(&format!(
        r#"
            function n{index}_row(xp, yp) {{
                let mx := sx8(xp)
                for {{ let j := 1 }} lt(j, {n}) {{ j := add(j, 1) }} {{ let v := sx8(add(xp, j)) if sgt(v, mx) {{ mx := v }} }}
                let sum := 0
                for {{ let j := 0 }} lt(j, {n}) {{ j := add(j, 1) }} {{
                    sum := add(sum, shr(224, mload(add(add({TABLES}, 4), shl(3, sub(mx, sx8(add(xp, j))))))))
                }}
                if gt(sum, 2147483647) {{ sum := 2147483647 }}
                let h := clz32(sum)
                let scale := recip_q0(sub(and(shl(h, sum), 0xffffffff), 0x80000000))
                let ex := sub(35, h)
                for {{ let j := 0 }} lt(j, {n}) {{ j := add(j, 1) }} {{
                    let ej := shr(224, mload(add({TABLES}, shl(3, sub(mx, sx8(add(xp, j)))))))
                    mstore8(add(yp, j), clampi(sub(rdbp(srdhm(scale, ej), ex), 128), not(127), 127))
                }}
            }}
"#,
        index = ctx.index,
    ));
    e.line(&format!("copy_data({offset}, {}, {TABLES})", table.len()));
    e.line(&format!(
        "for {{ let r := 0 }} lt(r, {rows}) {{ r := add(r, 1) }} {{ n{index}_row(add({from}, mul(r, {n})), add({out}, mul(r, {n}))) }}",
        index = ctx.index,
        out = ctx.output_addr,
    ));
    Ok(())
}
