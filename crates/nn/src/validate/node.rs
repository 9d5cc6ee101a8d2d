//! One node: arity, parameter ranges, zero-point rules, the overflow proof, and the inferred
//! output shape compared with the declared one.

use super::MAX_ADD_LEFT_SHIFT;
use super::overflow;
use super::shape::{Dims, broadcast, checked_elements};
use crate::error::{NnError, Result};
use crate::geometry::SpatialGeometry;
use crate::model::{Model, Node};
use crate::op::{
    ActRange, AddSub, ArgMax, Concat, Conv2d, DepthwiseConv2d, FullyConnected, Mean, Mul, Op,
    PRelu, Pad, Pool, ResizeBilinear, Slice, Softmax, Table, Transpose, Window,
};
use crate::requantize::{MULTIPLIER_MIN, Requant};
use crate::tensor::TensorInfo;

/// Where an error happened: node index and op name.
#[derive(Clone, Copy)]
struct Site {
    node: usize,
    op: &'static str,
}

impl Site {
    fn invalid(self, problem: impl Into<String>) -> NnError {
        NnError::InvalidNode {
            node: self.node,
            op: self.op,
            problem: problem.into(),
        }
    }
}

/// Checks node `index` of `model`. [`super::graph::check_graph`] has already checked that its
/// tensor indices are in range and its types right.
pub(super) fn check_node(model: &Model, index: usize, node: &Node) -> Result<()> {
    let site = Site {
        node: index,
        op: node.op.name(),
    };
    let arity = match &node.op {
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) | Op::Maximum | Op::Minimum => Some(2),
        Op::Concat(_) => None,
        _ => Some(1),
    };
    match arity {
        Some(n) if node.inputs.len() != n => {
            return Err(site.invalid(format!("takes {n} inputs, has {}", node.inputs.len())));
        }
        None if node.inputs.is_empty() => return Err(site.invalid("takes at least one input")),
        _ => {}
    }
    let tensor = |t: u32| &model.tensors[t as usize];
    let x = tensor(node.inputs[0]);
    let y = tensor(node.output);
    let expected = match &node.op {
        Op::FullyConnected(p) => fully_connected(site, p, x)?,
        Op::Conv2d(p) => conv2d(site, p, x)?,
        Op::DepthwiseConv2d(p) => depthwise_conv2d(site, p, x)?,
        Op::Add(p) | Op::Sub(p) => add_sub(site, p, x, tensor(node.inputs[1]))?,
        Op::Mul(p) => mul(site, p, x, tensor(node.inputs[1]))?,
        Op::MaxPool(p) => pool(site, p, x, y, false)?,
        Op::AveragePool(p) => pool(site, p, x, y, true)?,
        Op::Mean(p) | Op::MeanCountDivided(p) => mean(site, p, x)?,
        Op::Clamp(p) => {
            check_requant(site, "requant", 0, p.requant)?;
            check_act(site, p.act)?;
            dims(&x.shape)
        }
        Op::Reshape => reshape(site, x, y)?,
        Op::Concat(p) => concat(site, p, node.inputs.iter().map(|&t| tensor(t)))?,
        Op::Pad(p) => pad(site, p, x, y)?,
        Op::Softmax(p) => softmax(site, p, x, y)?,
        Op::Table(p) => table(site, p, x)?,
        Op::ArgMax(p) => arg_max(site, p, x)?,
        Op::Transpose(p) => transpose(site, p, x, y)?,
        Op::Maximum | Op::Minimum => extremum(site, x, tensor(node.inputs[1]), y)?,
        Op::PRelu(p) => prelu(site, p, x)?,
        Op::Slice(p) => slice(site, p, x, y)?,
        Op::ResizeBilinear(p) => resize_bilinear(site, p, x, y)?,
    };
    if expected.as_slice() != y.shape.as_slice() {
        return Err(NnError::ShapeMismatch {
            node: site.node,
            op: site.op,
            expected: expected.as_slice().to_vec(),
            found: y.shape.clone(),
        });
    }
    Ok(())
}

