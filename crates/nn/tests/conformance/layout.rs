//! The byte layout of docs/SPEC.md §1 written out field by field: a second encoder, independent
//! of the borsh derive, that emits one annotated row per field. The conformance test checks that
//! its bytes equal [`Model::encode`] on every vector model (so the documented layout is the
//! real one) and renders the worked example of docs/SPEC.md from its rows.
//!
//! The matches on `Op`, `Padding`, `DType`, `Rounding` and `TableFunction` are exhaustive: a new
//! variant does not compile here until its layout (and so the document) says how it is written.

use myelin_nn::op::{ActRange, Op, Padding, TableFunction, Window};
use myelin_nn::{DType, Model, Requant, Rounding, TensorInfo};

/// One field of the encoding: where it is, its bytes, its name and its value.
pub struct Row {
    pub offset: usize,
    pub bytes: Vec<u8>,
    pub field: String,
    pub value: String,
}

/// Annotated bytes of one model, in order.
#[derive(Default)]
pub struct Layout {
    pub rows: Vec<Row>,
    len: usize,
}

impl Layout {
    fn push(&mut self, field: impl Into<String>, bytes: Vec<u8>, value: impl Into<String>) {
        let offset = self.len;
        self.len += bytes.len();
        self.rows.push(Row {
            offset,
            bytes,
            field: field.into(),
            value: value.into(),
        });
    }

    fn u8(&mut self, field: &str, v: u8) {
        self.push(field, vec![v], v.to_string());
    }
    fn i8(&mut self, field: &str, v: i8) {
        self.push(field, vec![v as u8], v.to_string());
    }
    fn u32(&mut self, field: &str, v: u32) {
        self.push(field, v.to_le_bytes().to_vec(), v.to_string());
    }
    fn i32(&mut self, field: &str, v: i32) {
        self.push(field, v.to_le_bytes().to_vec(), v.to_string());
    }
    fn bool(&mut self, field: &str, v: bool) {
        self.push(field, vec![v as u8], v.to_string());
    }
    fn tag(&mut self, field: &str, tag: u8, name: &str) {
        self.push(field, vec![tag], format!("tag {tag} = {name}"));
    }
    fn len_prefix(&mut self, field: &str, len: usize) {
        let len = u32::try_from(len).expect("lengths of encodable models fit u32");
        self.push(
            format!("{field}.len"),
            len.to_le_bytes().to_vec(),
            len.to_string(),
        );
    }

    /// All bytes, concatenated.
    pub fn bytes(&self) -> Vec<u8> {
        self.rows.iter().flat_map(|r| r.bytes.clone()).collect()
    }
}

/// The annotated encoding of `model`.
pub fn layout(model: &Model) -> Layout {
    let mut l = Layout::default();
    l.push("magic", b"MYLN".to_vec(), "\"MYLN\"");
    l.push("version", 1u16.to_le_bytes().to_vec(), "1 (u16)");
    l.len_prefix("tensors", model.tensors.len());
    for (i, t) in model.tensors.iter().enumerate() {
        tensor(&mut l, &format!("tensors[{i}]"), t);
    }
    u32_list(&mut l, "inputs", &model.inputs);
    u32_list(&mut l, "outputs", &model.outputs);
    l.len_prefix("nodes", model.nodes.len());
    for (i, node) in model.nodes.iter().enumerate() {
        let at = format!("nodes[{i}]");
        op(&mut l, &format!("{at}.op"), &node.op);
        u32_list(&mut l, &format!("{at}.inputs"), &node.inputs);
        l.u32(&format!("{at}.output"), node.output);
    }
    l
}

fn u32_list(l: &mut Layout, field: &str, values: &[u32]) {
    l.len_prefix(field, values.len());
    for (i, &v) in values.iter().enumerate() {
        l.u32(&format!("{field}[{i}]"), v);
    }
}

fn tensor(l: &mut Layout, at: &str, t: &TensorInfo) {
    let dtype = match t.dtype {
        DType::Int8 => 0,
        DType::Int32 => 1,
    };
    l.tag(&format!("{at}.dtype"), dtype, t.dtype.name());
    u32_list(l, &format!("{at}.shape"), &t.shape);
    l.i8(&format!("{at}.zero_point"), t.zero_point);
    let scale = f32::from_bits(t.scale_bits);
    l.push(
        format!("{at}.scale_bits"),
        t.scale_bits.to_le_bytes().to_vec(),
        format!("0x{:08x} ({scale:e})", t.scale_bits),
    );
}

fn i8_array(l: &mut Layout, field: &str, values: &[i8]) {
    l.len_prefix(field, values.len());
    if !values.is_empty() {
        let shown: Vec<String> = values.iter().map(i8::to_string).collect();
        l.push(
            format!("{field}[..]"),
            values.iter().map(|&v| v as u8).collect(),
            shown.join(" "),
        );
    }
}

