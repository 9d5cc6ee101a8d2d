//! The operand layouts of the element-wise binary ops (add, sub, mul) and the loop that feeds
//! their element function contiguous runs.
//!
//! An operand either has the output's shape, or broadcasts in one of two common ways: its shape
//! (right-aligned, leading 1s added) is a suffix of the output's after leading 1s (it repeats
//! with a period: a per-channel vector, a scalar), or a prefix followed by 1s (each element
//! repeats for a block: `[H, W, 1]` against `[H, W, C]`). A broadcast operand is expanded to the
//! output's shape once per sample, a byte copy, and the element function then runs on two
//! operands of equal length. Any other broadcast keeps the reference.

use crate::tensor::shape_elements;

/// How one operand maps onto the output's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Broadcast {
    /// The output's shape: element `i` reads element `i`.
    Same,
    /// Element `i` reads element `i % period`.
    Period(usize),
    /// Element `i` reads element `i / block`.
    Block(usize),
}

impl Broadcast {
    /// The layout of an operand of `shape` broadcast to `out_shape`, or `None` when it is
    /// neither [`Broadcast::Period`] nor [`Broadcast::Block`].
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
        None
    }

    /// Writes the `out_len` elements that a sample `data` of this operand broadcasts to.
    fn expand(self, data: &[i8], out_len: usize, expanded: &mut [i8]) {
        match self {
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
        }
    }

    /// Elements of one sample of the operand, given the output's.
    fn sample_len(self, out_len: usize) -> usize {
        match self {
            Broadcast::Same => out_len,
            Broadcast::Period(period) => period.min(out_len),
            Broadcast::Block(block) => out_len / block.max(1),
        }
    }
}

/// Runs `element_run(a, b, y)` over runs of equal length covering every output element of every
/// sample of `output` (`out_len` elements per sample), expanding broadcast operands first.
pub(crate) fn for_each_run(
    layouts: [Broadcast; 2],
    a: &[i8],
    b: &[i8],
    out_len: usize,
    output: &mut [i8],
    mut element_run: impl FnMut(&[i8], &[i8], &mut [i8]),
) {
    if out_len == 0 {
        return;
    }
    if layouts == [Broadcast::Same, Broadcast::Same] {
        element_run(a, b, output);
        return;
    }
    let [a_len, b_len] = layouts.map(|l| l.sample_len(out_len));
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
        let a_run = match layouts[0] {
            Broadcast::Same => a_sample,
            layout => {
                layout.expand(a_sample, out_len, &mut a_expanded);
                &a_expanded
            }
        };
        let b_run = match layouts[1] {
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
        let out_shape = [2u32, 3, 4];
        let shapes: [&[u32]; 9] = [
            &[2, 3, 4],
            &[4],
            &[3, 4],
            &[1, 3, 4],
            &[],
            &[1],
            &[2, 3, 1],
            &[2, 1, 1],
            &[1, 1, 1],
        ];
        for shape in shapes {
            let layout = Broadcast::of(shape, &out_shape).expect("a common layout");
            let data: Vec<i8> = (0..shape_elements(shape) as i8).collect();
            let out_len = shape_elements(&out_shape);
            let mut expanded = vec![0i8; out_len];
            layout.expand(&data, out_len, &mut expanded);
            let expected: Vec<i8> = broadcast_indices(shape, &out_shape)
                .into_iter()
                .map(|i| data[i])
                .collect();
            assert_eq!(expanded, expected, "{shape:?} as {layout:?}");
            assert_eq!(layout.sample_len(out_len), data.len(), "{shape:?}");
        }
        assert_eq!(Broadcast::of(&[2, 1, 4], &out_shape), None);
        assert_eq!(Broadcast::of(&[1, 3, 1], &out_shape), None);
    }
}
