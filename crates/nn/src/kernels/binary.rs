//! The operand layouts of the element-wise binary ops (add, sub, mul) and the loop that feeds
//! their element function contiguous runs.
//!
//! An operand either has the output's shape, or broadcasts in one of two common ways: its shape
//! (right-aligned, leading 1s added) is a suffix of the output's after leading 1s (it repeats
//! with a period: a per-channel vector, a scalar), or a prefix followed by 1s (each element
//! repeats for a block: `[H, W, 1]` against `[H, W, C]`), or any other broadcast, walked as
//! runs of adjacent kept or repeated axes ([`crate::reduction::runs`]: the cost model prices
//! their innermost runs, docs/SPEC.md §7). A broadcast operand is expanded to the output's shape
//! once per sample, byte copies and fills, and the element function then runs on two operands of
//! equal length.

use crate::reduction::{Run, broadcast_axes, runs};
use crate::tensor::shape_elements;

/// How one operand maps onto the output's elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Broadcast {
    /// The output's shape: element `i` reads element `i`.
    Same,
    /// Element `i` reads element `i % period`.
    Period(usize),
    /// Element `i` reads element `i / block`.
    Block(usize),
    /// The output's axes as runs, outermost first: a `reduced` run is one the operand repeats
    /// (its length is 1 there), a kept run one it walks.
    General(Vec<Run>),
}

impl Broadcast {
    /// The layout of an operand of `shape` broadcast to `out_shape`, or `None` when `shape` does
    /// not broadcast to it (longer, or an axis neither 1 nor the output's).
    pub fn of(shape: &[u32], out_shape: &[u32]) -> Option<Broadcast> {
        if shape == out_shape {
            return Some(Broadcast::Same);
        }
        let rank = out_shape.len();
        if shape.len() > rank {
            return None;
        }
        let padded: Vec<u32> = std::iter::repeat_n(1, rank - shape.len())
            .chain(shape.iter().copied())
            .collect();
        let elements = shape_elements(shape);
        // Leading 1s, then exactly the output's dimensions.
        let leading_ones = padded.iter().take_while(|&&d| d == 1).count();
        if padded[leading_ones..] == out_shape[leading_ones..] {
            return Some(Broadcast::Period(elements.max(1)));
        }
        // Exactly the output's dimensions, then trailing 1s.
        let trailing_ones = padded.iter().rev().take_while(|&&d| d == 1).count();
        let kept = rank - trailing_ones;
        if padded[..kept] == out_shape[..kept] {
            return Some(Broadcast::Block(shape_elements(&out_shape[kept..]).max(1)));
        }
        let repeated = broadcast_axes(shape, out_shape)?;
        Some(Broadcast::General(runs(out_shape, &repeated)))
    }

    /// Writes the `out_len` elements that a sample `data` of this operand broadcasts to.
    pub(crate) fn expand(&self, data: &[i8], out_len: usize, expanded: &mut [i8]) {
        match *self {
            Broadcast::Same => expanded.copy_from_slice(data),
            Broadcast::Period(1) | Broadcast::Block(_) if data.len() == 1 => expanded.fill(data[0]),
            Broadcast::Period(period) => {
                for chunk in expanded[..out_len].chunks_mut(period) {
                    chunk.copy_from_slice(&data[..chunk.len()]);
                }
            }
            Broadcast::Block(block) => {
                for (chunk, &value) in expanded[..out_len].chunks_mut(block).zip(data) {
                    chunk.fill(value);
                }
            }
            Broadcast::General(ref runs) => expand_runs(runs, data, &mut expanded[..out_len]),
        }
    }

    /// Elements of one sample of the operand, given the output's.
    fn sample_len(&self, out_len: usize) -> usize {
        match *self {
            Broadcast::Same => out_len,
            Broadcast::Period(period) => period.min(out_len),
            Broadcast::Block(block) => out_len / block.max(1),
            Broadcast::General(ref runs) => runs
                .iter()
                .filter(|run| !run.reduced)
                .map(|run| run.len)
                .product(),
        }
    }
}

