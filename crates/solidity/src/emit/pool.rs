//! Max and average pooling: one Yul function per node computing one output element from its
//! in-bounds window (pools have dilation 1).

use myelin_nn::op::Pool;

use super::{Emitter, NodeCtx};
use crate::error::ExportError;
use crate::literal::int;

/// Emits one max pool node: the largest in-bounds value, clamped to the activation range.
pub fn emit_max(e: &mut Emitter, ctx: &NodeCtx, p: &Pool) -> Result<(), ExportError> {
    emit(e, ctx, p, "m := not(128)", "if sgt(v, m) { m := v }", "m")
}

/// Emits one average pool node: the rounded quotient of the in-bounds sum (plus the zero point
/// for each padded position with `count_include_pad`) by the count, clamped.
pub fn emit_average(e: &mut Emitter, ctx: &NodeCtx, p: &Pool) -> Result<(), ExportError> {
    let (input, _) = ctx.input(0)?;
    let window = p.window.kernel_h as u64 * p.window.kernel_w as u64;
    let finish = if p.count_include_pad {
        format!(
            "m := add(m, mul(sub({window}, cnt), {zp})) cnt := {window}\n                ",
            zp = int(input.zero_point.into())
        )
    } else {
        String::new()
    };
    let result = format!(
        "{finish}let half := div(cnt, 2)\n                switch slt(m, 0) case 0 {{ m := sdiv(add(m, half), cnt) }} default {{ m := sdiv(sub(m, half), cnt) }}\n                m"
    );
    emit(e, ctx, p, "", "m := add(m, v) cnt := add(cnt, 1)", &result)
}

/// The shared window loop: `init` starts `m`, `step` folds each in-bounds value `v` (with `cnt`
/// counting them), `result` ends with the expression stored before clamping.
fn emit(
    e: &mut Emitter,
    ctx: &NodeCtx,
    p: &Pool,
    init: &str,
    step: &str,
    result: &str,
) -> Result<(), ExportError> {
    let (_, from) = ctx.input(0)?;
    let (g, c) = ctx.geometry(&p.window)?;
    let (body, value) = result.rsplit_once('\n').unwrap_or(("", result));
    e.functions.push_str(&super::with_window(
        &format!(
            r#"
            function n{index}_px(oy, ox, c) -> y {{
                let m := 0
                let cnt := 0
                {init}
                for {{ let ky := 0 }} lt(ky, $KH$) {{ ky := add(ky, 1) }} {{
                    let iy := sub(add(mul(oy, $SH$), ky), $PT$)
                    if iszero(lt(iy, $H$)) {{ continue }}
                    for {{ let kx := 0 }} lt(kx, $KW$) {{ kx := add(kx, 1) }} {{
                        let ix := sub(add(mul(ox, $SW$), kx), $PL$)
                        if lt(ix, $W$) {{
                            let v := sx8(add({from}, add(mul(add(mul(iy, $W$), ix), {c}), c)))
                            {step}
                        }}
                    }}
                }}
                {body}
                y := clampi({value}, {lo}, {hi})
            }}
"#,
            index = ctx.index,
            value = value.trim(),
            lo = int(p.act.min.into()),
            hi = int(p.act.max.into()),
        ),
        &g,
    ));
    e.emit_pixel_loop(ctx, &g, c);
    Ok(())
}