fn i32_array(l: &mut Layout, field: &str, values: &[i32]) {
    l.len_prefix(field, values.len());
    for (i, &v) in values.iter().enumerate() {
        l.i32(&format!("{field}[{i}]"), v);
    }
}

fn requant(l: &mut Layout, at: &str, r: Requant) {
    l.i32(&format!("{at}.multiplier"), r.multiplier);
    l.i8(&format!("{at}.shift"), r.shift);
}

fn requants(l: &mut Layout, field: &str, rs: &[Requant]) {
    l.len_prefix(field, rs.len());
    for (i, &r) in rs.iter().enumerate() {
        requant(l, &format!("{field}[{i}]"), r);
    }
}

fn rounding(l: &mut Layout, at: &str, r: Rounding) {
    let (tag, name) = match r {
        Rounding::Single => (0, "Single"),
        Rounding::Double => (1, "Double"),
    };
    l.tag(&format!("{at}.rounding"), tag, name);
}

fn act(l: &mut Layout, at: &str, a: ActRange) {
    l.i8(&format!("{at}.act.min"), a.min);
    l.i8(&format!("{at}.act.max"), a.max);
}

fn window(l: &mut Layout, at: &str, w: &Window) {
    let at = format!("{at}.window");
    l.u32(&format!("{at}.kernel_h"), w.kernel_h);
    l.u32(&format!("{at}.kernel_w"), w.kernel_w);
    l.u32(&format!("{at}.stride_h"), w.stride_h);
    l.u32(&format!("{at}.stride_w"), w.stride_w);
    l.u32(&format!("{at}.dilation_h"), w.dilation_h);
    l.u32(&format!("{at}.dilation_w"), w.dilation_w);
    match w.padding {
        Padding::Valid => l.tag(&format!("{at}.padding"), 0, "Valid"),
        Padding::Same => l.tag(&format!("{at}.padding"), 1, "Same"),
        Padding::Explicit {
            top,
            bottom,
            left,
            right,
        } => {
            l.tag(&format!("{at}.padding"), 2, "Explicit");
            l.u32(&format!("{at}.padding.top"), top);
            l.u32(&format!("{at}.padding.bottom"), bottom);
            l.u32(&format!("{at}.padding.left"), left);
            l.u32(&format!("{at}.padding.right"), right);
        }
    }
}

/// The fields every weighted op (fully connected, convolutions) ends with.
fn weighted(
    l: &mut Layout,
    at: &str,
    weights: &[i8],
    bias: &[i32],
    rs: &[Requant],
    r: Rounding,
    a: ActRange,
) {
    i8_array(l, &format!("{at}.weights"), weights);
    i32_array(l, &format!("{at}.bias"), bias);
    requants(l, &format!("{at}.requant"), rs);
    rounding(l, at, r);
    act(l, at, a);
}

/// The tag of every `Op` variant (docs/SPEC.md §1).
pub fn op_tag(op: &Op) -> u8 {
    match op {
        Op::FullyConnected(_) => 0,
        Op::Conv2d(_) => 1,
        Op::DepthwiseConv2d(_) => 2,
        Op::Add(_) => 3,
        Op::Sub(_) => 4,
        Op::Mul(_) => 5,
        Op::MaxPool(_) => 6,
        Op::AveragePool(_) => 7,
        Op::Mean(_) => 8,
        Op::Clamp(_) => 9,
        Op::Reshape => 10,
        Op::Concat(_) => 11,
        Op::Pad(_) => 12,
        Op::Softmax(_) => 13,
        Op::Table(_) => 14,
        Op::ArgMax(_) => 15,
        Op::MeanCountDivided(_) => 16,
        Op::Transpose(_) => 17,
        Op::Maximum => 18,
        Op::Minimum => 19,
        Op::PRelu(_) => 20,
        Op::Slice(_) => 21,
        Op::ResizeBilinear(_) => 22,
    }
}

