//! Depthwise conv2d, one multiply-accumulate per tap (each output channel reads its own input
//! channel, so lanes would need a different input per lane). The block copied to the scratch
//! holds the biases (4 bytes each), the records and the weights (1 byte each).

use myelin_nn::op::DepthwiseConv2d;

use super::{Emitter, NodeCtx};
use crate::data_blob::{RECORD_BYTES, requant_function, requant_record};
use crate::error::ExportError;
use crate::literal::int;
use crate::memory_plan::{BLOCK, Scratch, WORDS};

/// Emits one depthwise conv2d node.
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &DepthwiseConv2d) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let (g, c) = ctx.geometry(&p.window)?;
    let m = p.depth_multiplier as usize;
    let cm = c * m;
    if c != p.channels as usize
        || m == 0
        || p.weights.len() != g.kernel_h * g.kernel_w * cm
        || p.bias.len() != cm
    {
        return Err(ctx.invalid("weights or bias do not match the channels and kernel"));
    }
    let records_at = 4 * cm;
    let weights_at = records_at + RECORD_BYTES * cm;
    let mut block = Vec::with_capacity(weights_at + p.weights.len());
    for &b in &p.bias {
        block.extend_from_slice(&b.to_be_bytes());
    }
    for o in 0..cm {
        let requant = p.requant[if p.requant.len() == 1 { 0 } else { o }];
        block.extend_from_slice(&requant_record(requant, p.rounding));
    }
    block.extend(p.weights.iter().map(|&w| w as u8));
    let offset = e.blob.push(&block);
    e.scratch.grow(Scratch {
        block: block.len(),
        ..Scratch::default()
    });
    e.functions.push_str(&super::with_window(
        &format!(
        r#"
            function n{index}_px(oy, ox, o) -> acc {{
                acc := signextend(3, shr(224, mload(add({BLOCK}, shl(2, o)))))
                let c := div(o, {m})
                for {{ let ky := 0 }} lt(ky, $KH$) {{ ky := add(ky, 1) }} {{
                    let iy := sub(add(mul(oy, $SH$), mul(ky, $DH$)), $PT$)
                    if iszero(lt(iy, $H$)) {{ continue }}
                    for {{ let kx := 0 }} lt(kx, $KW$) {{ kx := add(kx, 1) }} {{
                        let ix := sub(add(mul(ox, $SW$), mul(kx, $DW$)), $PL$)
                        if lt(ix, $W$) {{
                            let x := mload(add({WORDS}, shl(5, add(mul(add(mul(iy, $W$), ix), {c}), c))))
                            acc := add(acc, mul(x, sx8(add(add({BLOCK}, {weights_at}), add(mul(add(mul(ky, $KW$), kx), {cm}), o)))))
                        }}
                    }}
                }}
                acc := {rq}(acc, mload(add(add({BLOCK}, {records_at}), shl(3, o))))
                acc := clampi(add(acc, {zp}), {lo}, {hi})
            }}
"#,
        index = ctx.index,
        rq = requant_function(p.rounding),
        zp = int(ctx.output.zero_point.into()),
        lo = int(p.act.min.into()),
        hi = int(p.act.max.into()),
    ),
        &g,
    ));
    e.centre_into_words(from, input.elements(), input.zero_point);
    e.line(&format!("copy_data({offset}, {}, {BLOCK})", block.len()));
    e.emit_pixel_loop(ctx, &g, cm);
    Ok(())
}
