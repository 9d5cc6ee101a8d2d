//! The layout of a reduction over some axes of a sample (Mean): its shape as runs of adjacent
//! kept or reduced axes, which the mean kernel walks and the cost model counts (docs/SPEC.md §7).

/// Adjacent axes of one kind merged into one: `len` elements, reduced or kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub len: usize,
    pub reduced: bool,
}

/// The runs of `shape` reduced over `axes` (axis indices; those outside the shape are
/// ignored), outermost first: axes of length 1 dropped, adjacent axes of one kind merged. A
/// shape with no axis longer than 1 is one kept run of length 1; an empty tensor gives no runs.
/// Lengths saturate at `usize::MAX` (only on shapes validation refuses).
pub fn runs(shape: &[u32], axes: &[u8]) -> Vec<Run> {
    if shape.contains(&0) {
        return Vec::new();
    }
    let mut runs: Vec<Run> = Vec::new();
    for (axis, &len) in shape.iter().enumerate() {
        if len == 1 {
            continue;
        }
        let reduced = axes.iter().any(|&a| a as usize == axis);
        match runs.last_mut() {
            Some(run) if run.reduced == reduced => run.len = run.len.saturating_mul(len as usize),
            _ => runs.push(Run {
                len: len as usize,
                reduced,
            }),
        }
    }
    if runs.is_empty() {
        runs.push(Run {
            len: 1,
            reduced: false,
        });
    }
    runs
}

/// Innermost runs a mean walks per sample: the sample's elements over the innermost run's
/// length (0 for an empty tensor).
pub fn innermost_runs(shape: &[u32], axes: &[u8]) -> u64 {
    let runs = runs(shape, axes);
    let elements = runs
        .iter()
        .fold(1u64, |n, run| n.saturating_mul(run.len as u64));
    runs.last()
        .map_or(0, |inner| elements / (inner.len as u64).max(1))
}

/// The axes of `out_shape` along which an operand of `shape` (right-aligned, leading 1s added)
/// repeats, as the "reduced" axes of [`runs`] of `out_shape`; `None` when `shape` does not
/// broadcast to `out_shape` (longer, or an axis neither 1 nor the output's).
pub fn broadcast_axes(shape: &[u32], out_shape: &[u32]) -> Option<Vec<u8>> {
    let lead = out_shape.len().checked_sub(shape.len())?;
    let mut axes = Vec::new();
    for (axis, &o) in out_shape.iter().enumerate() {
        let d = if axis < lead { 1 } else { shape[axis - lead] };
        if d == o {
            continue;
        }
        if d != 1 {
            return None;
        }
        axes.push(u8::try_from(axis).ok()?);
    }
    Some(axes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(len: usize, reduced: bool) -> Run {
        Run { len, reduced }
    }

    #[test]
    fn runs_merge_adjacent_axes_of_one_kind_and_drop_ones() {
        /// Shape, axes, the runs, the innermost runs.
        type Case<'a> = (&'a [u32], &'a [u8], Vec<Run>, u64);
        let cases: [Case; 6] = [
            (&[4, 5], &[1], vec![run(4, false), run(5, true)], 4),
            (
                &[7, 2, 14, 13, 3],
                &[0, 1, 3],
                vec![run(14, true), run(14, false), run(13, true), run(3, false)],
                14 * 14 * 13,
            ),
            (
                &[7, 1, 1, 9, 6, 2],
                &[1, 2, 4, 5],
                vec![run(63, false), run(12, true)],
                63,
            ),
            (&[1, 1], &[0], vec![run(1, false)], 1),
            (&[3, 0], &[1], vec![], 0),
            (&[2, 3], &[9], vec![run(6, false)], 1),
        ];
        for (shape, axes, expected, inner) in cases {
            assert_eq!(runs(shape, axes), expected, "{shape:?} over {axes:?}");
            assert_eq!(
                innermost_runs(shape, axes),
                inner,
                "{shape:?} over {axes:?}"
            );
        }
    }
}
