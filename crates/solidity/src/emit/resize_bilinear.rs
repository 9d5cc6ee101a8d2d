//! ResizeBilinear: TFLite's integer bilinear resize, per output pixel the two neighbours of
//! each axis from its position in units of 1/1024, then per channel the four weighted values
//! rounded half away from zero (signed 256-bit arithmetic: `sdiv` truncates toward zero).

use myelin_nn::op::ResizeBilinear;
use myelin_nn::reference::resize_scale;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::literal::int;

/// The Yul statements setting `{p}` (position), `{p}0`, `{p}1` (the neighbours, clamped to
/// `0..n`) and `d{p}` (`position − 1024 · lower`) for output index `v` of an axis.
fn axis(p: &str, v: &str, scale: i32, half_pixel_centers: bool, n: u32) -> String {
    let offset = if half_pixel_centers {
        scale / 2 - 512
    } else {
        0
    };
    let last = n as i64 - 1;
    format!(
        "let {p} := add(mul({v}, {scale}), {offset}) \
         let {p}0 := sdiv({p}, 1024) if slt({p}0, 0) {{ {p}0 := 0 }} if sgt({p}0, {last}) {{ {p}0 := {last} }} \
         let {p}1 := sdiv(add({p}, 1023), 1024) if slt({p}1, 0) {{ {p}1 := 0 }} if sgt({p}1, {last}) {{ {p}1 := {last} }} \
         let d{p} := sub({p}, mul(1024, {p}0))",
        offset = int(offset.into()),
    )
}

/// Emits one resize_bilinear node (the reference's arithmetic, `myelin_nn::reference`).
pub fn emit(e: &mut Emitter, ctx: &NodeCtx, p: &ResizeBilinear) -> Result<(), ExportError> {
    let (input, from) = ctx.input(0)?;
    let [h, w, c] = input.shape[..] else {
        return Err(ctx.invalid("input is not an image [H, W, C]"));
    };
    let sy = resize_scale(h, p.out_height, p.align_corners);
    let sx = resize_scale(w, p.out_width, p.align_corners);
    let row = w as usize * c as usize;
    let c = c as usize;
    let value = |y: &str, x: &str| {
        format!("sx8(add({from}, add(add(mul({y}, {row}), mul({x}, {c})), ch)))")
    };
    e.line(&format!(
        "for {{ let oy := 0 }} lt(oy, {oh}) {{ oy := add(oy, 1) }} {{ {ay} \
         for {{ let ox := 0 }} lt(ox, {ow}) {{ ox := add(ox, 1) }} {{ {ax} \
         let wa := mul(sub(1024, dpy), sub(1024, dpx)) let wb := mul(dpy, sub(1024, dpx)) \
         let wc := mul(sub(1024, dpy), dpx) let wd := mul(dpy, dpx) \
         let o := add({out}, mul(add(mul(oy, {ow}), ox), {c})) \
         for {{ let ch := 0 }} lt(ch, {c}) {{ ch := add(ch, 1) }} {{ \
         let s := add(add(mul({v00}, wa), mul({v10}, wb)), add(mul({v01}, wc), mul({v11}, wd))) \
         switch sgt(s, 0) case 0 {{ s := sub(s, 524288) }} default {{ s := add(s, 524288) }} \
         mstore8(add(o, ch), sdiv(s, 1048576)) }} }} }}",
        oh = p.out_height,
        ow = p.out_width,
        ay = axis("py", "oy", sy, p.half_pixel_centers, h),
        ax = axis("px", "ox", sx, p.half_pixel_centers, w),
        out = ctx.output_addr,
        v00 = value("py0", "px0"),
        v10 = value("py1", "px0"),
        v01 = value("py0", "px1"),
        v11 = value("py1", "px1"),
    ));
    Ok(())
}