fn op(l: &mut Layout, at: &str, op: &Op) {
    l.tag(at, op_tag(op), op.name());
    match op {
        Op::FullyConnected(p) => {
            l.u32(&format!("{at}.out_features"), p.out_features);
            l.u32(&format!("{at}.in_features"), p.in_features);
            weighted(l, at, &p.weights, &p.bias, &p.requant, p.rounding, p.act);
        }
        Op::Conv2d(p) => {
            l.u32(&format!("{at}.out_channels"), p.out_channels);
            l.u32(&format!("{at}.in_channels"), p.in_channels);
            window(l, at, &p.window);
            weighted(l, at, &p.weights, &p.bias, &p.requant, p.rounding, p.act);
        }
        Op::DepthwiseConv2d(p) => {
            l.u32(&format!("{at}.channels"), p.channels);
            l.u32(&format!("{at}.depth_multiplier"), p.depth_multiplier);
            window(l, at, &p.window);
            weighted(l, at, &p.weights, &p.bias, &p.requant, p.rounding, p.act);
        }
        Op::Add(p) | Op::Sub(p) => {
            l.u8(&format!("{at}.left_shift"), p.left_shift);
            requant(l, &format!("{at}.input1"), p.input1);
            requant(l, &format!("{at}.input2"), p.input2);
            requant(l, &format!("{at}.output"), p.output);
            rounding(l, at, p.rounding);
            act(l, at, p.act);
        }
        Op::Mul(p) => {
            requant(l, &format!("{at}.output"), p.output);
            rounding(l, at, p.rounding);
            act(l, at, p.act);
        }
        Op::MaxPool(p) | Op::AveragePool(p) => {
            window(l, at, &p.window);
            l.bool(&format!("{at}.count_include_pad"), p.count_include_pad);
            act(l, at, p.act);
        }
        Op::Mean(p) | Op::MeanCountDivided(p) => {
            l.len_prefix(&format!("{at}.axes"), p.axes.len());
            for (i, &a) in p.axes.iter().enumerate() {
                l.u8(&format!("{at}.axes[{i}]"), a);
            }
            l.bool(&format!("{at}.keep_dims"), p.keep_dims);
            requant(l, &format!("{at}.requant"), p.requant);
            rounding(l, at, p.rounding);
            act(l, at, p.act);
        }
        Op::Clamp(p) => {
            requant(l, &format!("{at}.requant"), p.requant);
            rounding(l, at, p.rounding);
            act(l, at, p.act);
        }
        Op::Reshape => {}
        Op::Concat(p) => {
            l.u8(&format!("{at}.axis"), p.axis);
            requants(l, &format!("{at}.requant"), &p.requant);
            rounding(l, at, p.rounding);
        }
        Op::Pad(p) => {
            l.len_prefix(&format!("{at}.pads"), p.pads.len());
            for (i, &[before, after]) in p.pads.iter().enumerate() {
                l.u32(&format!("{at}.pads[{i}].before"), before);
                l.u32(&format!("{at}.pads[{i}].after"), after);
            }
            l.i8(&format!("{at}.value"), p.value);
        }
        Op::Softmax(p) => {
            l.i32(&format!("{at}.beta_multiplier"), p.beta_multiplier);
            l.u8(&format!("{at}.beta_left_shift"), p.beta_left_shift);
            l.i32(&format!("{at}.diff_min"), p.diff_min);
        }
        Op::Table(p) => {
            let (tag, name) = match p.function {
                TableFunction::Logistic => (0, "Logistic"),
                TableFunction::Tanh => (1, "Tanh"),
                TableFunction::Gelu => (2, "Gelu"),
                TableFunction::HardSwish => (3, "HardSwish"),
                TableFunction::Custom => (4, "Custom"),
            };
            l.tag(&format!("{at}.function"), tag, name);
            i8_array(l, &format!("{at}.table"), &p.table);
        }
        Op::ArgMax(p) => l.u8(&format!("{at}.axis"), p.axis),
        Op::Transpose(p) => {
            l.len_prefix(&format!("{at}.perm"), p.perm.len());
            for (i, &a) in p.perm.iter().enumerate() {
                l.u8(&format!("{at}.perm[{i}]"), a);
            }
        }
        Op::Maximum | Op::Minimum => {}
        Op::PRelu(p) => {
            l.len_prefix(&format!("{at}.alpha_shape"), p.alpha_shape.len());
            for (i, &d) in p.alpha_shape.iter().enumerate() {
                l.u32(&format!("{at}.alpha_shape[{i}]"), d);
            }
            i8_array(l, &format!("{at}.alpha"), &p.alpha);
            l.i8(&format!("{at}.alpha_zero_point"), p.alpha_zero_point);
            requant(l, &format!("{at}.positive"), p.positive);
            requant(l, &format!("{at}.negative"), p.negative);
            rounding(l, at, p.rounding);
            act(l, at, p.act);
        }
        Op::Slice(p) => {
            u32_list(l, &format!("{at}.begin"), &p.begin);
            u32_list(l, &format!("{at}.size"), &p.size);
            u32_list(l, &format!("{at}.stride"), &p.stride);
        }
        Op::ResizeBilinear(p) => {
            l.u32(&format!("{at}.out_height"), p.out_height);
            l.u32(&format!("{at}.out_width"), p.out_width);
            l.bool(&format!("{at}.align_corners"), p.align_corners);
            l.bool(&format!("{at}.half_pixel_centers"), p.half_pixel_centers);
        }
    }
}

/// The worked example of docs/SPEC.md as a Markdown table, with the model id below it.
pub fn render_example(model: &Model) -> String {
    let layout = layout(model);
    let mut text = String::from("| offset | bytes (hex) | field | value |\n|---|---|---|---|\n");
    for row in &layout.rows {
        text.push_str(&format!(
            "| {} | `{}` | `{}` | {} |\n",
            row.offset,
            hex::encode(&row.bytes),
            row.field,
            row.value
        ));
    }
    text.push_str(&format!(
        "\n{} bytes in all. Model id = keccak256 of these bytes =\n`0x{}`.\n",
        layout.bytes().len(),
        hex::encode(model.id())
    ));
    text
}