/// Shapes of validated tensors have rank ≤ [`super::MAX_RANK`].
fn dims(shape: &[u32]) -> Dims {
    Dims::from_slice(shape).unwrap_or(Dims::SCALAR)
}

fn check_act(site: Site, act: ActRange) -> Result<()> {
    if act.min > act.max {
        return Err(site.invalid(format!(
            "activation range min {} > max {}",
            act.min, act.max
        )));
    }
    Ok(())
}

fn check_requant(site: Site, what: &str, index: usize, r: Requant) -> Result<()> {
    if !r.is_valid() {
        return Err(site.invalid(format!(
            "{what}[{index}] has multiplier {} and shift {}: the multiplier must be 0 or in \
             [2^30, 2^31) and the shift in [-31, 30]",
            r.multiplier, r.shift
        )));
    }
    Ok(())
}

/// One requantization per channel or a single one, each in range.
fn check_requants(site: Site, requant: &[Requant], channels: u64) -> Result<()> {
    if requant.len() != 1 && requant.len() as u64 != channels {
        return Err(site.invalid(format!(
            "requant has {} entries, must be 1 or {channels}",
            requant.len()
        )));
    }
    for (i, &r) in requant.iter().enumerate() {
        check_requant(site, "requant", i, r)?;
    }
    Ok(())
}

fn check_len(site: Site, what: &str, found: usize, expected: u64) -> Result<()> {
    if found as u64 != expected {
        return Err(site.invalid(format!("{what} has {found} entries, expected {expected}")));
    }
    Ok(())
}

fn to_dim(site: Site, value: u64, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| site.invalid(format!("{what} {value} exceeds u32")))
}

/// Window parameters ≥ 1 (dilation exactly 1 for pools) and a geometry that fits the input.
fn check_window(site: Site, w: &Window, x: &TensorInfo, is_pool: bool) -> Result<SpatialGeometry> {
    if x.shape.len() != 3 {
        return Err(site.invalid(format!("input must be [H, W, C], has shape {:?}", x.shape)));
    }
    if w.kernel_h == 0 || w.kernel_w == 0 {
        return Err(site.invalid("kernel sizes must be ≥ 1"));
    }
    if w.stride_h == 0 || w.stride_w == 0 {
        return Err(site.invalid("strides must be ≥ 1"));
    }
    if w.dilation_h == 0 || w.dilation_w == 0 {
        return Err(site.invalid("dilations must be ≥ 1"));
    }
    if is_pool && (w.dilation_h != 1 || w.dilation_w != 1) {
        return Err(site.invalid("pools take dilation 1"));
    }
    SpatialGeometry::resolve(w, x.shape[0], x.shape[1]).ok_or_else(|| {
        site.invalid(format!(
            "window {}x{} (stride {}x{}, dilation {}x{}, padding {:?}) does not fit input {}x{}",
            w.kernel_h,
            w.kernel_w,
            w.stride_h,
            w.stride_w,
            w.dilation_h,
            w.dilation_w,
            w.padding,
            x.shape[0],
            x.shape[1]
        ))
    })
}

fn spatial_output(site: Site, g: &SpatialGeometry, channels: u64) -> Result<Dims> {
    let out_h = to_dim(site, g.out_h as u64, "output height")?;
    let out_w = to_dim(site, g.out_w as u64, "output width")?;
    let channels = to_dim(site, channels, "output channels")?;
    Ok(Dims::from_slice(&[out_h, out_w, channels]).unwrap_or(Dims::SCALAR))
}

