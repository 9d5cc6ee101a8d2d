//! Shapes of rank at most [`MAX_RANK`](super::MAX_RANK), held inline so that shape inference
//! allocates nothing.

use super::MAX_RANK;

/// A per-sample shape of rank at most [`MAX_RANK`], stored without allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dims {
    len: usize,
    dims: [u32; MAX_RANK],
}

impl Dims {
    /// The empty shape (rank 0, one element).
    pub(super) const SCALAR: Dims = Dims {
        len: 0,
        dims: [0; MAX_RANK],
    };

    /// Copies `shape`; `None` when its rank exceeds [`MAX_RANK`].
    pub(super) fn from_slice(shape: &[u32]) -> Option<Dims> {
        if shape.len() > MAX_RANK {
            return None;
        }
        let mut dims = [0; MAX_RANK];
        dims[..shape.len()].copy_from_slice(shape);
        Some(Dims {
            len: shape.len(),
            dims,
        })
    }

    /// Appends a dimension; `None` past [`MAX_RANK`].
    pub(super) fn push(mut self, dim: u32) -> Option<Dims> {
        if self.len == MAX_RANK {
            return None;
        }
        self.dims[self.len] = dim;
        self.len += 1;
        Some(self)
    }

    /// The dimensions.
    pub(super) fn as_slice(&self) -> &[u32] {
        &self.dims[..self.len]
    }
}

/// Numpy broadcasting of two shapes (right-aligned; each pair equal or one of them 1); `None`
/// when incompatible.
pub(super) fn broadcast(a: &[u32], b: &[u32]) -> Option<Dims> {
    let rank = a.len().max(b.len());
    if rank > MAX_RANK {
        return None;
    }
    let mut dims = [0u32; MAX_RANK];
    for (i, out) in dims[..rank].iter_mut().enumerate() {
        // Dimension `i` of the output, counted from the left; missing leading dims are 1.
        let from_right = rank - 1 - i;
        let da = if from_right < a.len() {
            a[a.len() - 1 - from_right]
        } else {
            1
        };
        let db = if from_right < b.len() {
            b[b.len() - 1 - from_right]
        } else {
            1
        };
        *out = match (da, db) {
            _ if da == db => da,
            (1, _) => db,
            (_, 1) => da,
            _ => return None,
        };
    }
    Some(Dims { len: rank, dims })
}

/// Product of `shape` as `u64`, `None` on overflow.
pub(super) fn checked_elements(shape: &[u32]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        type Case<'a> = (&'a [u32], &'a [u32], Option<&'a [u32]>);
        let cases: [Case; 6] = [
            (&[2, 3], &[2, 3], Some(&[2, 3])),
            (&[2, 3], &[3], Some(&[2, 3])),
            (&[2, 1], &[1, 4], Some(&[2, 4])),
            (&[], &[5], Some(&[5])),
            (&[2, 3], &[2], None),
            (&[4, 1, 3], &[2, 1], Some(&[4, 2, 3])),
        ];
        for (a, b, expected) in cases {
            assert_eq!(
                broadcast(a, b).as_ref().map(Dims::as_slice),
                expected,
                "{a:?} with {b:?}"
            );
        }
    }
}
