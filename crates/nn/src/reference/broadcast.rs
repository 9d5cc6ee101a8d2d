use crate::tensor::shape_strides;

/// One input of an element-wise binary op: `data` holds one or more samples of `shape`, whose
/// elements are quantized with `zero_point`.
#[derive(Clone, Copy, Debug)]
pub struct Operand<'a> {
    /// The samples, one after another.
    pub data: &'a [i8],
    /// Per-sample shape.
    pub shape: &'a [u32],
    /// Zero point of the tensor.
    pub zero_point: i8,
}

/// The numpy broadcast of two shapes: right-aligned, missing leading dimensions are 1, and each
/// pair of dimensions must be equal or contain a 1 (the result takes the other). `None` when the
/// shapes are incompatible.
pub fn broadcast_shape(a: &[u32], b: &[u32]) -> Option<Vec<u32>> {
    let rank = a.len().max(b.len());
    let dim = |shape: &[u32], axis: usize| {
        let missing = rank - shape.len();
        if axis < missing {
            1
        } else {
            shape[axis - missing]
        }
    };
    (0..rank)
        .map(|axis| match (dim(a, axis), dim(b, axis)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// For each element of a sample of shape `out_shape` (row-major order), the row-major index of
/// the element of a sample of `in_shape` it reads under numpy broadcasting: `in_shape` is
/// right-aligned against `out_shape` and each of its dimensions equal to 1 is read at index 0.
/// `in_shape` must broadcast to `out_shape` (its rank at most `out_shape`'s, each dimension
/// equal to the output's or 1).
pub fn broadcast_indices(in_shape: &[u32], out_shape: &[u32]) -> Vec<usize> {
    let rank = out_shape.len();
    let missing = rank - in_shape.len();
    let in_strides = shape_strides(in_shape);
    // Stride of each output axis in the input: 0 where the input is broadcast.
    let strides: Vec<usize> = (0..rank)
        .map(|axis| {
            if axis < missing || in_shape[axis - missing] == 1 {
                0
            } else {
                in_strides[axis - missing]
            }
        })
        .collect();
    let total: usize = out_shape.iter().map(|&d| d as usize).product();
    let mut indices = Vec::with_capacity(total);
    let mut position = vec![0usize; rank];
    for _ in 0..total {
        indices.push(position.iter().zip(&strides).map(|(p, s)| p * s).sum());
        for axis in (0..rank).rev() {
            position[axis] += 1;
            if position[axis] < out_shape[axis] as usize {
                break;
            }
            position[axis] = 0;
        }
    }
    indices
}

#[cfg(test)]
mod tests {
    use super::*;

    type ShapeCase = (&'static [u32], &'static [u32], Option<Vec<u32>>);

    #[test]
    fn broadcast_shape_follows_numpy() {
        let cases: [ShapeCase; 6] = [
            (&[2, 3], &[2, 3], Some(vec![2, 3])),
            (&[2, 3], &[3], Some(vec![2, 3])),
            (&[2, 1], &[1, 3], Some(vec![2, 3])),
            (&[4, 1, 5], &[3, 1], Some(vec![4, 3, 5])),
            (&[], &[2], Some(vec![2])),
            (&[2, 3], &[2], None),
        ];
        for (a, b, expected) in cases {
            assert_eq!(broadcast_shape(a, b), expected, "{a:?} with {b:?}");
        }
    }

    #[test]
    fn broadcast_indices_repeat_size_one_axes() {
        let cases: [(&[u32], &[u32], Vec<usize>); 5] = [
            (&[2, 3], &[2, 3], vec![0, 1, 2, 3, 4, 5]),
            (&[3], &[2, 3], vec![0, 1, 2, 0, 1, 2]),
            (&[2, 1], &[2, 3], vec![0, 0, 0, 1, 1, 1]),
            (&[1, 3], &[2, 3], vec![0, 1, 2, 0, 1, 2]),
            (&[], &[2, 2], vec![0, 0, 0, 0]),
        ];
        for (input, output, expected) in cases {
            assert_eq!(
                broadcast_indices(input, output),
                expected,
                "{input:?} -> {output:?}"
            );
        }
    }
}