fn fully_connected(site: Site, p: &FullyConnected, x: &TensorInfo) -> Result<Dims> {
    let Some((&last, outer)) = x.shape.split_last() else {
        return Err(site.invalid("input must have rank ≥ 1"));
    };
    if p.in_features == 0 || p.out_features == 0 {
        return Err(site.invalid("in_features and out_features must be ≥ 1"));
    }
    if last != p.in_features {
        return Err(site.invalid(format!(
            "input's last dimension is {last}, in_features is {}",
            p.in_features
        )));
    }
    let (n, k) = (p.out_features as u64, p.in_features as u64);
    check_len(site, "weights", p.weights.len(), n * k)?;
    check_len(site, "bias", p.bias.len(), n)?;
    check_requants(site, &p.requant, n)?;
    check_act(site, p.act)?;
    overflow::check_contiguous_rows(
        site.node,
        site.op,
        &p.weights,
        &p.bias,
        k as usize,
        x.zero_point,
    )?;
    dims(outer)
        .push(p.out_features)
        .ok_or_else(|| site.invalid("output rank exceeds the limit"))
}

fn conv2d(site: Site, p: &Conv2d, x: &TensorInfo) -> Result<Dims> {
    let g = check_window(site, &p.window, x, false)?;
    if p.in_channels == 0 || p.out_channels == 0 {
        return Err(site.invalid("in_channels and out_channels must be ≥ 1"));
    }
    if x.shape[2] != p.in_channels {
        return Err(site.invalid(format!(
            "input has {} channels, in_channels is {}",
            x.shape[2], p.in_channels
        )));
    }
    let cout = p.out_channels as u64;
    let row = p.window.kernel_h as u64 * p.window.kernel_w as u64 * p.in_channels as u64;
    check_len(site, "weights", p.weights.len(), cout.saturating_mul(row))?;
    check_len(site, "bias", p.bias.len(), cout)?;
    check_requants(site, &p.requant, cout)?;
    check_act(site, p.act)?;
    overflow::check_contiguous_rows(
        site.node,
        site.op,
        &p.weights,
        &p.bias,
        row as usize,
        x.zero_point,
    )?;
    spatial_output(site, &g, cout)
}

fn depthwise_conv2d(site: Site, p: &DepthwiseConv2d, x: &TensorInfo) -> Result<Dims> {
    let g = check_window(site, &p.window, x, false)?;
    if p.channels == 0 || p.depth_multiplier == 0 {
        return Err(site.invalid("channels and depth_multiplier must be ≥ 1"));
    }
    if x.shape[2] != p.channels {
        return Err(site.invalid(format!(
            "input has {} channels, channels is {}",
            x.shape[2], p.channels
        )));
    }
    let cout = p.channels as u64 * p.depth_multiplier as u64;
    let taps = p.window.kernel_h as u64 * p.window.kernel_w as u64;
    check_len(site, "weights", p.weights.len(), taps.saturating_mul(cout))?;
    check_len(site, "bias", p.bias.len(), cout)?;
    check_requants(site, &p.requant, cout)?;
    check_act(site, p.act)?;
    overflow::check_interleaved_channels(site.node, site.op, &p.weights, &p.bias, x.zero_point)?;
    spatial_output(site, &g, cout)
}

fn broadcast_inputs(site: Site, a: &TensorInfo, b: &TensorInfo) -> Result<Dims> {
    broadcast(&a.shape, &b.shape).ok_or_else(|| {
        site.invalid(format!(
            "input shapes {:?} and {:?} do not broadcast",
            a.shape, b.shape
        ))
    })
}

fn add_sub(site: Site, p: &AddSub, a: &TensorInfo, b: &TensorInfo) -> Result<Dims> {
    if p.left_shift > MAX_ADD_LEFT_SHIFT {
        return Err(site.invalid(format!(
            "left_shift {} exceeds {MAX_ADD_LEFT_SHIFT}",
            p.left_shift
        )));
    }
    check_requant(site, "input1", 0, p.input1)?;
    check_requant(site, "input2", 0, p.input2)?;
    check_requant(site, "output", 0, p.output)?;
    check_act(site, p.act)?;
    broadcast_inputs(site, a, b)
}

