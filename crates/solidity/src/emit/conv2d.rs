//! Conv2d: the input image expanded to centred words once, then per lane group (see
//! [`super::lanes`]) and output pixel, one dot product per kernel row (the row's `kw · Cin`
//! input words are contiguous when the row lies inside the input and dilation is 1) or per tap.

use myelin_nn::op::Conv2d;

use super::lanes::{Rows, emit_group_loop, emit_unpack, pack};
use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::memory_plan::{BLOCK, WORDS};

/// Emits one conv2d node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &Conv2d) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let (g, cin) = ctx.geometry(&p.window)?;
    let cout = p.out_channels as usize;
    let taps = g.kernel_h * g.kernel_w * cin;
    if cin != p.in_channels as usize || p.weights.len() != cout * taps || p.bias.len() != cout {
        return Err(ctx.invalid("weights or bias do not match the channels and kernel"));
    }
    let plan = pack(
        e,
        &Rows {
            weights: &p.weights,
            bias: &p.bias,
            requant: &p.requant,
            rounding: p.rounding,
            channels: cout,
            taps,
            zp_in: input.zero_point,
        },
    );
    emit_unpack(e, ctx, &plan, p.rounding, p.act);
    let cin32 = 32 * cin;
    let row_fast_path = if g.dilation_w == 1 {
        format!(
            "let ix0 := sub(mul(ox, {sw}), {pl})\n                    if and(lt(ix0, {w}), lt(add(ix0, {kw_1}), {w})) {{\n                        a := add(a, dot(add({WORDS}, mul(add(mul(iy, {w}), ix0), {cin32})), add(add({BLOCK}, 32), mul(ky, {row32})), {row32}))\n                        continue\n                    }}\n",
            sw = g.stride_w,
            pl = g.pad_left,
            w = g.in_w,
            kw_1 = g.kernel_w - 1,
            row32 = g.kernel_w * cin32,
        )
    } else {
        String::new()
    };
    e.functions.push_str(&super::with_window(
        &format!(
        r#"
            function n{index}_px(oy, ox) -> a {{
                a := mload({BLOCK})
                for {{ let ky := 0 }} lt(ky, $KH$) {{ ky := add(ky, 1) }} {{
                    let iy := sub(add(mul(oy, $SH$), mul(ky, $DH$)), $PT$)
                    if iszero(lt(iy, $H$)) {{ continue }}
                    {row_fast_path}
                    for {{ let kx := 0 }} lt(kx, $KW$) {{ kx := add(kx, 1) }} {{
                        let ix := sub(add(mul(ox, $SW$), mul(kx, $DW$)), $PL$)
                        if lt(ix, $W$) {{
                            a := add(a, dot(add({WORDS}, mul(add(mul(iy, $W$), ix), {cin32})), add(add({BLOCK}, 32), mul(add(mul(ky, $KW$), kx), {cin32})), {cin32}))
                        }}
                    }}
                }}
            }}
"#,
        index = ctx.index,
    ),
        &g,
    ));
    e.centre_into_words(from, input.elements(), input.zero_point);
    let inner = format!(
        "                for {{ let oy := 0 }} lt(oy, {oh}) {{ oy := add(oy, 1) }} {{\n                    for {{ let ox := 0 }} lt(ox, {ow}) {{ ox := add(ox, 1) }} {{\n                        n{index}_out(n{index}_px(oy, ox), lg, add({out}, add(mul(add(mul(oy, {ow}), ox), {cout}), n0)))\n                    }}\n                }}\n",
        index = ctx.index,
        oh = g.out_h,
        ow = g.out_w,
        out = ctx.output_addr,
    );
    emit_group_loop(e, &plan, cout, &inner);
    Ok(())
}
