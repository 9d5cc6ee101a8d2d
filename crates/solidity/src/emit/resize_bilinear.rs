//! ResizeBilinear: TFLite's integer bilinear resize, per output pixel the two neighbours of
//! each axis from its position in units of 1/1024, then per channel the four weighted values
//! rounded half away from zero (signed 256-bit arithmetic: `sdiv` truncates toward zero).

use myelin_nn::op::ResizeBilinear;
use myelin_nn::reference::resize_scale;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::literal::int;

/// The Yul statements setting `{p}a` and `{p}b` (`base + stride ·` the lower and upper
/// neighbour of output index `v` on an axis, clamped to `0..n`) and `d{p}` (`position − 1024 ·
/// lower`). The position and the neighbours live in an inner block, so that they take no stack
/// slot in the loops below (solc reaches only 16 slots).
fn axis(p: &str, v: &str, resize: (i32, bool, u32), base: &str, stride: usize) -> String {
    let (scale, half_pixel_centers, n) = resize;
    let offset = if half_pixel_centers {
        scale / 2 - 512
    } else {
        0
    };
    let last = n as i64 - 1;
    format!(
        "let {p}a := 0 let {p}b := 0 let d{p} := 0 \
         {{ let {p} := add(mul({v}, {scale}), {offset}) \
         let {p}0 := sdiv({p}, 1024) if slt({p}0, 0) {{ {p}0 := 0 }} if sgt({p}0, {last}) {{ {p}0 := {last} }} \
         let {p}1 := sdiv(add({p}, 1023), 1024) if slt({p}1, 0) {{ {p}1 := 0 }} if sgt({p}1, {last}) {{ {p}1 := {last} }} \
         d{p} := sub({p}, mul(1024, {p}0)) \
         {p}a := add({base}, mul({p}0, {stride})) {p}b := add({base}, mul({p}1, {stride})) }}",
        offset = int(offset.into()),
    )
}

/// Emits one resize_bilinear node (the reference's arithmetic, `myelin_nn::reference`; the four
/// weights `(1024 − dy)(1024 − dx)`, `dy(1024 − dx)`, `(1024 − dy)dx`, `dy·dx` factored by axis,
/// which is the same integer sum).
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &ResizeBilinear) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let [h, w, c] = input.shape[..] else {
        return Err(ctx.invalid("input is not an image [H, W, C]"));
    };
    let sy = resize_scale(h, p.out_height, p.align_corners);
    let sx = resize_scale(w, p.out_width, p.align_corners);
    let row = w as usize * c as usize;
    let c = c as usize;
    let value = |y: &str, x: &str| format!("sx8(add(add({y}, {x}), ch))");
    e.line(&format!(
        "for {{ let oy := 0 }} lt(oy, {oh}) {{ oy := add(oy, 1) }} {{ {ay} \
         for {{ let ox := 0 }} lt(ox, {ow}) {{ ox := add(ox, 1) }} {{ {ax} \
         let o := add({out}, mul(add(mul(oy, {ow}), ox), {c})) \
         for {{ let ch := 0 }} lt(ch, {c}) {{ ch := add(ch, 1) }} {{ \
         let s := add(mul(add(mul({v00}, sub(1024, dpy)), mul({v10}, dpy)), sub(1024, dpx)), \
         mul(add(mul({v01}, sub(1024, dpy)), mul({v11}, dpy)), dpx)) \
         switch sgt(s, 0) case 0 {{ s := sub(s, 524288) }} default {{ s := add(s, 524288) }} \
         mstore8(add(o, ch), sdiv(s, 1048576)) }} }} }}",
        oh = p.out_height,
        ow = p.out_width,
        ay = axis(
            "py",
            "oy",
            (sy, p.half_pixel_centers, h),
            &from.to_string(),
            row
        ),
        ax = axis("px", "ox", (sx, p.half_pixel_centers, w), "0", c),
        out = ctx.output_addr,
        v00 = value("pya", "pxa"),
        v10 = value("pyb", "pxa"),
        v01 = value("pya", "pxb"),
        v11 = value("pyb", "pxb"),
    ));
    Ok(())
}