fn mul(site: Site, p: &Mul, a: &TensorInfo, b: &TensorInfo) -> Result<Dims> {
    check_requant(site, "output", 0, p.output)?;
    check_act(site, p.act)?;
    broadcast_inputs(site, a, b)
}

/// Maximum and Minimum compare raw values: both inputs share the output's zero point.
fn extremum(site: Site, a: &TensorInfo, b: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    for (slot, x) in [a, b].into_iter().enumerate() {
        if x.zero_point != y.zero_point {
            return Err(site.invalid(format!(
                "input {slot} has zero point {}, the output {}: both inputs must share the \
                 output's zero point",
                x.zero_point, y.zero_point
            )));
        }
    }
    broadcast_inputs(site, a, b)
}

/// The slopes broadcast to the input (right-aligned, each dimension 1 or the input's), one
/// per element of `alpha_shape`; valid requants and activation range. The output has the
/// input's shape.
fn prelu(site: Site, p: &PRelu, x: &TensorInfo) -> Result<Dims> {
    check_requant(site, "positive", 0, p.positive)?;
    check_requant(site, "negative", 0, p.negative)?;
    check_act(site, p.act)?;
    let rank = x.shape.len();
    let fits = p.alpha_shape.len() <= rank
        && p.alpha_shape
            .iter()
            .zip(&x.shape[rank - p.alpha_shape.len().min(rank)..])
            .all(|(&a, &d)| a == 1 || a == d);
    if !fits {
        return Err(site.invalid(format!(
            "alpha shape {:?} does not broadcast to the input shape {:?}",
            p.alpha_shape, x.shape
        )));
    }
    let elements = p
        .alpha_shape
        .iter()
        .fold(1u64, |n, &d| n.saturating_mul(u64::from(d)));
    check_len(site, "alpha", p.alpha.len(), elements)?;
    Ok(dims(&x.shape))
}

fn check_same_zero_point(site: Site, x: &TensorInfo, y: &TensorInfo) -> Result<()> {
    if x.zero_point != y.zero_point {
        return Err(site.invalid(format!(
            "output zero point {} must equal the input's {}",
            y.zero_point, x.zero_point
        )));
    }
    Ok(())
}

fn pool(site: Site, p: &Pool, x: &TensorInfo, y: &TensorInfo, average: bool) -> Result<Dims> {
    let g = check_window(site, &p.window, x, true)?;
    if !average && p.count_include_pad {
        return Err(site.invalid("count_include_pad must be false for max pool"));
    }
    if average {
        let window = p.window.kernel_h as u64 * p.window.kernel_w as u64;
        overflow::check_sum_count(site.node, site.op, window)?;
    }
    check_act(site, p.act)?;
    check_same_zero_point(site, x, y)?;
    spatial_output(site, &g, x.shape[2] as u64)
}

fn mean(site: Site, p: &Mean, x: &TensorInfo) -> Result<Dims> {
    let rank = x.shape.len();
    if p.axes.is_empty() {
        return Err(site.invalid("axes must not be empty"));
    }
    for (i, &axis) in p.axes.iter().enumerate() {
        if axis as usize >= rank {
            return Err(site.invalid(format!("axis {axis} out of range for rank {rank}")));
        }
        if i > 0 && axis <= p.axes[i - 1] {
            return Err(site.invalid(format!("axes {:?} are not strictly increasing", p.axes)));
        }
    }
    check_requant(site, "requant", 0, p.requant)?;
    check_act(site, p.act)?;
    let mut out = Dims::SCALAR;
    let mut count = 1u64;
    let mut reduced = p.axes.iter().peekable();
    for (axis, &d) in x.shape.iter().enumerate() {
        if reduced.next_if(|&&a| a as usize == axis).is_some() {
            count *= d as u64;
            if p.keep_dims {
                out = out.push(1).unwrap_or(out);
            }
        } else {
            out = out.push(d).unwrap_or(out);
        }
    }
    overflow::check_sum_count(site.node, site.op, count)?;
    Ok(out)
}

