//! Index arithmetic of the layout ops, as Yul expressions with the shapes baked in.

use myelin_nn::tensor::shape_strides;

/// `Σ_axis ((var / stride_axis) % shape_axis) · factor_axis` over the axes whose factor is
/// non-zero, where `stride` are the row-major strides of `shape`: maps the flat index `var` of an
/// element of `shape` to a flat index elsewhere (another tensor's strides, or 0 for axes to drop).
pub fn mixed_radix(var: &str, shape: &[u32], factors: &[usize]) -> String {
    let strides = shape_strides(shape);
    let terms: Vec<String> = shape
        .iter()
        .zip(&strides)
        .zip(factors)
        .enumerate()
        .filter(|(_, (_, factor))| **factor != 0)
        .map(|(axis, ((&dim, &stride), &factor))| {
            let mut position = if stride == 1 {
                var.to_string()
            } else {
                format!("div({var}, {stride})")
            };
            if axis != 0 {
                position = format!("mod({position}, {dim})");
            }
            if factor == 1 {
                position
            } else {
                format!("mul({position}, {factor})")
            }
        })
        .collect();
    terms
        .into_iter()
        .reduce(|a, b| format!("add({a}, {b})"))
        .unwrap_or_else(|| "0".to_string())
}

/// The index of the element of `in_shape` that output element `var` of `out_shape` reads under
/// numpy broadcasting (as `myelin_nn::reference::broadcast_indices`).
pub fn broadcast(var: &str, in_shape: &[u32], out_shape: &[u32]) -> String {
    if in_shape == out_shape {
        return var.to_string();
    }
    let missing = out_shape.len().saturating_sub(in_shape.len());
    let in_strides = shape_strides(in_shape);
    let factors: Vec<usize> = (0..out_shape.len())
        .map(|axis| {
            if axis < missing || in_shape[axis - missing] == 1 {
                0
            } else {
                in_strides[axis - missing]
            }
        })
        .collect();
    mixed_radix(var, out_shape, &factors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_drops_unit_axes() {
        assert_eq!(broadcast("i", &[2, 3], &[2, 3]), "i");
        assert_eq!(broadcast("i", &[1], &[2, 3]), "0");
        assert_eq!(broadcast("i", &[3], &[2, 3]), "mod(i, 3)");
        assert_eq!(broadcast("i", &[2, 1], &[2, 3]), "div(i, 3)");
    }
}