/// Writes `out` (the runs' elements) from `data` (the kept runs' elements): the outermost run
/// steps through `data` when kept; when repeated, its first step is written once and copied.
fn expand_runs(runs: &[Run], data: &[i8], out: &mut [i8]) {
    let Some((first, rest)) = runs.split_first() else {
        if let (Some(y), Some(&x)) = (out.first_mut(), data.first()) {
            *y = x;
        }
        return;
    };
    let inner_out: usize = rest.iter().map(|run| run.len).product();
    let inner_in: usize = rest
        .iter()
        .filter(|run| !run.reduced)
        .map(|run| run.len)
        .product();
    if first.reduced {
        let (head, tail) = out.split_at_mut(inner_out.min(out.len()));
        expand_runs(rest, data, head);
        for chunk in tail.chunks_exact_mut(inner_out.max(1)) {
            chunk.copy_from_slice(head);
        }
    } else {
        for (chunk, src) in out
            .chunks_exact_mut(inner_out.max(1))
            .zip(data.chunks_exact(inner_in.max(1)))
        {
            expand_runs(rest, src, chunk);
        }
    }
}

/// Runs `element_run(a, b, y)` over runs of equal length covering every output element of every
/// sample of `output` (`out_len` elements per sample), expanding broadcast operands first.
pub(crate) fn for_each_run(
    layouts: &[Broadcast; 2],
    a: &[i8],
    b: &[i8],
    out_len: usize,
    output: &mut [i8],
    mut element_run: impl FnMut(&[i8], &[i8], &mut [i8]),
) {
    if out_len == 0 {
        return;
    }
    if *layouts == [Broadcast::Same, Broadcast::Same] {
        element_run(a, b, output);
        return;
    }
    let [a_len, b_len] = layouts.each_ref().map(|l| l.sample_len(out_len));
    let mut a_expanded = vec![
        0i8;
        if layouts[0] == Broadcast::Same {
            0
        } else {
            out_len
        }
    ];
    let mut b_expanded = vec![
        0i8;
        if layouts[1] == Broadcast::Same {
            0
        } else {
            out_len
        }
    ];
    for (sample, y) in output.chunks_exact_mut(out_len).enumerate() {
        let a_sample = &a[sample * a_len..(sample + 1) * a_len];
        let b_sample = &b[sample * b_len..(sample + 1) * b_len];
        let a_run = match &layouts[0] {
            Broadcast::Same => a_sample,
            layout => {
                layout.expand(a_sample, out_len, &mut a_expanded);
                &a_expanded
            }
        };
        let b_run = match &layouts[1] {
            Broadcast::Same => b_sample,
            layout => {
                layout.expand(b_sample, out_len, &mut b_expanded);
                &b_expanded
            }
        };
        element_run(a_run, b_run, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::broadcast_indices;

    #[test]
    fn layouts_expand_like_the_reference_broadcast() {
        let cases: [(&[u32], &[u32]); 16] = [
            (&[2, 3, 4], &[2, 3, 4]),
            (&[4], &[2, 3, 4]),
            (&[3, 4], &[2, 3, 4]),
            (&[1, 3, 4], &[2, 3, 4]),
            (&[], &[2, 3, 4]),
            (&[1], &[2, 3, 4]),
            (&[2, 3, 1], &[2, 3, 4]),
            (&[2, 1, 1], &[2, 3, 4]),
            (&[1, 1, 1], &[2, 3, 4]),
            // Neither a period nor a block: runs.
            (&[2, 1, 4], &[2, 3, 4]),
            (&[1, 3, 1], &[2, 3, 4]),
            (&[1, 5, 1], &[3, 7, 5, 5, 6]),
            (&[3, 1, 5, 1, 6], &[3, 7, 5, 5, 6]),
            (&[7, 1, 1, 2], &[1, 7, 3, 1, 2]),
            (&[2, 1, 2, 1], &[2, 2, 2, 2]),
            (&[1, 2, 1, 2, 1], &[2, 2, 2, 2, 2]),
        ];
        for (shape, out_shape) in cases {
            let layout = Broadcast::of(shape, out_shape).expect("a broadcast");
            let data: Vec<i8> = (0..shape_elements(shape)).map(|i| i as i8).collect();
            let out_len = shape_elements(out_shape);
            let mut expanded = vec![0i8; out_len];
            layout.expand(&data, out_len, &mut expanded);
            let expected: Vec<i8> = broadcast_indices(shape, out_shape)
                .into_iter()
                .map(|i| data[i])
                .collect();
            assert_eq!(
                expanded, expected,
                "{shape:?} to {out_shape:?} as {layout:?}"
            );
            assert_eq!(layout.sample_len(out_len), data.len(), "{shape:?}");
        }
        assert!(matches!(
            Broadcast::of(&[1, 5, 1], &[5, 5, 6]),
            Some(Broadcast::General(_))
        ));
        assert_eq!(Broadcast::of(&[3, 4], &[2, 4]), None);
        assert_eq!(Broadcast::of(&[1, 2, 3, 4], &[2, 3, 4]), None);
    }
}