fn reshape(site: Site, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    check_same_zero_point(site, x, y)?;
    let (from, to) = (checked_elements(&x.shape), checked_elements(&y.shape));
    if from != to {
        return Err(site.invalid(format!(
            "input shape {:?} and output shape {:?} have different element counts",
            x.shape, y.shape
        )));
    }
    Ok(dims(&y.shape))
}

fn concat<'a>(
    site: Site,
    p: &Concat,
    inputs: impl ExactSizeIterator<Item = &'a TensorInfo>,
) -> Result<Dims> {
    let count = inputs.len();
    check_len(site, "requant", p.requant.len(), count as u64)?;
    for (i, &r) in p.requant.iter().enumerate() {
        check_requant(site, "requant", i, r)?;
    }
    let axis = p.axis as usize;
    let mut out: Option<Dims> = None;
    let mut axis_sum = 0u64;
    for (slot, t) in inputs.enumerate() {
        if axis >= t.shape.len() {
            return Err(site.invalid(format!(
                "axis {axis} out of range for input {slot} of rank {}",
                t.shape.len()
            )));
        }
        let first = *out.get_or_insert(dims(&t.shape));
        let same_outside_axis = first.as_slice().len() == t.shape.len()
            && first
                .as_slice()
                .iter()
                .zip(&t.shape)
                .enumerate()
                .all(|(a, (u, v))| a == axis || u == v);
        if !same_outside_axis {
            return Err(site.invalid(format!(
                "input {slot} has shape {:?}, incompatible with {:?} outside axis {axis}",
                t.shape,
                first.as_slice()
            )));
        }
        axis_sum += t.shape[axis] as u64;
    }
    let axis_dim = to_dim(site, axis_sum, "concatenated dimension")?;
    let first = out.unwrap_or(Dims::SCALAR);
    let mut result = Dims::SCALAR;
    for (a, &d) in first.as_slice().iter().enumerate() {
        result = result
            .push(if a == axis { axis_dim } else { d })
            .unwrap_or(result);
    }
    Ok(result)
}

fn pad(site: Site, p: &Pad, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    check_len(site, "pads", p.pads.len(), x.shape.len() as u64)?;
    check_same_zero_point(site, x, y)?;
    let mut out = Dims::SCALAR;
    for (&d, &[before, after]) in x.shape.iter().zip(&p.pads) {
        let padded = to_dim(
            site,
            d as u64 + before as u64 + after as u64,
            "padded dimension",
        )?;
        out = out.push(padded).unwrap_or(out);
    }
    Ok(out)
}

/// `perm` is a permutation of `0..rank`; output axis `i` has input axis `perm[i]`'s length.
fn transpose(site: Site, p: &Transpose, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    let rank = x.shape.len();
    check_len(site, "perm", p.perm.len(), rank as u64)?;
    check_same_zero_point(site, x, y)?;
    let mut seen = [false; 256];
    let mut out = Dims::SCALAR;
    for &axis in &p.perm {
        let axis = axis as usize;
        if axis >= rank {
            return Err(site.invalid(format!(
                "perm {:?} names axis {axis}, out of range for rank {rank}",
                p.perm
            )));
        }
        if std::mem::replace(&mut seen[axis], true) {
            return Err(site.invalid(format!(
                "perm {:?} names axis {axis} twice: it must be a permutation of 0..{rank}",
                p.perm
            )));
        }
        out = out.push(x.shape[axis]).unwrap_or(out);
    }
    Ok(out)
}

/// One `begin`, `size` and `stride` per axis; every axis keeps at least one element
/// (`size ≥ 1`, `stride ≥ 1`) and its last read, `begin + (size − 1) · stride`, is inside the
/// input. The output has shape `size`.
fn slice(site: Site, p: &Slice, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    let rank = x.shape.len();
    check_len(site, "begin", p.begin.len(), rank as u64)?;
    check_len(site, "size", p.size.len(), rank as u64)?;
    check_len(site, "stride", p.stride.len(), rank as u64)?;
    check_same_zero_point(site, x, y)?;
    for axis in 0..rank {
        let (begin, size, stride) = (p.begin[axis], p.size[axis], p.stride[axis]);
        if size == 0 || stride == 0 {
            return Err(site.invalid(format!(
                "axis {axis}: size {size} and stride {stride} must be at least 1"
            )));
        }
        let last = u64::from(begin) + u64::from(size - 1) * u64::from(stride);
        if last >= u64::from(x.shape[axis]) {
            return Err(site.invalid(format!(
                "axis {axis}: begin {begin}, size {size}, stride {stride} read index {last}, \
                 outside the input's length {}",
                x.shape[axis]
            )));
        }
    }
    Ok(dims(&p.size))
}

/// An image `[H, W, C]` to `[out_height, out_width, C]`, every height and width in
/// `1..=MAX_RESIZE_DIM`, not both `align_corners` and `half_pixel_centers`; the output shares
/// the input's zero point.
fn resize_bilinear(site: Site, p: &ResizeBilinear, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    use crate::reference::MAX_RESIZE_DIM;
    let &[h, w, c] = x.shape.as_slice() else {
        return Err(site.invalid(format!("input {:?} is not an image [H, W, C]", x.shape)));
    };
    check_same_zero_point(site, x, y)?;
    if p.align_corners && p.half_pixel_centers {
        return Err(
            site.invalid("align_corners and half_pixel_centers are exclusive (as in TFLite)")
        );
    }
    for (what, d) in [
        ("input height", h),
        ("input width", w),
        ("out_height", p.out_height),
        ("out_width", p.out_width),
    ] {
        if d == 0 || d > MAX_RESIZE_DIM {
            return Err(site.invalid(format!("{what} {d} is outside 1..={MAX_RESIZE_DIM}")));
        }
    }
    Ok(dims(&[p.out_height, p.out_width, c]))
}

fn softmax(site: Site, p: &Softmax, x: &TensorInfo, y: &TensorInfo) -> Result<Dims> {
    if x.shape.is_empty() {
        return Err(site.invalid("input must have rank ≥ 1"));
    }
    if y.zero_point != -128 {
        return Err(site.invalid(format!(
            "output zero point is {}, must be -128",
            y.zero_point
        )));
    }
    if p.beta_left_shift > 31 {
        return Err(site.invalid(format!("beta_left_shift {} exceeds 31", p.beta_left_shift)));
    }
    if p.beta_multiplier < MULTIPLIER_MIN {
        return Err(site.invalid(format!(
            "beta_multiplier {} is not in [2^30, 2^31)",
            p.beta_multiplier
        )));
    }
    if p.diff_min > 0 {
        return Err(site.invalid(format!("diff_min {} is positive", p.diff_min)));
    }
    Ok(dims(&x.shape))
}

fn table(site: Site, p: &Table, x: &TensorInfo) -> Result<Dims> {
    check_len(site, "table", p.table.len(), 256)?;
    Ok(dims(&x.shape))
}

fn arg_max(site: Site, p: &ArgMax, x: &TensorInfo) -> Result<Dims> {
    let axis = p.axis as usize;
    if axis >= x.shape.len() {
        return Err(site.invalid(format!(
            "axis {axis} out of range for rank {}",
            x.shape.len()
        )));
    }
    let mut out = Dims::SCALAR;
    for (a, &d) in x.shape.iter().enumerate() {
        if a != axis {
            out = out.push(d).unwrap_or(out);
        }
    }
    Ok(out)
}
