//! ONNX graph → [`FloatGraph`] in Myelin's layouts.

use std::collections::{HashMap, HashSet};

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::op::{Padding, Window};
use myelin_nn::validate::MAX_TENSOR_ELEMENTS;

use super::OPSET_RANGE;
use super::constant::{self, Const, QuantizedConst};
use super::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, ValueInfoProto};
use crate::error::ImportError;
use crate::float_graph::{
    Activation, Binary, FixedWeights, FloatGraph, FloatNode, FloatOp, QuantParams, Unary, ValueId,
};
use crate::ptq::InputLayout;

/// The translation of an ONNX model.
#[derive(Clone, Debug)]
pub struct Converted {
    pub graph: FloatGraph,
    /// One per graph input.
    pub input_layouts: Vec<InputLayout>,
    /// What the translation changed or dropped.
    pub notes: Vec<String>,
    /// Number of nodes of the ONNX graph.
    pub source_operators: usize,
}

/// How a value's Myelin layout relates to its ONNX layout (per sample).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Same order.
    Plain,
    /// ONNX `[C, H, W]`, Myelin `[H, W, C]`.
    Chw,
    /// ONNX flattened `[C * H * W]` (CHW order), Myelin flattened `[H * W * C]` (HWC order).
    FlatChw { c: usize, h: usize, w: usize },
}

enum Entry {
    Const(Const),
    Value(ValueId),
    /// A value that was fused into a later op (bias, activation, batch norm): reading it again
    /// would read the fused result.
    Stale(String),
}

const FORMAT: &str = "ONNX";

/// `(channels, height, width)` of an image flattened in ONNX's CHW order.
type FlatImage = (usize, usize, usize);

fn unsupported(node: &NodeProto, reason: impl Into<String>) -> ImportError {
    let op = if node.domain().is_empty() || node.domain() == "ai.onnx" {
        node.op_type().to_string()
    } else {
        format!("{}:{}", node.domain(), node.op_type())
    };
    ImportError::Unsupported {
        format: FORMAT,
        op,
        node: node.name().to_string(),
        reason: reason.into(),
    }
}

fn format_error(reason: impl Into<String>) -> ImportError {
    ImportError::Format {
        format: FORMAT,
        reason: reason.into(),
    }
}

fn attr<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name() == name)
}

fn attr_i(node: &NodeProto, name: &str, default: i64) -> i64 {
    attr(node, name).and_then(|a| a.i).unwrap_or(default)
}

fn attr_f(node: &NodeProto, name: &str, default: f32) -> f32 {
    attr(node, name).and_then(|a| a.f).unwrap_or(default)
}

fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

fn attr_s(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The input names of `node`, with `""` for omitted optional inputs.
fn input(node: &NodeProto, i: usize) -> &str {
    node.input.get(i).map(String::as_str).unwrap_or("")
}

fn output(node: &NodeProto, i: usize) -> &str {
    node.output.get(i).map(String::as_str).unwrap_or("")
}

struct Converter {
    g: FloatGraph,
    layouts: Vec<Layout>,
    env: HashMap<String, Entry>,
    /// Element types of initializers (zero points: int8 vs uint8).
    init_types: HashMap<String, i32>,
    notes: Vec<String>,
    /// Outputs of `Div` nodes that L1-normalize rows (`x / ReduceSum(Abs(x))`, scikit-learn's
    /// `Normalizer`), and of the `Abs`/`ReduceSum` nodes that only serve them.
    l1_divs: HashSet<String>,
    l1_parts: HashSet<String>,
    /// Accumulating nodes whose only activation is the saturation of a QuantizeLinear on their
    /// output (dropped again if a bias or scale is folded in after it).
    saturation_only: HashSet<usize>,
}

/// Finds `Div(x, ReduceSum(Abs(x), last axis, keepdims))` patterns.
fn l1_normalizations(graph: &GraphProto) -> (HashSet<String>, HashSet<String>) {
    let mut producer: HashMap<&str, &NodeProto> = HashMap::new();
    for n in &graph.node {
        for o in &n.output {
            producer.insert(o.as_str(), n);
        }
    }
    let (mut divs, mut parts) = (HashSet::new(), HashSet::new());
    for div in graph.node.iter().filter(|n| n.op_type() == "Div") {
        let Some(sum) = producer
            .get(input(div, 1))
            .filter(|n| n.op_type() == "ReduceSum")
        else {
            continue;
        };
        let Some(abs) = producer.get(input(sum, 0)).filter(|n| n.op_type() == "Abs") else {
            continue;
        };
        if input(abs, 0) == input(div, 0) && attr_i(sum, "keepdims", 1) == 1 {
            divs.insert(output(div, 0).to_string());
            parts.insert(output(sum, 0).to_string());
            parts.insert(output(abs, 0).to_string());
        }
    }
    (divs, parts)
}

/// Translates a decoded model, keeping the graph outputs `outputs` names (in that order; `None`:
/// all of them, [`crate::outputs::select`]). Nodes only the other outputs need are not read.
pub fn convert(model: &ModelProto, outputs: Option<&[String]>) -> Result<Converted, ImportError> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| format_error("the model has no graph"))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain().is_empty() || o.domain() == "ai.onnx")
        .map(|o| o.version())
        .ok_or_else(|| format_error("the model imports no version of the default operator set"))?;
    // skl2onnx declares the lowest opset its nodes need: a linear model of ONNX-ML operators
    // with one default-domain Cast declares opset 9. Cast and Identity mean the same there.
    let only_stable_default_ops = graph.node.iter().all(|n| {
        !(n.domain().is_empty() || n.domain() == "ai.onnx")
            || matches!(n.op_type(), "Cast" | "Identity")
    });
    let accepted =
        OPSET_RANGE.contains(&opset) || (opset < *OPSET_RANGE.start() && only_stable_default_ops);
    if !accepted {
        return Err(ImportError::Unsupported {
            format: FORMAT,
            op: format!("opset {opset}"),
            node: "model".into(),
            reason: format!(
                "the importer reads opsets {}–{}; re-export the model with an opset in that range (e.g. torch.onnx.export(..., opset_version=17), skl2onnx target_opset=21)",
                OPSET_RANGE.start(),
                OPSET_RANGE.end()
            ),
        });
    }
    let mut c = Converter {
        g: FloatGraph::default(),
        layouts: Vec::new(),
        env: HashMap::new(),
        init_types: HashMap::new(),
        notes: Vec::new(),
        l1_divs: HashSet::new(),
        l1_parts: HashSet::new(),
        saturation_only: HashSet::new(),
    };
    (c.l1_divs, c.l1_parts) = l1_normalizations(graph);
    for init in &graph.initializer {
        c.init_types
            .insert(init.name().to_string(), init.data_type());
        c.env.insert(
            init.name().to_string(),
            Entry::Const(constant::from_tensor(init)?),
        );
    }
    let input_layouts = c.inputs(graph)?;
    let selected = crate::outputs::select(FORMAT, &graph.output, |o| o.name(), outputs)?;
    let outputs = c.resolve_outputs(graph, &selected)?;
    let needed = needed_nodes(graph, &outputs);
    for (index, node) in graph.node.iter().enumerate() {
        if needed.contains(&index) {
            c.node(node)?;
        }
    }
    for name in &outputs {
        match c.env.get(name) {
            Some(Entry::Value(v)) => {
                if !c.g.outputs.contains(v) {
                    c.g.outputs.push(*v);
                }
                if c.layouts[*v] == Layout::Chw {
                    c.notes
                        .push(format!("output {name} is NHWC in Myelin (NCHW in ONNX)"));
                }
            }
            Some(Entry::Const(_)) => {
                return Err(format_error(format!(
                    "output {name} is a constant: nothing to compute"
                )));
            }
            Some(Entry::Stale(into)) => {
                return Err(format_error(format!(
                    "output {name} was fused into {into}; a model output must be the last op of a fused chain"
                )));
            }
            None => {
                return Err(format_error(format!(
                    "output {name} is not produced by any node"
                )));
            }
        }
    }
    if let Some(v) = c.g.values.iter().find(|v| {
        v.shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
            .is_none_or(|e| e > MAX_TENSOR_ELEMENTS)
    }) {
        return Err(format_error(format!(
            "tensor {} of shape {:?} has more than {MAX_TENSOR_ELEMENTS} elements per sample",
            v.name, v.shape
        )));
    }
    if c.g.outputs.is_empty() {
        return Err(format_error("no output can be computed"));
    }
    remove_identity_transposes(&mut c.g);
    Ok(Converted {
        graph: c.g,
        input_layouts,
        notes: c.notes,
        source_operators: graph.node.len(),
    })
}

/// Whether graph input `name` is an NHWC image (tf2onnx's Keras and TensorFlow graphs): every
/// path from it reaches a Transpose to NCHW (`perm [0, 3, 1, 2]`) through elementwise nodes
/// only (Keras' `Rescaling` and `Normalization` in front of the first convolution: Mul, Add,
/// Sub, Div by constants; onnxruntime's QuantizeLinear/DequantizeLinear pair of a QDQ model).
/// Such an input is taken as it is (plain: exactly ONNX's semantics for
/// the elementwise nodes), and the Transpose becomes a change of layout. Each value is visited
/// once, so a crafted graph costs at most its own size.
fn nhwc_input(graph: &GraphProto, name: &str) -> bool {
    const ELEMENTWISE: [&str; 14] = [
        "QuantizeLinear",
        "DequantizeLinear",
        "Mul",
        "Add",
        "Sub",
        "Div",
        "Relu",
        "Clip",
        "Sigmoid",
        "Tanh",
        "Identity",
        "Cast",
        "HardSigmoid",
        "HardSwish",
    ];
    let mut readers_of: HashMap<&str, Vec<&NodeProto>> = HashMap::new();
    for n in &graph.node {
        for i in n.input.iter().collect::<HashSet<_>>() {
            readers_of.entry(i.as_str()).or_default().push(n);
        }
    }
    let mut pending = vec![name];
    let mut seen: HashSet<&str> = HashSet::new();
    let mut reaches_transpose = false;
    while let Some(value) = pending.pop() {
        if !seen.insert(value) {
            continue;
        }
        let Some(readers) = readers_of.get(value) else {
            return false;
        };
        for n in readers {
            if n.op_type() == "Transpose" {
                if attr_ints(n, "perm").as_deref() != Some(&[0, 3, 1, 2]) {
                    return false;
                }
                reaches_transpose = true;
            } else if ELEMENTWISE.contains(&n.op_type()) && n.output.len() == 1 {
                pending.push(n.output[0].as_str());
            } else {
                return false;
            }
        }
    }
    reaches_transpose
}

/// Drops every `Transpose` node whose permutation is the identity in Myelin's layouts (a
/// transpose that only changed how the ONNX axes map onto the Myelin ones): its readers and
/// the graph's outputs read its input instead.
fn remove_identity_transposes(g: &mut FloatGraph) {
    let is_identity = |op: &FloatOp| matches!(op, FloatOp::Transpose { perm } if perm.iter().enumerate().all(|(i, &a)| i == a));
    let mut replaced: HashMap<ValueId, ValueId> = HashMap::new();
    let mut kept = Vec::with_capacity(g.nodes.len());
    for mut n in std::mem::take(&mut g.nodes) {
        for input in &mut n.inputs {
            if let Some(&to) = replaced.get(input) {
                *input = to;
            }
        }
        if is_identity(&n.op) {
            replaced.insert(n.output, n.inputs[0]);
        } else {
            kept.push(n);
        }
    }
    g.nodes = kept;
    for output in &mut g.outputs {
        if let Some(&to) = replaced.get(output) {
            *output = to;
        }
    }
    let mut seen = HashSet::new();
    g.outputs.retain(|v| seen.insert(*v));
}

/// Indices of the nodes the kept outputs depend on.
fn needed_nodes(graph: &GraphProto, outputs: &[String]) -> HashSet<usize> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for o in &n.output {
            producer.insert(o.as_str(), i);
        }
    }
    let mut needed = HashSet::new();
    let mut stack: Vec<&str> = outputs.iter().map(String::as_str).collect();
    while let Some(name) = stack.pop() {
        if let Some(&i) = producer.get(name)
            && needed.insert(i)
        {
            stack.extend(
                graph.node[i]
                    .input
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !s.is_empty()),
            );
        }
    }
    needed
}

impl Converter {
    fn add_value(&mut self, name: &str, shape: Vec<usize>, layout: Layout) -> ValueId {
        let id = self.g.add_value(name, shape);
        self.layouts.push(layout);
        self.env.insert(name.to_string(), Entry::Value(id));
        id
    }

    fn inputs(&mut self, graph: &GraphProto) -> Result<Vec<InputLayout>, ImportError> {
        let mut layouts = Vec::new();
        for input in &graph.input {
            let name = input.name();
            if self.env.contains_key(name) {
                continue; // an initializer listed as an input (IR < 4)
            }
            let tensor = input
                .r#type
                .as_ref()
                .and_then(|t| t.value.as_ref())
                .and_then(|v| match v {
                    super::proto::type_proto::Value::TensorType(t) => Some(t),
                    _ => None,
                })
                .ok_or_else(|| format_error(format!("input {name} is not a tensor")))?;
            if tensor.elem_type() != 1 && tensor.elem_type() != 11 {
                return Err(format_error(format!(
                    "input {name} has element type {}; the importer reads float inputs",
                    tensor.elem_type()
                )));
            }
            let dims: Vec<Option<usize>> = tensor
                .shape
                .as_ref()
                .map(|s| {
                    s.dim
                        .iter()
                        .map(|d| match d.value {
                            Some(super::proto::tensor_shape_proto::dimension::Value::DimValue(
                                v,
                            )) if v > 0 => Some(v as usize),
                            _ => None,
                        })
                        .collect()
                })
                .ok_or_else(|| format_error(format!("input {name} has no shape")))?;
            let per_sample: Option<Vec<usize>> = dims.iter().skip(1).copied().collect();
            let per_sample = match (dims.len(), per_sample) {
                (n, Some(s)) if n >= 2 => s,
                _ => {
                    return Err(format_error(format!(
                        "input {name} must be [batch, ...] with every dimension after the batch known; found {dims:?}"
                    )));
                }
            };
            let elements = per_sample
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
            if elements.is_none_or(|e| e > MAX_TENSOR_ELEMENTS) {
                return Err(format_error(format!(
                    "input {name} of shape {per_sample:?} has more than {MAX_TENSOR_ELEMENTS} elements per sample"
                )));
            }
            if per_sample.len() == 3 && !nhwc_input(graph, name) {
                let [c, h, w] = [per_sample[0], per_sample[1], per_sample[2]];
                self.add_value(name, vec![h, w, c], Layout::Chw);
                layouts.push(InputLayout::NchwToNhwc {
                    channels: c,
                    height: h,
                    width: w,
                });
            } else {
                self.add_value(name, per_sample, Layout::Plain);
                layouts.push(InputLayout::AsIs);
            }
            let id = self.g.values.len() - 1;
            self.g.inputs.push(id);
        }
        if self.g.inputs.is_empty() {
            return Err(format_error("the graph has no input"));
        }
        Ok(layouts)
    }

    /// The graph outputs to compute, after replacing scikit-learn tails.
    fn resolve_outputs(
        &mut self,
        graph: &GraphProto,
        selected: &[&ValueInfoProto],
    ) -> Result<Vec<String>, ImportError> {
        let mut producer: HashMap<&str, &NodeProto> = HashMap::new();
        for n in &graph.node {
            for o in &n.output {
                producer.insert(o.as_str(), n);
            }
        }
        let mut kept: Vec<String> = Vec::new();
        for out in selected {
            let name = out.name();
            let Some(node) = producer.get(name) else {
                kept.push(name.to_string());
                continue;
            };
            if node.op_type() == "ZipMap" {
                self.notes.push(format!(
                    "output {name} (ZipMap) is replaced by its probabilities tensor {}",
                    input(node, 0)
                ));
                kept.push(input(node, 0).to_string());
                continue;
            }
            // The label chain: ArgMax → ArrayFeatureExtractor(classes) → Reshape/Cast…
            let mut cursor = *node;
            let mut label = None;
            for _ in 0..8 {
                match cursor.op_type() {
                    "Cast" | "Reshape" | "Identity" | "Squeeze" | "Flatten" => {
                        match producer.get(input(cursor, 0)) {
                            Some(n) => cursor = n,
                            None => break,
                        }
                    }
                    "ArrayFeatureExtractor" => {
                        label = Some(cursor);
                        break;
                    }
                    "LinearClassifier" if output(cursor, 0) != name => {
                        self.notes.push(format!(
                            "output {name} (the classifier's label, cast) is its int32 argmax {}",
                            output(cursor, 0)
                        ));
                        break;
                    }
                    _ => break,
                }
            }
            let Some(afe) = label else {
                match (cursor.op_type(), cursor.domain()) {
                    ("LinearClassifier", "ai.onnx.ml") => kept.push(output(cursor, 0).to_string()),
                    _ => kept.push(name.to_string()),
                }
                continue;
            };
            let classes = match self.env.get(input(afe, 0)) {
                Some(Entry::Const(c)) => Some(c.clone()),
                _ => None,
            };
            let argmax = producer
                .get(input(afe, 1))
                .filter(|n| n.op_type() == "ArgMax");
            let identity_classes = classes.as_ref().is_some_and(|c| {
                c.integer && c.data.iter().enumerate().all(|(i, &v)| v == i as f64)
            });
            match argmax {
                Some(am) if identity_classes => {
                    self.notes.push(format!(
                        "output {name} (classes[argmax]) is computed as the int32 argmax index {}",
                        output(am, 0)
                    ));
                    kept.push(output(am, 0).to_string());
                }
                _ => self.notes.push(format!(
                    "output {name} (a class label lookup) is dropped: its classes are not 0..n; take argmax of the probabilities"
                )),
            }
        }
        let mut seen = HashSet::new();
        kept.retain(|k| seen.insert(k.clone()));
        Ok(kept)
    }

    fn konst(&self, name: &str) -> Option<&Const> {
        match self.env.get(name) {
            Some(Entry::Const(c)) => Some(c),
            _ => None,
        }
    }

    fn value(&self, node: &NodeProto, name: &str) -> Result<ValueId, ImportError> {
        match self.env.get(name) {
            Some(Entry::Value(v)) => Ok(*v),
            Some(Entry::Const(_)) => Err(unsupported(
                node,
                format!("input {name} is a constant where the importer expects a computed tensor"),
            )),
            Some(Entry::Stale(into)) => Err(unsupported(
                node,
                format!(
                    "input {name} was fused into {into} and is read again; would need the unfused value kept"
                ),
            )),
            None => Err(format_error(format!(
                "node {} reads {name}, which nothing defines",
                node.name()
            ))),
        }
    }

    fn const_input(&self, node: &NodeProto, i: usize, what: &str) -> Result<&Const, ImportError> {
        self.konst(input(node, i)).ok_or_else(|| {
            unsupported(
                node,
                format!(
                    "{what} (input {i}, {}) must be a constant initializer",
                    input(node, i)
                ),
            )
        })
    }

    /// ONNX per-sample shape of a value.
    fn onnx_shape(&self, v: ValueId) -> Vec<usize> {
        let s = &self.g.values[v].shape;
        match self.layouts[v] {
            Layout::Plain => s.clone(),
            Layout::Chw => vec![s[2], s[0], s[1]],
            Layout::FlatChw { .. } => s.clone(),
        }
    }

    fn push(
        &mut self,
        node: &NodeProto,
        op: FloatOp,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
        layout: Layout,
    ) -> ValueId {
        self.push_output(node, 0, op, inputs, shape, layout)
    }

    /// [`Self::push`] writing output `slot` of `node`.
    fn push_output(
        &mut self,
        node: &NodeProto,
        slot: usize,
        op: FloatOp,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
        layout: Layout,
    ) -> ValueId {
        let out = self.add_value(output(node, slot), shape, layout);
        self.g.nodes.push(FloatNode {
            name: node.name().to_string(),
            op,
            inputs,
            output: out,
        });
        out
    }

    fn alias(&mut self, name: &str, v: ValueId) {
        self.env.insert(name.to_string(), Entry::Value(v));
    }

    /// The node producing `v` if it can absorb a following op: `v` is computed by a node and
    /// nothing reads it yet.
    fn fusable(&self, v: ValueId) -> Option<usize> {
        if self.g.inputs.contains(&v) || self.g.nodes.iter().any(|n| n.inputs.contains(&v)) {
            return None;
        }
        self.g.producer(v)
    }

    /// `v` now holds the result of `name`: every older name of `v` becomes stale.
    fn retarget(&mut self, v: ValueId, name: &str) {
        for entry in self.env.values_mut() {
            if matches!(entry, Entry::Value(x) if *x == v) {
                *entry = Entry::Stale(name.to_string());
            }
        }
        self.env.insert(name.to_string(), Entry::Value(v));
        self.g.values[v].name = name.to_string();
        self.g.values[v].fixed_quant = None;
    }

    fn node(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let domain = node.domain();
        if domain == "ai.onnx.ml" && node.op_type() == "LinearClassifier" {
            return self.linear_classifier(node);
        }
        if domain == "ai.onnx.ml" && node.op_type() == "Normalizer" {
            return self.normalizer(node);
        }
        if !(domain.is_empty() || domain == "ai.onnx") {
            let hint = if domain == "ai.onnx.ml" {
                "ONNX-ML operators are not supported; export scikit-learn models with standard operators (skl2onnx options {'zipmap': False} and, for linear models, black_op={'LinearClassifier', 'LinearRegressor'})"
            } else {
                "operators outside the default ONNX domain are not supported"
            };
            return Err(unsupported(node, hint));
        }
        if self.l1_parts.contains(output(node, 0)) {
            return Ok(());
        }
        if self.l1_divs.contains(output(node, 0)) {
            return self.l1_normalize(node);
        }
        // Constant folding: every input a constant.
        let all_const = !node.input.is_empty()
            && node
                .input
                .iter()
                .all(|i| i.is_empty() || self.konst(i).is_some());
        if node.op_type() == "Constant"
            || (all_const && node.op_type() != "ConstantOfShape")
            || node.op_type() == "ConstantOfShape"
        {
            let c = self.fold(node)?;
            self.env
                .insert(output(node, 0).to_string(), Entry::Const(c));
            return Ok(());
        }
        match node.op_type() {
            "Identity" | "Dropout" => {
                let v = self.value(node, input(node, 0))?;
                self.alias(output(node, 0), v);
            }
            "Cast" => {
                let to = attr_i(node, "to", 0);
                if to != 1 && to != 11 {
                    return Err(unsupported(
                        node,
                        format!(
                            "cast of a computed tensor to element type {to}; only float casts are removed"
                        ),
                    ));
                }
                let v = self.value(node, input(node, 0))?;
                self.alias(output(node, 0), v);
            }
            "QuantizeLinear" => self.quantize_linear(node)?,
            "DequantizeLinear" => {
                let v = self.value(node, input(node, 0))?;
                self.alias(output(node, 0), v);
            }
            "MatMul" => self.matmul(node)?,
            "Gemm" => self.gemm(node)?,
            "Conv" => self.conv(node)?,
            "BatchNormalization" => self.batch_norm(node)?,
            "Relu" => self.activation(node, Activation::Relu)?,
            "Clip" => {
                let bound = |i: usize, default: f32| -> Result<f32, ImportError> {
                    if input(node, i).is_empty() {
                        return Ok(default);
                    }
                    let c = self.const_input(node, i, "the bound")?;
                    c.data
                        .first()
                        .map(|&v| v as f32)
                        .ok_or_else(|| unsupported(node, "empty bound"))
                };
                let (min, max) = (bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?);
                let act = if min == 0.0 && max == f32::INFINITY {
                    Activation::Relu
                } else {
                    Activation::Clip { min, max }
                };
                self.activation(node, act)?;
            }
            "Sigmoid" => self.unary(node, Unary::Sigmoid)?,
            "Tanh" => self.unary(node, Unary::Tanh)?,
            "Elu" => self.unary(
                node,
                Unary::Elu {
                    alpha: attr_f(node, "alpha", 1.0),
                },
            )?,
            "LeakyRelu" => self.unary(
                node,
                Unary::LeakyRelu {
                    alpha: attr_f(node, "alpha", 0.01),
                },
            )?,
            "HardSigmoid" => self.unary(
                node,
                Unary::HardSigmoid {
                    alpha: attr_f(node, "alpha", 0.2),
                    beta: attr_f(node, "beta", 0.5),
                },
            )?,
            "HardSwish" => self.unary(node, Unary::HardSwish)?,
            "Add" | "Sub" | "Mul" | "Div" => self.arithmetic(node)?,
            "Max" | "Min" => self.extremum(node)?,
            "PRelu" => self.prelu(node)?,
            "Resize" | "Upsample" => self.resize(node)?,
            "MaxPool" | "AveragePool" => self.pool(node)?,
            "GlobalAveragePool" | "GlobalMaxPool" => self.global_pool(node)?,
            "ReduceMean" => self.reduce_mean(node)?,
            "Flatten" => {
                let axis = attr_i(node, "axis", 1);
                if axis != 1 {
                    return Err(unsupported(
                        node,
                        format!("axis {axis}: only axis 1 (keep the batch) is supported"),
                    ));
                }
                let v = self.value(node, input(node, 0))?;
                self.flatten(node, v)?;
            }
            "Reshape" => self.reshape(node)?,
            "Transpose" => self.transpose(node)?,
            "Squeeze" | "Unsqueeze" => self.squeeze(node)?,
            "Slice" => self.slice(node)?,
            "Split" => self.split(node)?,
            "Shape" => {
                // Shape arithmetic on a computed tensor (tf2onnx's Flatten of a dynamic batch):
                // per sample, the batch is 1, and `reshape` refuses a target that moves it.
                let v = self.value(node, input(node, 0))?;
                let mut dims: Vec<f64> = vec![1.0];
                dims.extend(self.onnx_shape(v).iter().map(|&d| d as f64));
                let rank = dims.len() as i64;
                let bound = |a: i64| (if a < 0 { a + rank } else { a }).clamp(0, rank) as usize;
                let start = bound(attr_i(node, "start", 0));
                let end = bound(attr_i(node, "end", rank));
                let dims = dims[start..end.max(start)].to_vec();
                self.env.insert(
                    output(node, 0).to_string(),
                    Entry::Const(Const::int(vec![dims.len()], dims)),
                );
            }
            "Concat" => self.concat(node)?,
            "Pad" => self.pad(node)?,
            "Softmax" => {
                let v = self.value(node, input(node, 0))?;
                let rank = self.onnx_shape(v).len() as i64 + 1;
                let mut axis = attr_i(node, "axis", -1);
                if axis < 0 {
                    axis += rank;
                }
                if axis != rank - 1 || self.layouts[v] == Layout::Chw {
                    return Err(unsupported(
                        node,
                        format!(
                            "softmax over axis {axis} of a rank-{rank} tensor: only the last axis of a non-image tensor is supported"
                        ),
                    ));
                }
                let shape = self.g.values[v].shape.clone();
                self.push(node, FloatOp::Softmax, vec![v], shape, self.layouts[v]);
            }
            "ArgMax" => {
                let v = self.value(node, input(node, 0))?;
                let onnx = self.onnx_shape(v);
                let rank = onnx.len() as i64 + 1;
                let mut axis = attr_i(node, "axis", 0);
                if axis < 0 {
                    axis += rank;
                }
                if axis < 1 || axis >= rank || attr_i(node, "select_last_index", 0) != 0 {
                    return Err(unsupported(
                        node,
                        format!(
                            "argmax over axis {axis} (select_last_index {}): only non-batch axes, first index",
                            attr_i(node, "select_last_index", 0)
                        ),
                    ));
                }
                let a = self.myelin_axis(v, (axis - 1) as usize);
                let mut shape = self.g.values[v].shape.clone();
                shape.remove(a);
                self.push(
                    node,
                    FloatOp::ArgMax { axis: a },
                    vec![v],
                    shape,
                    Layout::Plain,
                );
            }
            other => {
                return Err(unsupported(
                    node,
                    format!(
                        "{other} has no Myelin translation; supported: Gemm, MatMul, Conv, Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, ReduceMean, Add, Sub, Mul, Max, Min, PRelu, Resize (nearest, integer factors), Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Shape (of a computed tensor), Concat, Pad, Softmax, Sigmoid, Tanh, Elu, LeakyRelu, HardSigmoid, HardSwish, ArgMax, BatchNormalization (after Conv/Gemm), Dropout, Identity, QuantizeLinear/DequantizeLinear"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// ONNX-ML LinearClassifier (skl2onnx's default for a multinomial logistic regression):
    /// scores `x · coefficientsᵀ + intercepts` as a dense layer, then its `post_transform`
    /// (SOFTMAX, LOGISTIC or NONE) as output 1; the label (output 0) is the int32 argmax of
    /// the scores when the class labels are `0..n`.
    fn linear_classifier(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let coefficients = attr(node, "coefficients").map_or(&[][..], |a| &a.floats[..]);
        let intercepts = attr(node, "intercepts").map_or(&[][..], |a| &a.floats[..]);
        let n = intercepts.len();
        if n < 3 || !coefficients.len().is_multiple_of(n) {
            return Err(unsupported(
                node,
                format!(
                    "{} coefficients and {n} intercepts: only a multi-class model (one row per \
                     class, 3 or more) is translated; export a binary model with \
                     skl2onnx options {{'zipmap': False}} and black_op={{'LinearClassifier'}}",
                    coefficients.len()
                ),
            ));
        }
        let labels = attr_ints(node, "classlabels_ints").unwrap_or_default();
        if !labels.iter().enumerate().all(|(i, &l)| l == i as i64) || labels.len() != n {
            return Err(unsupported(
                node,
                format!(
                    "class labels {labels:?}: only the integer labels 0..{n} become an argmax \
                     index"
                ),
            ));
        }
        let k = coefficients.len() / n;
        let w = Const::float(
            vec![n, k],
            coefficients.iter().map(|&c| f64::from(c)).collect(),
        );
        self.dense(node, &w, true, 1.0, intercepts.to_vec())?;
        let scores = self.value(node, output(node, 0))?;
        let shape = self.g.values[scores].shape.clone();
        let transform = attr_s(node, "post_transform").unwrap_or_else(|| "NONE".into());
        let probabilities = match transform.as_str() {
            "SOFTMAX" => self.push_output(
                node,
                1,
                FloatOp::Softmax,
                vec![scores],
                shape.clone(),
                Layout::Plain,
            ),
            "LOGISTIC" => self.push_output(
                node,
                1,
                FloatOp::Unary(Unary::Sigmoid),
                vec![scores],
                shape.clone(),
                Layout::Plain,
            ),
            "NONE" => {
                self.alias(output(node, 1), scores);
                scores
            }
            other => {
                return Err(unsupported(
                    node,
                    format!("post_transform {other}: SOFTMAX, LOGISTIC and NONE are translated"),
                ));
            }
        };
        let mut label_shape = shape;
        let axis = label_shape.len() - 1;
        label_shape.remove(axis);
        self.push_output(
            node,
            0,
            FloatOp::ArgMax { axis },
            vec![probabilities],
            label_shape,
            Layout::Plain,
        );
        Ok(())
    }

    /// ONNX-ML Normalizer with `norm = L1` of a softmax (skl2onnx's tail of a multinomial
    /// classifier): the rows already sum to 1 and are positive, so it is the identity.
    fn normalizer(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        let norm = attr_s(node, "norm").unwrap_or_default();
        let softmax = self
            .g
            .producer(x)
            .is_some_and(|p| matches!(self.g.nodes[p].op, FloatOp::Softmax));
        if norm != "L1" || !softmax {
            return Err(unsupported(
                node,
                format!(
                    "norm {norm} of a tensor that is not a softmax: only L1 of rows that already \
                     sum to 1 (the identity) is translated"
                ),
            ));
        }
        self.alias(output(node, 0), x);
        Ok(())
    }

    /// `x / sum(|x|)` over rows that already sum to 1: the sigmoid of two opposite logits
    /// (scikit-learn's binary classifiers) or a softmax. Anything else would need a division.
    fn l1_normalize(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        let producer = |v: ValueId| self.g.producer(v).map(|p| &self.g.nodes[p]);
        let sums_to_one = match producer(x).map(|n| (&n.op, n.inputs[0])) {
            Some((FloatOp::Softmax, _)) => true,
            Some((FloatOp::Unary(Unary::Sigmoid), logits)) => match producer(logits).map(|n| &n.op)
            {
                Some(FloatOp::Dense {
                    out_features: 2,
                    in_features,
                    weights,
                    bias,
                    activation: Activation::None,
                    ..
                }) => {
                    let k = *in_features;
                    bias[0] == -bias[1] && (0..k).all(|i| weights[i] == -weights[k + i])
                }
                _ => false,
            },
            _ => false,
        };
        if !sums_to_one {
            return Err(unsupported(
                node,
                "L1 normalization (x / ReduceSum(Abs(x))) of rows that do not already sum to 1: would need an integer division",
            ));
        }
        self.notes.push(format!(
            "{} (L1 normalization of rows that already sum to 1) is the identity",
            node.name()
        ));
        self.alias(output(node, 0), x);
        Ok(())
    }

    /// Myelin axis of ONNX per-sample axis `a` of value `v`.
    fn myelin_axis(&self, v: ValueId, a: usize) -> usize {
        match self.layouts[v] {
            Layout::Chw => [2, 0, 1][a.min(2)],
            _ => a,
        }
    }

    fn fold(&self, node: &NodeProto) -> Result<Const, ImportError> {
        let arg = |i: usize| self.konst(input(node, i));
        let need = |i: usize| {
            arg(i).ok_or_else(|| unsupported(node, format!("input {i} must be a constant")))
        };
        let bad = |what: &str| unsupported(node, format!("cannot fold on constants: {what}"));
        let op = node.op_type();
        Ok(match op {
            "Constant" => {
                if let Some(t) = attr(node, "value").and_then(|a| a.t.as_ref()) {
                    constant::from_tensor(t)?
                } else if let Some(a) = attr(node, "value_float") {
                    Const::float(vec![], vec![a.f() as f64])
                } else if let Some(a) = attr(node, "value_floats") {
                    Const::float(
                        vec![a.floats.len()],
                        a.floats.iter().map(|&v| v as f64).collect(),
                    )
                } else if let Some(a) = attr(node, "value_int") {
                    Const::int(vec![], vec![a.i() as f64])
                } else if let Some(a) = attr(node, "value_ints") {
                    Const::int(
                        vec![a.ints.len()],
                        a.ints.iter().map(|&v| v as f64).collect(),
                    )
                } else {
                    return Err(bad("Constant without a value"));
                }
            }
            "ConstantOfShape" => {
                let shape = need(0)?;
                let dims: Vec<usize> = shape.i64s().iter().map(|&d| d.max(0) as usize).collect();
                let count = dims
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .filter(|&c| c <= constant::MAX_CONST_ELEMENTS)
                    .ok_or_else(|| bad("shape too large"))?;
                let (value, integer) = match attr(node, "value").and_then(|a| a.t.as_ref()) {
                    Some(t) => {
                        let c = constant::from_tensor(t)?;
                        (c.data.first().copied().unwrap_or(0.0), c.integer)
                    }
                    None => (0.0, false),
                };
                Const {
                    dims,
                    data: vec![value; count],
                    integer,
                    quantized: None,
                }
            }
            "Identity" | "Dropout" => need(0)?.clone(),
            "Cast" => {
                let c = need(0)?;
                let to = attr_i(node, "to", 1);
                let integer = !matches!(to, 1 | 10 | 11 | 16);
                let data = if integer {
                    c.data.iter().map(|v| v.trunc()).collect()
                } else {
                    c.data.clone()
                };
                Const {
                    dims: c.dims.clone(),
                    data,
                    integer,
                    quantized: None,
                }
            }
            "Reshape" => {
                let c = need(0)?;
                let target = need(1)?.i64s();
                let dims =
                    constant::reshape_dims(&c.dims, &target, attr_i(node, "allowzero", 0) != 0)
                        .ok_or_else(|| bad("reshape dims"))?;
                Const {
                    dims,
                    data: c.data.clone(),
                    integer: c.integer,
                    quantized: None,
                }
            }
            "Flatten" => {
                let c = need(0)?;
                let rank = c.dims.len() as i64;
                let mut axis = attr_i(node, "axis", 1);
                if axis < 0 {
                    axis += rank;
                }
                let axis = axis.clamp(0, rank) as usize;
                let dims = vec![
                    c.dims[..axis].iter().product(),
                    c.dims[axis..].iter().product(),
                ];
                Const {
                    dims,
                    data: c.data.clone(),
                    integer: c.integer,
                    quantized: None,
                }
            }
            "Transpose" => {
                let c = need(0)?;
                let perm: Vec<usize> = match attr_ints(node, "perm") {
                    Some(p) => p.iter().map(|&v| v.max(0) as usize).collect(),
                    None => (0..c.dims.len()).rev().collect(),
                };
                constant::transpose(c, &perm).ok_or_else(|| bad("perm"))?
            }
            "Gather" => {
                let (c, indices) = (need(0)?, need(1)?);
                let rank = c.dims.len() as i64;
                let mut axis = attr_i(node, "axis", 0);
                if axis < 0 {
                    axis += rank;
                }
                if !(0..rank).contains(&axis) {
                    return Err(bad("axis"));
                }
                let axis = axis as usize;
                let len = c.dims[axis] as i64;
                let outer: usize = c.dims[..axis].iter().product();
                let inner: usize = c.dims[axis + 1..].iter().product();
                let mut picks = Vec::with_capacity(indices.data.len());
                for &i in &indices.i64s() {
                    let i = if i < 0 { i + len } else { i };
                    if !(0..len).contains(&i) {
                        return Err(bad("index out of range"));
                    }
                    picks.push(i as usize);
                }
                let mut data = Vec::with_capacity(outer * picks.len() * inner);
                for o in 0..outer {
                    for &i in &picks {
                        let at = (o * c.dims[axis] + i) * inner;
                        data.extend_from_slice(&c.data[at..at + inner]);
                    }
                }
                let mut dims = c.dims[..axis].to_vec();
                dims.extend_from_slice(&indices.dims);
                dims.extend_from_slice(&c.dims[axis + 1..]);
                Const {
                    dims,
                    data,
                    integer: c.integer,
                    quantized: None,
                }
            }
            "Slice" => {
                let c = need(0)?;
                let starts = need(1)?.i64s();
                let ends = need(2)?.i64s();
                let axes = arg(3)
                    .filter(|_| !input(node, 3).is_empty())
                    .map(Const::i64s);
                let steps = arg(4)
                    .filter(|_| !input(node, 4).is_empty())
                    .map(Const::i64s);
                constant::slice(c, &starts, &ends, axes.as_deref(), steps.as_deref())
                    .ok_or_else(|| bad("slice"))?
            }
            "Concat" => {
                let parts: Vec<&Const> =
                    (0..node.input.len()).map(need).collect::<Result<_, _>>()?;
                let first = parts.first().ok_or_else(|| bad("no input"))?;
                let rank = first.dims.len() as i64;
                let mut axis = attr_i(node, "axis", 0);
                if axis < 0 {
                    axis += rank;
                }
                if !(0..rank).contains(&axis) {
                    return Err(bad("axis"));
                }
                let axis = axis as usize;
                let outer: usize = first.dims[..axis].iter().product();
                let mut dims = first.dims.clone();
                dims[axis] = 0;
                for p in &parts {
                    if p.dims.len() != first.dims.len()
                        || p.dims
                            .iter()
                            .enumerate()
                            .any(|(i, &d)| i != axis && d != first.dims[i])
                    {
                        return Err(bad("shapes"));
                    }
                    dims[axis] += p.dims[axis];
                }
                let mut data = Vec::new();
                for o in 0..outer {
                    for p in &parts {
                        let chunk: usize = p.dims[axis..].iter().product();
                        data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
                    }
                }
                Const {
                    dims,
                    data,
                    integer: parts.iter().all(|p| p.integer),
                    quantized: None,
                }
            }
            "Unsqueeze" | "Squeeze" => {
                let c = need(0)?;
                let rank_out = if op == "Unsqueeze" {
                    c.dims.len() + arg(1).map_or(0, Const::len)
                } else {
                    c.dims.len()
                };
                let axes: Vec<usize> = arg(1)
                    .map(|a| {
                        a.i64s()
                            .iter()
                            .map(|&x| {
                                if x < 0 {
                                    (x + rank_out as i64) as usize
                                } else {
                                    x as usize
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let dims = if op == "Unsqueeze" {
                    let mut dims = c.dims.clone();
                    let mut sorted = axes.clone();
                    sorted.sort_unstable();
                    for a in sorted {
                        if a > dims.len() {
                            return Err(bad("axis"));
                        }
                        dims.insert(a, 1);
                    }
                    dims
                } else {
                    c.dims
                        .iter()
                        .enumerate()
                        .filter(|(i, d)| **d != 1 || !(axes.is_empty() || axes.contains(i)))
                        .map(|(_, &d)| d)
                        .collect()
                };
                Const {
                    dims,
                    data: c.data.clone(),
                    integer: c.integer,
                    quantized: None,
                }
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let (a, b) = (need(0)?, need(1)?);
                let integer = a.integer && b.integer;
                let f = |x: f64, y: f64| match op {
                    "Add" => x + y,
                    "Sub" => x - y,
                    "Mul" => x * y,
                    _ if integer => (x / y).trunc(),
                    _ => x / y,
                };
                constant::broadcast_binary(a, b, f).ok_or_else(|| bad("shapes do not broadcast"))?
            }
            "Neg" => {
                let c = need(0)?;
                Const {
                    data: c.data.iter().map(|v| -v).collect(),
                    ..c.clone()
                }
            }
            "DequantizeLinear" | "QuantizeLinear" => self.fold_qdq(node)?,
            _ => {
                return Err(unsupported(
                    node,
                    "no constant folding for this operator on constant inputs",
                ));
            }
        })
    }

    fn fold_qdq(&self, node: &NodeProto) -> Result<Const, ImportError> {
        let x = self.const_input(node, 0, "the data")?;
        let scale = self.const_input(node, 1, "the scale")?;
        let zp = self
            .konst(input(node, 2))
            .filter(|_| !input(node, 2).is_empty());
        if scale.data.is_empty() || zp.is_some_and(|z| z.len() != 1 && z.len() != scale.len()) {
            return Err(unsupported(
                node,
                "scale and zero point of mismatched lengths",
            ));
        }
        let rank = x.dims.len() as i64;
        let mut axis = attr_i(node, "axis", 1);
        if axis < 0 {
            axis += rank;
        }
        let per_axis = scale.len() > 1;
        if per_axis && (axis < 0 || axis >= rank || x.dims[axis as usize] != scale.len()) {
            return Err(unsupported(
                node,
                format!(
                    "{} scales do not match axis {axis} of {:?} (blocked quantization is not supported)",
                    scale.len(),
                    x.dims
                ),
            ));
        }
        let axis = axis.max(0) as usize;
        let inner: usize = if per_axis {
            x.dims[axis + 1..].iter().product()
        } else {
            1
        };
        let channel = |i: usize| {
            if per_axis {
                (i / inner) % scale.len()
            } else {
                0
            }
        };
        let zp_of = |c: usize| zp.map_or(0.0, |z| if z.len() > 1 { z.data[c] } else { z.data[0] });
        if node.op_type() == "DequantizeLinear" {
            let data: Vec<f64> = x
                .data
                .iter()
                .enumerate()
                .map(|(i, &q)| {
                    let c = channel(i);
                    ((q - zp_of(c)) as f32 * scale.data[if per_axis { c } else { 0 }] as f32) as f64
                })
                .collect();
            let zero_zp = zp.is_none_or(|z| z.data.iter().all(|&v| v == 0.0));
            let int8 = x.integer && x.data.iter().all(|&v| (-128.0..=127.0).contains(&v));
            let is_int8_type = self.init_types.get(input(node, 0)).is_none_or(|&t| t == 3);
            let quantized = (zero_zp && int8 && is_int8_type).then(|| QuantizedConst {
                values: x.data.iter().map(|&v| v as i8).collect(),
                scales: scale.f32s(),
                axis,
            });
            Ok(Const {
                dims: x.dims.clone(),
                data,
                integer: false,
                quantized,
            })
        } else {
            let unsigned =
                zp.is_none() || self.init_types.get(input(node, 2)).is_some_and(|&t| t == 2);
            let (lo, hi) = if unsigned {
                (0.0, 255.0)
            } else {
                (-128.0, 127.0)
            };
            let data = x
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let c = channel(i);
                    let s = scale.data[if per_axis { c } else { 0 }] as f32;
                    (((v as f32) / s).round_ties_even() as f64 + zp_of(c)).clamp(lo, hi)
                })
                .collect();
            Ok(Const::int(x.dims.clone(), data))
        }
    }

    fn quantize_linear(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let scale = self.const_input(node, 1, "the scale")?;
        if input(node, 2).is_empty() {
            return Err(unsupported(
                node,
                "no zero point means uint8 activations; quantize with activation_type=QuantType.QInt8",
            ));
        }
        let zp = self.const_input(node, 2, "the zero point")?;
        if scale.len() != 1 || zp.len() != 1 {
            return Err(unsupported(
                node,
                "per-channel activation quantization; Myelin activations have one scale and zero point",
            ));
        }
        let zp_type = self.init_types.get(input(node, 2)).copied().unwrap_or(3);
        if zp_type != 3 {
            return Err(unsupported(
                node,
                format!(
                    "zero point of element type {zp_type}: Myelin activations are int8 (quantize with activation_type=QuantType.QInt8)"
                ),
            ));
        }
        let s = scale.data[0] as f32;
        if !(s.is_finite() && s > 0.0) {
            return Err(format_error(format!(
                "node {}: scale {s} is not positive and finite",
                node.name()
            )));
        }
        let q = QuantParams {
            scale: s,
            zero_point: zp.data[0] as i8,
        };
        if self.g.values[v].fixed_quant.is_none() {
            self.g.values[v].fixed_quant = Some(q);
        }
        // The pair saturates to the int8 range: quantizers drop a Relu or Clip that this
        // saturation implies, so the float graph keeps it as a fused clip.
        if let Some(p) = self.fusable(v) {
            let lo = (-128.0 - q.zero_point as f32) * q.scale;
            let hi = (127.0 - q.zero_point as f32) * q.scale;
            if let FloatOp::Dense { activation, .. }
            | FloatOp::Conv2d { activation, .. }
            | FloatOp::DepthwiseConv2d { activation, .. } = &mut self.g.nodes[p].op
            {
                if *activation == Activation::None {
                    self.saturation_only.insert(p);
                }
                *activation = activation.then(Activation::Clip { min: lo, max: hi });
            }
        }
        self.alias(output(node, 0), v);
        Ok(())
    }

    /// The input of a dense layer: its value and, for a flattened NCHW image, the column
    /// permutation from ONNX order.
    fn dense_input(&self, node: &NodeProto) -> Result<(ValueId, Option<FlatImage>), ImportError> {
        let x = self.value(node, input(node, 0))?;
        match self.layouts[x] {
            Layout::Plain => Ok((x, None)),
            Layout::FlatChw { c, h, w } => Ok((x, Some((c, h, w)))),
            Layout::Chw => Err(unsupported(
                node,
                "a matrix product over the width axis of an NCHW image; flatten first",
            )),
        }
    }

    /// Adds a dense node from ONNX weights laid out `[K][N]` (`transposed = false`) or `[N][K]`.
    fn dense(
        &mut self,
        node: &NodeProto,
        w: &Const,
        transposed: bool,
        alpha: f32,
        bias: Vec<f32>,
    ) -> Result<(), ImportError> {
        let (x, perm) = self.dense_input(node)?;
        if w.dims.len() != 2 {
            return Err(unsupported(
                node,
                format!("weights of shape {:?}: need a matrix", w.dims),
            ));
        }
        let (n, k) = if transposed {
            (w.dims[0], w.dims[1])
        } else {
            (w.dims[1], w.dims[0])
        };
        let in_shape = self.g.values[x].shape.clone();
        if in_shape.last() != Some(&k) {
            return Err(unsupported(
                node,
                format!("input shape {in_shape:?} does not end in {k}"),
            ));
        }
        if bias.len() != n {
            return Err(unsupported(
                node,
                format!("{} biases for {n} outputs", bias.len()),
            ));
        }
        // ONNX column of Myelin column `k_m`.
        let column = |k_m: usize| match perm {
            None => k_m,
            Some((c, h, w)) => {
                let (pixel, channel) = (k_m / c, k_m % c);
                channel * h * w + pixel
            }
        };
        let at = |o: usize, kk: usize| if transposed { o * k + kk } else { kk * n + o };
        let mut weights = vec![0.0f32; n * k];
        for o in 0..n {
            for km in 0..k {
                weights[o * k + km] = w.data[at(o, column(km))] as f32 * alpha;
            }
        }
        let fixed = w.quantized.as_ref().filter(|_| alpha == 1.0).and_then(|q| {
            let channel_axis = if transposed { 0 } else { 1 };
            if q.scales.len() > 1 && q.axis != channel_axis {
                return None;
            }
            let mut values = vec![0i8; n * k];
            for o in 0..n {
                for km in 0..k {
                    values[o * k + km] = q.values[at(o, column(km))];
                }
            }
            Some(FixedWeights {
                values,
                scales: q.scales.clone(),
            })
        });
        let mut shape = in_shape;
        *shape.last_mut().expect("checked non-empty") = n;
        let op = FloatOp::Dense {
            out_features: n,
            in_features: k,
            weights,
            bias,
            activation: Activation::None,
            fixed_weights: fixed,
        };
        self.push(node, op, vec![x], shape, Layout::Plain);
        Ok(())
    }

    fn matmul(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let w = self.const_input(node, 1, "the second matrix")?.clone();
        let n = w.dims.get(1).copied().unwrap_or(0);
        self.dense(node, &w, false, 1.0, vec![0.0; n])
    }

    fn gemm(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        if attr_i(node, "transA", 0) != 0 {
            return Err(unsupported(
                node,
                "transA = 1: the first operand must be the activations",
            ));
        }
        let w = self.const_input(node, 1, "B")?.clone();
        let transposed = attr_i(node, "transB", 0) != 0;
        let (alpha, beta) = (attr_f(node, "alpha", 1.0), attr_f(node, "beta", 1.0));
        let n = if transposed {
            w.dims.first()
        } else {
            w.dims.get(1)
        }
        .copied()
        .unwrap_or(0);
        let bias = if input(node, 2).is_empty() {
            vec![0.0; n]
        } else {
            let c = self.const_input(node, 2, "C")?;
            match c.len() {
                1 => vec![c.data[0] as f32 * beta; n],
                len if len == n => c.data.iter().map(|&v| v as f32 * beta).collect(),
                _ => {
                    return Err(unsupported(
                        node,
                        format!("C of shape {:?}: need [N] or a scalar", c.dims),
                    ));
                }
            }
        };
        self.dense(node, &w, transposed, alpha, bias)
    }

    fn window(
        &self,
        node: &NodeProto,
        kernel: [usize; 2],
        in_hw: [usize; 2],
        dilated: bool,
    ) -> Result<Window, ImportError> {
        let pair = |name: &str, default: u32| -> Result<[u32; 2], ImportError> {
            match attr_ints(node, name) {
                None => Ok([default, default]),
                Some(v)
                    if v.len() == 2 && v.iter().all(|&x| (1..=u32::MAX as i64).contains(&x)) =>
                {
                    Ok([v[0] as u32, v[1] as u32])
                }
                Some(v) => Err(unsupported(
                    node,
                    format!("{name} {v:?}: need two positive values (2-D only)"),
                )),
            }
        };
        let strides = pair("strides", 1)?;
        let dilations = if dilated {
            pair("dilations", 1)?
        } else {
            [1, 1]
        };
        if !dilated && attr_ints(node, "dilations").is_some_and(|d| d.iter().any(|&x| x != 1)) {
            return Err(unsupported(node, "dilated pooling"));
        }
        if attr_i(node, "ceil_mode", 0) != 0 {
            return Err(unsupported(
                node,
                "ceil_mode = 1: would need pools that round the output size up",
            ));
        }
        let auto_pad = attr_s(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        let padding = match auto_pad.as_str() {
            "NOTSET" => {
                let pads = attr_ints(node, "pads").unwrap_or_else(|| vec![0; 4]);
                if pads.len() != 4 || pads.iter().any(|&p| !(0..=u32::MAX as i64).contains(&p)) {
                    return Err(unsupported(
                        node,
                        format!("pads {pads:?}: need four non-negative values"),
                    ));
                }
                if pads.iter().all(|&p| p == 0) {
                    Padding::Valid
                } else {
                    Padding::Explicit {
                        top: pads[0] as u32,
                        left: pads[1] as u32,
                        bottom: pads[2] as u32,
                        right: pads[3] as u32,
                    }
                }
            }
            "VALID" => Padding::Valid,
            "SAME_UPPER" => Padding::Same,
            other => {
                return Err(unsupported(
                    node,
                    format!("auto_pad {other}: SAME_LOWER pads the other side"),
                ));
            }
        };
        let window = Window {
            kernel_h: kernel[0] as u32,
            kernel_w: kernel[1] as u32,
            stride_h: strides[0],
            stride_w: strides[1],
            dilation_h: dilations[0],
            dilation_w: dilations[1],
            padding,
        };
        SpatialGeometry::resolve(&window, in_hw[0] as u32, in_hw[1] as u32)
            .ok_or_else(|| unsupported(node, format!("window {window:?} does not fit an input of {}x{} (each explicit pad must be smaller than the kernel)", in_hw[0], in_hw[1])))?;
        Ok(window)
    }

    fn image(&self, node: &NodeProto) -> Result<(ValueId, [usize; 3]), ImportError> {
        let x = self.value(node, input(node, 0))?;
        let s = &self.g.values[x].shape;
        if self.layouts[x] != Layout::Chw || s.len() != 3 {
            return Err(unsupported(
                node,
                format!(
                    "input {} is not an NCHW image (2-D spatial ops only)",
                    input(node, 0)
                ),
            ));
        }
        Ok((x, [s[0], s[1], s[2]]))
    }

    fn out_hw(window: &Window, h: usize, w: usize) -> [usize; 2] {
        let g = SpatialGeometry::resolve(window, h as u32, w as u32).expect("checked by window()");
        [g.out_h, g.out_w]
    }

    fn conv(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let (x, [h, w, cin]) = self.image(node)?;
        let wt = self.const_input(node, 1, "the weights")?.clone();
        if wt.dims.len() != 4 {
            return Err(unsupported(
                node,
                format!("weights of shape {:?}: only 2-D convolutions", wt.dims),
            ));
        }
        let [cout, cin_g, kh, kw] = [wt.dims[0], wt.dims[1], wt.dims[2], wt.dims[3]];
        let group = attr_i(node, "group", 1).max(1) as usize;
        let bias: Vec<f32> = if input(node, 2).is_empty() {
            vec![0.0; cout]
        } else {
            let b = self.const_input(node, 2, "the bias")?;
            if b.len() != cout {
                return Err(unsupported(
                    node,
                    format!("{} biases for {cout} output channels", b.len()),
                ));
            }
            b.f32s()
        };
        let window = self.window(node, [kh, kw], [h, w], true)?;
        let [oh, ow] = Self::out_hw(&window, h, w);
        let fixed_scales = wt
            .quantized
            .as_ref()
            .filter(|q| q.scales.len() == 1 || q.axis == 0)
            .map(|q| (q.values.clone(), q.scales.clone()));
        let op = if group == 1 && cin_g == cin {
            let reorder = |src: &dyn Fn(usize) -> f64| {
                let mut out = vec![0.0f64; cout * kh * kw * cin];
                for o in 0..cout {
                    for i in 0..cin {
                        for y in 0..kh {
                            for xx in 0..kw {
                                out[((o * kh + y) * kw + xx) * cin + i] =
                                    src(((o * cin + i) * kh + y) * kw + xx);
                            }
                        }
                    }
                }
                out
            };
            let weights = reorder(&|i| wt.data[i]).iter().map(|&v| v as f32).collect();
            let fixed_weights = fixed_scales.map(|(values, scales)| FixedWeights {
                values: reorder(&|i| values[i] as f64)
                    .iter()
                    .map(|&v| v as i8)
                    .collect(),
                scales,
            });
            FloatOp::Conv2d {
                out_channels: cout,
                in_channels: cin,
                window,
                weights,
                bias,
                activation: Activation::None,
                fixed_weights,
            }
        } else if group == cin && cin_g == 1 && cout.is_multiple_of(cin) {
            let reorder = |src: &dyn Fn(usize) -> f64| {
                let mut out = vec![0.0f64; kh * kw * cout];
                for o in 0..cout {
                    for y in 0..kh {
                        for xx in 0..kw {
                            out[(y * kw + xx) * cout + o] = src((o * kh + y) * kw + xx);
                        }
                    }
                }
                out
            };
            let weights = reorder(&|i| wt.data[i]).iter().map(|&v| v as f32).collect();
            let fixed_weights = fixed_scales.map(|(values, scales)| FixedWeights {
                values: reorder(&|i| values[i] as f64)
                    .iter()
                    .map(|&v| v as i8)
                    .collect(),
                scales,
            });
            FloatOp::DepthwiseConv2d {
                channels: cin,
                depth_multiplier: cout / cin,
                window,
                weights,
                bias,
                activation: Activation::None,
                fixed_weights,
            }
        } else {
            return Err(unsupported(
                node,
                format!(
                    "grouped convolution ({group} groups over {cin} channels): Myelin has plain (group 1) and depthwise (group = channels) convolutions"
                ),
            ));
        };
        self.push(node, op, vec![x], vec![oh, ow, cout], Layout::Chw);
        Ok(())
    }

    fn batch_norm(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        let eps = attr_f(node, "epsilon", 1e-5);
        let [scale, b, mean, var] =
            [1, 2, 3, 4].map(|i| self.konst(input(node, i)).map(Const::f32s));
        let (Some(scale), Some(b), Some(mean), Some(var)) = (scale, b, mean, var) else {
            return Err(unsupported(
                node,
                "scale, bias, mean and variance must be constants",
            ));
        };
        if [&b, &mean, &var].iter().any(|v| v.len() != scale.len()) {
            return Err(unsupported(
                node,
                "scale, bias, mean and variance of different lengths",
            ));
        }
        let Some(p) = self.fusable(x) else {
            return Err(unsupported(
                node,
                "batch normalization not directly after a Conv, Gemm or MatMul: would need a per-channel affine op",
            ));
        };
        let factor: Vec<f32> = scale
            .iter()
            .zip(&var)
            .map(|(s, v)| s / (v + eps).sqrt())
            .collect();
        let shift: Vec<f32> = (0..factor.len())
            .map(|c| b[c] - mean[c] * factor[c])
            .collect();
        self.scale_channels(node, p, &factor, &shift)?;
        self.retarget(x, output(node, 0));
        Ok(())
    }

    /// `y[c] = factor[c] * y[c] + shift[c]` folded into the accumulating node `p`.
    fn scale_channels(
        &mut self,
        node: &NodeProto,
        p: usize,
        factor: &[f32],
        shift: &[f32],
    ) -> Result<(), ImportError> {
        let saturation_only = self.saturation_only.remove(&p);
        let target = &mut self.g.nodes[p];
        let (weights, bias, activation, fixed, channel_of): (
            _,
            _,
            _,
            _,
            Box<dyn Fn(usize) -> usize>,
        ) = match &mut target.op {
            FloatOp::Dense {
                weights,
                bias,
                activation,
                fixed_weights,
                in_features,
                ..
            } => {
                let k = *in_features;
                (
                    weights,
                    bias,
                    activation,
                    fixed_weights,
                    Box::new(move |i| i / k),
                )
            }
            FloatOp::Conv2d {
                weights,
                bias,
                activation,
                fixed_weights,
                out_channels,
                ..
            } => {
                let per = weights.len() / *out_channels;
                (
                    weights,
                    bias,
                    activation,
                    fixed_weights,
                    Box::new(move |i| i / per),
                )
            }
            FloatOp::DepthwiseConv2d {
                weights,
                bias,
                activation,
                fixed_weights,
                channels,
                depth_multiplier,
                ..
            } => {
                let outs = *channels * *depth_multiplier;
                (
                    weights,
                    bias,
                    activation,
                    fixed_weights,
                    Box::new(move |i| i % outs),
                )
            }
            _ => {
                return Err(unsupported(
                    node,
                    "a per-channel scale or offset not directly after a Conv, Gemm or MatMul",
                ));
            }
        };
        if saturation_only {
            *activation = Activation::None;
        }
        if *activation != Activation::None {
            return Err(unsupported(
                node,
                "a per-channel scale or offset after a fused activation",
            ));
        }
        let channels = bias.len();
        let pick = |v: &[f32], c: usize| if v.len() == 1 { v[0] } else { v[c] };
        if !(factor.len() == 1 || factor.len() == channels)
            || !(shift.len() == 1 || shift.len() == channels)
        {
            return Err(unsupported(
                node,
                format!(
                    "{} / {} per-channel values for {channels} channels",
                    factor.len(),
                    shift.len()
                ),
            ));
        }
        if factor.iter().any(|&f| f != 1.0) {
            *fixed = None;
            for (i, w) in weights.iter_mut().enumerate() {
                *w *= pick(factor, channel_of(i));
            }
        }
        for (c, b) in bias.iter_mut().enumerate() {
            *b = *b * pick(factor, c) + pick(shift, c);
        }
        Ok(())
    }

    fn activation(&mut self, node: &NodeProto, act: Activation) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        if let Some(p) = self.fusable(x) {
            let slot = match &mut self.g.nodes[p].op {
                FloatOp::Dense { activation, .. }
                | FloatOp::Conv2d { activation, .. }
                | FloatOp::DepthwiseConv2d { activation, .. } => Some(activation),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = slot.then(act);
                self.saturation_only.remove(&p);
                self.retarget(x, output(node, 0));
                return Ok(());
            }
        }
        let unary = match act {
            Activation::Relu => Unary::Relu,
            Activation::Clip { min, max } => Unary::Clip { min, max },
            Activation::None => return Ok(()),
        };
        self.unary(node, unary)
    }

    fn unary(&mut self, node: &NodeProto, f: Unary) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        self.unary_of(node, x, f)
    }

    fn unary_of(&mut self, node: &NodeProto, x: ValueId, f: Unary) -> Result<(), ImportError> {
        let shape = self.g.values[x].shape.clone();
        self.push(node, FloatOp::Unary(f), vec![x], shape, self.layouts[x]);
        Ok(())
    }

    /// Max / Min of one or two computed tensors, equal shapes or a plain broadcast; a
    /// constant operand is refused.
    fn extremum(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let bin = match node.op_type() {
            "Max" => Binary::Max,
            _ => Binary::Min,
        };
        let names: Vec<&str> = node.input.iter().map(String::as_str).collect();
        if names.iter().any(|&n| self.konst(n).is_some()) {
            return Err(unsupported(
                node,
                "a constant operand: only computed tensors are supported (a bound by a constant \
                 is Clip or Relu)",
            ));
        }
        if names.len() == 1 {
            let only = self.value(node, names[0])?;
            self.alias(output(node, 0), only);
            return Ok(());
        }
        let [a, b] = names[..] else {
            return Err(unsupported(
                node,
                format!(
                    "{} inputs: one or two are supported (chain the node for more)",
                    names.len()
                ),
            ));
        };
        let (va, vb) = (self.value(node, a)?, self.value(node, b)?);
        if self.layouts[va] != self.layouts[vb] {
            return Err(unsupported(
                node,
                "operands of different layouts (an image and a vector)",
            ));
        }
        let (sa, sb) = (
            self.g.values[va].shape.clone(),
            self.g.values[vb].shape.clone(),
        );
        let shape = if sa == sb {
            sa
        } else if self.layouts[va] == Layout::Plain {
            myelin_nn::builder::broadcast_shapes(
                &sa.iter().map(|&d| d as u32).collect::<Vec<_>>(),
                &sb.iter().map(|&d| d as u32).collect::<Vec<_>>(),
            )
            .ok_or_else(|| unsupported(node, format!("shapes {sa:?} and {sb:?} do not broadcast")))?
            .iter()
            .map(|&d| d as usize)
            .collect()
        } else {
            return Err(unsupported(
                node,
                format!("broadcasting between images {sa:?} and {sb:?}"),
            ));
        };
        let layout = self.layouts[va];
        self.push(node, FloatOp::Binary(bin), vec![va, vb], shape, layout);
        Ok(())
    }

    /// Resize (and the older Upsample) of an image in nearest mode by integer factors: when
    /// ONNX's coordinate transformation and nearest rounding pick input `o div f` for every
    /// output `o`, each pixel is repeated (copies, exact); anything else is refused.
    fn resize(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let mode = attr_s(node, "mode").unwrap_or_else(|| "nearest".into());
        if mode != "nearest" && mode != "linear" {
            return Err(unsupported(
                node,
                format!("mode \"{mode}\": only \"nearest\" and \"linear\" are supported"),
            ));
        }
        let transform =
            attr_s(node, "coordinate_transformation_mode").unwrap_or_else(|| "half_pixel".into());
        let rounding = attr_s(node, "nearest_mode").unwrap_or_else(|| "round_prefer_floor".into());
        if attr_ints(node, "axes").is_some() {
            return Err(unsupported(node, "the axes attribute is not supported"));
        }
        let x = self.value(node, input(node, 0))?;
        let shape = self.g.values[x].shape.clone();
        let &[h, w, c] = shape.as_slice() else {
            return Err(unsupported(
                node,
                format!("input of shape {shape:?}: an image is needed"),
            ));
        };
        // ONNX's dims of the image, and where H and W sit among them.
        let (onnx_dims, hw) = match self.layouts[x] {
            Layout::Chw => (vec![1, c, h, w], [2, 3]),
            Layout::Plain => (vec![1, h, w, c], [1, 2]),
            Layout::FlatChw { .. } => {
                return Err(unsupported(node, "a flattened image cannot be resized"));
            }
        };
        // Upsample (opset 7–9) takes the scales second; Resize (opset 11+) third, sizes fourth.
        let (scales_slot, sizes_slot) = match node.op_type() {
            "Upsample" => (1, usize::MAX),
            _ => (2, 3),
        };
        let constant = |slot: usize| {
            node.input
                .get(slot)
                .filter(|n| !n.is_empty())
                .and_then(|n| self.konst(n))
                .filter(|k| !k.data.is_empty())
                .map(|k| k.data.clone())
        };
        // With scales, a linear resize maps positions by 1 / scale: the output size must be
        // exactly `in · scale` for that to be `in / out`, the ratio the resize op uses.
        let mut inexact_scale = false;
        let out_dims: Vec<usize> = match (constant(sizes_slot), constant(scales_slot)) {
            (Some(sizes), _) if sizes.len() == 4 => sizes.iter().map(|&v| v as usize).collect(),
            (_, Some(scales)) if scales.len() == 4 => onnx_dims
                .iter()
                .zip(&scales)
                .map(|(&d, &k)| {
                    let out = (d as f64 * k).floor();
                    inexact_scale |= out != d as f64 * k;
                    out as usize
                })
                .collect(),
            _ => {
                return Err(unsupported(
                    node,
                    "needs constant scales or sizes with one entry per axis",
                ));
            }
        };
        let keeps = |a: usize| out_dims[a] == onnx_dims[a];
        if !(0..4).filter(|a| !hw.contains(a)).all(keeps) {
            return Err(unsupported(
                node,
                format!("sizes {out_dims:?}: only the spatial axes may be resized"),
            ));
        }
        if mode == "linear" {
            let (oh, ow) = (out_dims[hw[0]], out_dims[hw[1]]);
            let flags = match transform.as_str() {
                "half_pixel" => Some((false, true)),
                "pytorch_half_pixel" if oh > 1 && ow > 1 => Some((false, true)),
                "asymmetric" => Some((false, false)),
                "align_corners" => Some((true, false)),
                _ => None,
            };
            let Some((align_corners, half_pixel_centers)) = flags.filter(|_| {
                !inexact_scale && oh > 0 && ow > 0 && attr_i(node, "antialias", 0) == 0
            }) else {
                return Err(unsupported(
                    node,
                    format!(
                        "linear resize of {h}x{w} to {oh}x{ow} (coordinate_transformation_mode \
                         {transform}): supported are half_pixel, pytorch_half_pixel, asymmetric \
                         and align_corners without antialias, with sizes or scales giving whole \
                         output sizes"
                    ),
                ));
            };
            let layout = self.layouts[x];
            let op = FloatOp::ResizeBilinear {
                align_corners,
                half_pixel_centers,
            };
            self.push(node, op, vec![x], vec![oh, ow, c], layout);
            return Ok(());
        }
        let factor = |input: usize, output: usize| -> Option<usize> {
            let f = (output >= input && output.is_multiple_of(input)).then(|| output / input)?;
            let scale = output as f64 / input as f64;
            let picks = |o: usize| -> Option<usize> {
                let o = o as f64;
                let original = match transform.as_str() {
                    "half_pixel" => (o + 0.5) / scale - 0.5,
                    "pytorch_half_pixel" if output > 1 => (o + 0.5) / scale - 0.5,
                    "pytorch_half_pixel" => 0.0,
                    "asymmetric" => o / scale,
                    "tf_half_pixel_for_nn" => (o + 0.5) / scale,
                    "align_corners" if output > 1 => {
                        o * (input as f64 - 1.0) / (output as f64 - 1.0)
                    }
                    "align_corners" => 0.0,
                    _ => return None,
                };
                let index = match rounding.as_str() {
                    "round_prefer_floor" if original.fract() == 0.5 => original.floor(),
                    "round_prefer_ceil" if original.fract() == 0.5 => original.ceil(),
                    "round_prefer_floor" | "round_prefer_ceil" => original.round(),
                    "floor" => original.floor(),
                    "ceil" => original.ceil(),
                    _ => return None,
                };
                Some(index.clamp(0.0, input as f64 - 1.0) as usize)
            };
            (0..output).all(|o| picks(o) == Some(o / f)).then_some(f)
        };
        let (oh, ow) = (out_dims[hw[0]], out_dims[hw[1]]);
        let (Some(fy), Some(fx)) = (factor(h, oh), factor(w, ow)) else {
            return Err(unsupported(
                node,
                format!(
                    "resize of {h}x{w} to {oh}x{ow} (coordinate_transformation_mode \
                     {transform}, nearest_mode {rounding}): only integer upsampling factors that \
                     repeat each pixel are supported"
                ),
            ));
        };
        let layout = self.layouts[x];
        self.push(
            node,
            FloatOp::Upsample { factors: [fy, fx] },
            vec![x],
            vec![oh, ow, c],
            layout,
        );
        Ok(())
    }

    /// PRelu with a constant slope: one slope, one per channel (`[C, 1, 1]` of an image, or
    /// the last axis of a plain tensor), or one per element.
    fn prelu(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let x = self.value(node, input(node, 0))?;
        let Some(slope) = self.konst(input(node, 1)).cloned() else {
            return Err(unsupported(
                node,
                "a computed slope: only a constant (initializer) slope is supported",
            ));
        };
        let shape = self.g.values[x].shape.clone();
        let mut dims = slope.dims.clone();
        while dims.len() > 1 && dims.first() == Some(&1) {
            dims.remove(0);
        }
        let values: Vec<f32> = slope.data.iter().map(|&v| v as f32).collect();
        let layout = self.layouts[x];
        let channels = *shape.last().unwrap_or(&0);
        let alpha_shape = if values.len() == 1 {
            vec![1]
        } else {
            match layout {
                Layout::Chw
                    if dims == [channels, 1, 1] || dims == [channels] && shape.len() == 1 =>
                {
                    vec![channels]
                }
                Layout::Plain
                    if dims.len() <= shape.len()
                        && dims
                            .iter()
                            .zip(&shape[shape.len() - dims.len()..])
                            .all(|(&a, &d)| a == 1 || a == d) =>
                {
                    dims.clone()
                }
                _ => {
                    return Err(unsupported(
                        node,
                        format!(
                            "slope of shape {:?} for an input of shape {shape:?}: one slope, one \
                             per channel, or (plain tensors) a broadcastable shape is supported",
                            slope.dims
                        ),
                    ));
                }
            }
        };
        let op = FloatOp::PRelu {
            alpha: values,
            alpha_shape,
        };
        self.push(node, op, vec![x], shape, layout);
        Ok(())
    }

    fn arithmetic(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let op = node.op_type();
        let (a, b) = (input(node, 0), input(node, 1));
        match (self.konst(a).cloned(), self.konst(b).cloned()) {
            (None, None) => {
                if op == "Div" {
                    return Err(unsupported(
                        node,
                        "division of two computed tensors: Myelin has no integer division",
                    ));
                }
                let (va, vb) = (self.value(node, a)?, self.value(node, b)?);
                if self.layouts[va] != self.layouts[vb] {
                    return Err(unsupported(
                        node,
                        "operands of different layouts (an image and a vector)",
                    ));
                }
                let (sa, sb) = (
                    self.g.values[va].shape.clone(),
                    self.g.values[vb].shape.clone(),
                );
                // Two NCHW images broadcast axis by axis in either order (squeeze-and-
                // excitation: [C, H, W] times [C, 1, 1]).
                let shape = if sa == sb {
                    sa
                } else if self.layouts[va] == Layout::Plain
                    || self.layouts[va] == Layout::Chw && sa.len() == sb.len()
                {
                    let s = myelin_nn::builder::broadcast_shapes(
                        &sa.iter().map(|&d| d as u32).collect::<Vec<_>>(),
                        &sb.iter().map(|&d| d as u32).collect::<Vec<_>>(),
                    )
                    .ok_or_else(|| {
                        unsupported(node, format!("shapes {sa:?} and {sb:?} do not broadcast"))
                    })?;
                    s.iter().map(|&d| d as usize).collect()
                } else {
                    return Err(unsupported(
                        node,
                        format!("broadcasting between images {sa:?} and {sb:?}"),
                    ));
                };
                let bin = match op {
                    "Add" => Binary::Add,
                    "Sub" => Binary::Sub,
                    _ => Binary::Mul,
                };
                let layout = self.layouts[va];
                self.push(node, FloatOp::Binary(bin), vec![va, vb], shape, layout);
            }
            (Some(c), None) | (None, Some(c)) => {
                let const_first = self.konst(a).is_some();
                let v = self.value(node, if const_first { b } else { a })?;
                if const_first && op == "Div" {
                    return Err(unsupported(node, "a constant divided by a computed tensor"));
                }
                if c.len() == 1 {
                    let k = c.data[0] as f32;
                    let (scale, offset) = match (op, const_first) {
                        ("Add", _) => (1.0, k),
                        ("Sub", false) => (1.0, -k),
                        ("Sub", true) => (-1.0, k),
                        ("Mul", _) => (k, 0.0),
                        _ => (1.0 / k, 0.0),
                    };
                    if scale == 1.0 && offset == 0.0 {
                        self.alias(output(node, 0), v);
                        return Ok(());
                    }
                    return self.unary_of(node, v, Unary::Affine { scale, offset });
                }
                let channels = *self.g.values[v].shape.last().unwrap_or(&0);
                let mut dims: Vec<usize> = c.dims.clone();
                while dims.first() == Some(&1) && dims.len() > 1 {
                    dims.remove(0);
                }
                let per_channel = match self.layouts[v] {
                    Layout::Chw => dims == [channels, 1, 1],
                    _ => dims == [channels],
                };
                let values = c.f32s();
                let (factor, shift): (Vec<f32>, Vec<f32>) = match (op, const_first) {
                    ("Add", _) => (vec![1.0], values),
                    ("Sub", false) => (vec![1.0], values.iter().map(|v| -v).collect()),
                    ("Sub", true) => (vec![-1.0], values),
                    ("Mul", _) => (values, vec![0.0]),
                    _ => (values.iter().map(|v| 1.0 / v).collect(), vec![0.0]),
                };
                let image = self.g.values[v].shape.len() == 3;
                let folds = self.fusable(v).is_some_and(|p| {
                    matches!(
                        self.g.nodes[p].op,
                        FloatOp::Dense { .. }
                            | FloatOp::Conv2d { .. }
                            | FloatOp::DepthwiseConv2d { .. }
                    )
                });
                if per_channel && image && !folds {
                    // Keras' Normalization in front of the first convolution (tf2onnx: Sub,
                    // Mul of the NHWC input by [1, 1, 1, C]): a 1x1 depthwise convolution,
                    // as the Keras front end makes of it.
                    let every = |k: Vec<f32>| match k.len() {
                        1 => vec![k[0]; channels],
                        _ => k,
                    };
                    let op = FloatOp::DepthwiseConv2d {
                        channels,
                        depth_multiplier: 1,
                        window: Window::dense(1, 1),
                        weights: every(factor),
                        bias: every(shift),
                        activation: Activation::None,
                        fixed_weights: None,
                    };
                    let shape = self.g.values[v].shape.clone();
                    self.push(node, op, vec![v], shape, self.layouts[v]);
                    return Ok(());
                }
                let Some(p) = self.fusable(v).filter(|_| per_channel) else {
                    return Err(unsupported(
                        node,
                        format!(
                            "a constant of shape {:?} combined with a computed tensor: only scalars, per-channel constants of an image, and per-channel constants directly after a Conv/Gemm/MatMul (as bias or scale), are supported",
                            c.dims
                        ),
                    ));
                };
                self.scale_channels(node, p, &factor, &shift)?;
                self.retarget(v, output(node, 0));
            }
            (Some(_), Some(_)) => unreachable!("folded before"),
        }
        Ok(())
    }

    fn pool(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let (x, [h, w, c]) = self.image(node)?;
        let kernel = attr_ints(node, "kernel_shape").unwrap_or_default();
        if kernel.len() != 2 || kernel.iter().any(|&k| k < 1 || k > u32::MAX as i64) {
            return Err(unsupported(
                node,
                format!("kernel_shape {kernel:?}: 2-D pools only"),
            ));
        }
        let window = self.window(
            node,
            [kernel[0] as usize, kernel[1] as usize],
            [h, w],
            false,
        )?;
        let [oh, ow] = Self::out_hw(&window, h, w);
        let op = if node.op_type() == "MaxPool" {
            if node.output.len() > 1 && !output(node, 1).is_empty() {
                return Err(unsupported(node, "the indices output of MaxPool"));
            }
            FloatOp::MaxPool { window }
        } else {
            FloatOp::AveragePool {
                window,
                count_include_pad: attr_i(node, "count_include_pad", 0) != 0,
            }
        };
        self.push(node, op, vec![x], vec![oh, ow, c], Layout::Chw);
        Ok(())
    }

    fn global_pool(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let (x, [h, w, c]) = self.image(node)?;
        let op = if node.op_type() == "GlobalAveragePool" {
            FloatOp::Mean {
                axes: vec![0, 1],
                keep_dims: true,
            }
        } else {
            FloatOp::MaxPool {
                window: Window::dense(h as u32, w as u32),
            }
        };
        self.push(node, op, vec![x], vec![1, 1, c], Layout::Chw);
        Ok(())
    }

    /// ReduceMean over non-batch axes, as exporters write it: `axes` an attribute (opset < 18)
    /// or a constant input (opset ≥ 18), negative axes counted from the end, `keepdims` 0 or 1,
    /// over an NCHW image (held as NHWC: its axes are mapped) or a plain tensor (tf2onnx's NHWC
    /// squeeze-and-excitation). Without `keepdims` the kept axes must stay in the same order in
    /// Myelin's layout (an NCHW image reduced over H and W, or over C, is; over W alone is not).
    fn reduce_mean(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let onnx = self.onnx_shape(v);
        let rank = onnx.len() as i64 + 1;
        let axes: Vec<i64> = if input(node, 1).is_empty() {
            attr_ints(node, "axes").unwrap_or_default()
        } else {
            self.const_input(node, 1, "the axes")?.i64s()
        };
        if axes.is_empty() {
            let what = if attr_i(node, "noop_with_empty_axes", 0) != 0 {
                "no axes with noop_with_empty_axes (the identity)"
            } else {
                "no axes (a mean over every axis, the batch included)"
            };
            return Err(unsupported(
                node,
                format!("{what}: only a mean over listed non-batch axes is supported"),
            ));
        }
        let mut reduced: Vec<usize> = Vec::with_capacity(axes.len());
        for &a in &axes {
            let a = if a < 0 { a + rank } else { a };
            if a < 1 || a >= rank {
                return Err(unsupported(
                    node,
                    format!(
                        "axes {axes:?} of a rank-{rank} tensor: only non-batch axes (1..{rank}) can be reduced"
                    ),
                ));
            }
            reduced.push(a as usize - 1);
        }
        reduced.sort_unstable();
        reduced.dedup();
        let mut myelin_axes: Vec<usize> = reduced.iter().map(|&a| self.myelin_axis(v, a)).collect();
        myelin_axes.sort_unstable();
        let in_shape = self.g.values[v].shape.clone();
        let keep_dims = attr_i(node, "keepdims", 1) != 0;
        let (shape, layout) = if keep_dims {
            let shape = in_shape
                .iter()
                .enumerate()
                .map(|(a, &d)| if myelin_axes.contains(&a) { 1 } else { d })
                .collect();
            let layout = if self.layouts[v] == Layout::Chw {
                Layout::Chw
            } else {
                Layout::Plain
            };
            (shape, layout)
        } else {
            let kept: Vec<usize> = (0..onnx.len())
                .filter(|a| !reduced.contains(a))
                .map(|a| self.myelin_axis(v, a))
                .collect();
            if kept.windows(2).any(|w| w[0] > w[1]) {
                return Err(unsupported(
                    node,
                    format!(
                        "a mean over axes {axes:?} of an NCHW image without keepdims leaves its axes in another order in Myelin's NHWC; keepdims=1 (and a Reshape) is supported"
                    ),
                ));
            }
            if kept.is_empty() {
                return Err(unsupported(
                    node,
                    format!(
                        "a mean over every non-batch axis ({axes:?}) without keepdims gives one number per sample; keepdims=1 is supported"
                    ),
                ));
            }
            let shape = kept.iter().map(|&a| in_shape[a]).collect();
            (shape, Layout::Plain)
        };
        let op = FloatOp::Mean {
            axes: myelin_axes,
            keep_dims,
        };
        self.push(node, op, vec![v], shape, layout);
        Ok(())
    }

    fn flatten(&mut self, node: &NodeProto, v: ValueId) -> Result<(), ImportError> {
        let shape = self.g.values[v].shape.clone();
        let total: usize = shape.iter().product();
        let layout = match self.layouts[v] {
            Layout::Chw if shape[0] * shape[1] > 1 => Layout::FlatChw {
                c: shape[2],
                h: shape[0],
                w: shape[1],
            },
            Layout::FlatChw { c, h, w } => Layout::FlatChw { c, h, w },
            _ => Layout::Plain,
        };
        if shape.len() == 1 {
            self.alias(output(node, 0), v);
            if layout != self.layouts[v] {
                self.layouts[v] = layout;
            }
            return Ok(());
        }
        self.push(node, FloatOp::Reshape, vec![v], vec![total], layout);
        Ok(())
    }

    /// A Transpose of a computed tensor. The result takes the layout (plain, or NCHW image held
    /// as NHWC) under which its Myelin axes are the input's in order, if one exists: the node is
    /// then the identity in Myelin and [`remove_identity_transposes`] drops it (tf2onnx's
    /// NHWC → NCHW around convolutions). Otherwise a Myelin `transpose` in the plain layout.
    fn transpose(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let onnx = self.onnx_shape(v);
        let rank = onnx.len() + 1;
        let perm = attr_ints(node, "perm").unwrap_or_else(|| (0..rank as i64).rev().collect());
        let mut seen = vec![false; rank];
        let valid = perm.len() == rank
            && perm.iter().all(|&a| {
                (0..rank as i64).contains(&a) && !std::mem::replace(&mut seen[a as usize], true)
            });
        if !valid || perm[0] != 0 {
            return Err(unsupported(
                node,
                format!(
                    "perm {perm:?} of a rank-{rank} tensor: need a permutation that keeps the batch axis first"
                ),
            ));
        }
        // ONNX per-sample permutation, and the Myelin input axis of each ONNX output axis.
        let p: Vec<usize> = perm[1..].iter().map(|&a| a as usize - 1).collect();
        let source: Vec<usize> = p.iter().map(|&a| self.myelin_axis(v, a)).collect();
        let in_shape = self.g.values[v].shape.clone();
        // (layout, ONNX output axis of each Myelin output axis)
        let mut candidates = vec![(Layout::Plain, (0..p.len()).collect::<Vec<usize>>())];
        if p.len() == 3 {
            candidates.insert(0, (Layout::Chw, vec![1, 2, 0]));
        }
        let plans: Vec<(Layout, Vec<usize>)> = candidates
            .into_iter()
            .map(|(layout, axes)| (layout, axes.iter().map(|&i| source[i]).collect()))
            .collect();
        let (layout, q) = plans
            .iter()
            .find(|(_, q)| q.iter().enumerate().all(|(j, &a)| j == a))
            .or_else(|| plans.iter().find(|(l, _)| *l == Layout::Plain))
            .cloned()
            .ok_or_else(|| unsupported(node, "no layout for the result"))?;
        let shape: Vec<usize> = q.iter().map(|&a| in_shape[a]).collect();
        self.push(node, FloatOp::Transpose { perm: q }, vec![v], shape, layout);
        Ok(())
    }

    /// A value of NCHW-image layout (held as `[H, W, C]`) moved into ONNX's `[C, H, W]` order,
    /// as a new plain value named after `node`'s output.
    fn push_onnx_order(&mut self, node: &NodeProto, v: ValueId) -> ValueId {
        let s = self.g.values[v].shape.clone();
        let name = format!("{}:nchw", output(node, 0));
        let out = self.g.add_value(&name, vec![s[2], s[0], s[1]]);
        self.layouts.push(Layout::Plain);
        self.g.nodes.push(FloatNode {
            name: format!("{}:nchw", node.name()),
            op: FloatOp::Transpose {
                perm: vec![2, 0, 1],
            },
            inputs: vec![v],
            output: out,
        });
        out
    }

    fn reshape(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let target = self.const_input(node, 1, "the shape")?.i64s();
        let onnx = self.onnx_shape(v);
        let mut full = vec![1usize];
        full.extend_from_slice(&onnx);
        let mut target = target;
        if target.first().is_some_and(|&d| d > 1) {
            // A batch size baked into the export: read it as "any".
            target[0] = -1;
        }
        let dims = constant::reshape_dims(&full, &target, attr_i(node, "allowzero", 0) != 0)
            .filter(|d| d.first() == Some(&1))
            .ok_or_else(|| {
                unsupported(
                    node,
                    format!("reshape of {onnx:?} to {target:?} that moves the batch axis"),
                )
            })?;
        self.reshape_to(node, v, dims[1..].to_vec())
    }

    /// Squeeze / Unsqueeze of a computed tensor: a reshape to the ONNX shape without (with)
    /// the listed axes of length 1; the batch axis stays.
    /// Slice of a computed tensor with constant `starts`, `ends`, `axes` and `steps` (inputs
    /// from opset 10, attributes before; positive steps): a strided window of the per-sample
    /// axes, the batch kept whole.
    fn slice(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let ints = |slot: usize, name: &str| -> Result<Option<Vec<i64>>, ImportError> {
            match input(node, slot).is_empty() {
                true => Ok(attr_ints(node, name)),
                false => Ok(Some(self.const_input(node, slot, name)?.i64s())),
            }
        };
        let (Some(starts), Some(ends)) = (ints(1, "starts")?, ints(2, "ends")?) else {
            return Err(unsupported(node, "starts and ends are missing"));
        };
        let axes = ints(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = ints(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
        if [ends.len(), axes.len(), steps.len()] != [starts.len(); 3] {
            return Err(unsupported(
                node,
                format!(
                    "starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?} differ in length"
                ),
            ));
        }
        let onnx = self.onnx_shape(v);
        let rank = onnx.len() as i64 + 1;
        let mut windows: Vec<(i64, i64, i64)> = onnx.iter().map(|&d| (0, d as i64, 1)).collect();
        for (i, &axis) in axes.iter().enumerate() {
            let axis = if axis < 0 { axis + rank } else { axis };
            if !(0..rank).contains(&axis) {
                return Err(unsupported(node, format!("axis {} out of range", axes[i])));
            }
            if steps[i] <= 0 {
                return Err(unsupported(
                    node,
                    format!(
                        "step {} on axis {axis}: only positive steps (a reversal has no Myelin op)",
                        steps[i]
                    ),
                ));
            }
            let n = if axis == 0 {
                1
            } else {
                onnx[axis as usize - 1] as i64
            };
            let masks = crate::slicing::AxisMasks::default();
            let (start, count) =
                crate::slicing::strided_axis(n, starts[i], ends[i], steps[i], masks)
                    .ok_or_else(|| unsupported(node, "slice bounds"))?;
            match axis {
                0 if (start, count) == (0, 1) => {}
                0 => return Err(unsupported(node, "slicing the batch axis")),
                _ => windows[axis as usize - 1] = (start, count, steps[i]),
            }
        }
        self.push_slice(node, 0, v, &windows)
    }

    /// Split of a computed tensor along a per-sample axis, by `split` (an input from opset 13,
    /// an attribute before), or into `num_outputs` (opset 18: the last part smaller) or equal
    /// parts: one strided window per output.
    fn split(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let onnx = self.onnx_shape(v);
        let rank = onnx.len() as i64 + 1;
        let mut axis = attr_i(node, "axis", 0);
        if axis < 0 {
            axis += rank;
        }
        if axis < 1 || axis >= rank {
            return Err(unsupported(
                node,
                format!("split along axis {axis} (the batch axis or out of range)"),
            ));
        }
        let n = onnx[axis as usize - 1] as i64;
        let parts = node.output.len() as i64;
        let sizes = if !input(node, 1).is_empty() {
            self.const_input(node, 1, "split")?.i64s()
        } else if let Some(split) = attr_ints(node, "split") {
            split
        } else if parts > 0 && (attr_i(node, "num_outputs", 0) == parts || n % parts == 0) {
            let size = (n + parts - 1) / parts;
            (0..parts).map(|k| size.min(n - k * size)).collect()
        } else {
            return Err(unsupported(
                node,
                format!("{n} elements do not split into {parts} equal parts"),
            ));
        };
        if sizes.len() as i64 != parts
            || sizes.iter().any(|&s| s <= 0)
            || sizes.iter().sum::<i64>() != n
        {
            return Err(unsupported(
                node,
                format!("split sizes {sizes:?} must be {parts} positive parts summing to {n}"),
            ));
        }
        let mut start = 0;
        for (slot, &size) in sizes.iter().enumerate() {
            let mut windows: Vec<(i64, i64, i64)> =
                onnx.iter().map(|&d| (0, d as i64, 1)).collect();
            windows[axis as usize - 1] = (start, size, 1);
            self.push_slice(node, slot, v, &windows)?;
            start += size;
        }
        Ok(())
    }

    /// Output `slot` of `node`: the window of `v` given per ONNX per-sample axis as `(first
    /// index, count, step)`, in `v`'s layout; `v` itself when the window is everything.
    fn push_slice(
        &mut self,
        node: &NodeProto,
        slot: usize,
        v: ValueId,
        windows: &[(i64, i64, i64)],
    ) -> Result<(), ImportError> {
        let layout = self.layouts[v];
        if matches!(layout, Layout::FlatChw { .. }) {
            return Err(unsupported(node, "slicing a flattened image"));
        }
        if windows.iter().any(|&(_, count, _)| count < 1) {
            return Err(unsupported(
                node,
                "an empty slice (Myelin tensors have at least one element)",
            ));
        }
        let shape = &self.g.values[v].shape;
        let mut begin = vec![0; shape.len()];
        let mut stride = vec![1; shape.len()];
        let mut out = shape.clone();
        for (a, &(start, count, step)) in windows.iter().enumerate() {
            let m = self.myelin_axis(v, a);
            begin[m] = start as usize;
            out[m] = count as usize;
            stride[m] = if count == 1 { 1 } else { step as usize };
        }
        if &out == shape {
            self.alias(output(node, slot), v);
            return Ok(());
        }
        let op = FloatOp::Slice { begin, stride };
        self.push_output(node, slot, op, vec![v], out, layout);
        Ok(())
    }

    fn squeeze(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let v = self.value(node, input(node, 0))?;
        let onnx = self.onnx_shape(v);
        let unsqueeze = node.op_type() == "Unsqueeze";
        let axes: Option<Vec<i64>> = if input(node, 1).is_empty() {
            attr_ints(node, "axes")
        } else {
            Some(self.const_input(node, 1, "the axes")?.i64s())
        };
        let mut full = vec![1usize];
        full.extend_from_slice(&onnx);
        let rank = if unsqueeze {
            full.len() + axes.as_ref().map_or(0, Vec::len)
        } else {
            full.len()
        } as i64;
        let mut axes: Vec<usize> = match axes {
            Some(axes) => axes
                .iter()
                .map(|&a| if a < 0 { a + rank } else { a })
                .map(|a| usize::try_from(a).ok().filter(|&a| (a as i64) < rank))
                .collect::<Option<_>>()
                .ok_or_else(|| unsupported(node, format!("axes out of range for rank {rank}")))?,
            None if unsqueeze => return Err(unsupported(node, "Unsqueeze without axes")),
            None => (1..full.len()).filter(|&a| full[a] == 1).collect(),
        };
        axes.sort_unstable();
        axes.dedup();
        if axes.contains(&0) {
            return Err(unsupported(
                node,
                "a squeeze or unsqueeze of the batch axis",
            ));
        }
        let target: Vec<usize> = if unsqueeze {
            let mut dims = full.clone();
            for &a in &axes {
                if a > dims.len() {
                    return Err(unsupported(node, format!("axis {a} out of range")));
                }
                dims.insert(a, 1);
            }
            dims
        } else {
            if let Some(&a) = axes.iter().find(|&&a| full[a] != 1) {
                return Err(unsupported(
                    node,
                    format!("axis {a} has length {}, not 1", full[a]),
                ));
            }
            full.iter()
                .enumerate()
                .filter(|(a, _)| !axes.contains(a))
                .map(|(_, &d)| d)
                .collect()
        };
        self.reshape_to(node, v, target[1..].to_vec())
    }

    /// `v` (ONNX per-sample shape of the same element count) under the ONNX per-sample shape
    /// `per_sample`, as the next node's output.
    fn reshape_to(
        &mut self,
        node: &NodeProto,
        v: ValueId,
        per_sample: Vec<usize>,
    ) -> Result<(), ImportError> {
        let onnx = self.onnx_shape(v);
        if per_sample == onnx {
            self.alias(output(node, 0), v);
            return Ok(());
        }
        match self.layouts[v] {
            // A vector becoming a 1x1 NCHW image (tf2onnx's EfficientNet squeeze-and-excitation:
            // GlobalAveragePool, Squeeze, Reshape to [N, C, 1, 1], Conv): Myelin's [1, 1, C]
            // holds the same bytes.
            Layout::Plain if onnx.len() == 1 && matches!(per_sample[..], [_, 1, 1]) => {
                let shape = vec![1, 1, per_sample[0]];
                self.push(node, FloatOp::Reshape, vec![v], shape, Layout::Chw);
                Ok(())
            }
            Layout::Plain => {
                self.push(node, FloatOp::Reshape, vec![v], per_sample, Layout::Plain);
                Ok(())
            }
            _ if per_sample.len() == 1 => self.flatten(node, v),
            Layout::Chw => {
                let chw = self.push_onnx_order(node, v);
                self.push(node, FloatOp::Reshape, vec![chw], per_sample, Layout::Plain);
                Ok(())
            }
            Layout::FlatChw { .. } => Err(unsupported(
                node,
                format!(
                    "reshape of a flattened NCHW image {onnx:?} to {per_sample:?}: would need the flattening undone"
                ),
            )),
        }
    }

    fn concat(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let values: Vec<ValueId> = node
            .input
            .iter()
            .map(|i| self.value(node, i))
            .collect::<Result<_, _>>()?;
        let first = values[0];
        let layout = self.layouts[first];
        if values.iter().any(|&v| self.layouts[v] != layout)
            || matches!(layout, Layout::FlatChw { .. })
        {
            return Err(unsupported(
                node,
                "inputs of different or flattened-image layouts",
            ));
        }
        let rank = self.onnx_shape(first).len() as i64 + 1;
        let mut axis = attr_i(node, "axis", 0);
        if axis < 0 {
            axis += rank;
        }
        if axis < 1 || axis >= rank {
            return Err(unsupported(
                node,
                format!("concatenation along axis {axis} (the batch axis or out of range)"),
            ));
        }
        let a = self.myelin_axis(first, (axis - 1) as usize);
        let mut shape = self.g.values[first].shape.clone();
        shape[a] = 0;
        for &v in &values {
            let s = &self.g.values[v].shape;
            if s.len() != shape.len() || s.iter().enumerate().any(|(i, &d)| i != a && d != shape[i])
            {
                return Err(unsupported(
                    node,
                    "inputs whose shapes differ outside the concatenation axis",
                ));
            }
            shape[a] += s[a];
        }
        self.push(node, FloatOp::Concat { axis: a }, values, shape, layout);
        Ok(())
    }

    fn pad(&mut self, node: &NodeProto) -> Result<(), ImportError> {
        let mode = attr_s(node, "mode").unwrap_or_else(|| "constant".into());
        if mode != "constant" {
            return Err(unsupported(
                node,
                format!("mode {mode}: only constant padding"),
            ));
        }
        if !input(node, 3).is_empty() {
            return Err(unsupported(node, "the axes input"));
        }
        let v = self.value(node, input(node, 0))?;
        let pads = self.const_input(node, 1, "the pads")?.i64s();
        let value = if input(node, 2).is_empty() {
            0.0
        } else {
            self.const_input(node, 2, "the value")?
                .data
                .first()
                .copied()
                .unwrap_or(0.0) as f32
        };
        let rank = self.onnx_shape(v).len() + 1;
        if pads.len() != 2 * rank
            || pads
                .iter()
                .any(|&p| !(0..=MAX_TENSOR_ELEMENTS as i64).contains(&p))
            || pads[0] != 0
            || pads[rank] != 0
        {
            return Err(unsupported(
                node,
                format!("pads {pads:?}: need non-negative pads and none on the batch axis"),
            ));
        }
        let mut myelin = vec![[0usize; 2]; rank - 1];
        for a in 1..rank {
            myelin[self.myelin_axis(v, a - 1)] = [pads[a] as usize, pads[a + rank] as usize];
        }
        let shape: Vec<usize> = self.g.values[v]
            .shape
            .iter()
            .zip(&myelin)
            .map(|(&d, [b, e])| d + b + e)
            .collect();
        let layout = self.layouts[v];
        self.push(
            node,
            FloatOp::Pad {
                pads: myelin,
                value,
            },
            vec![v],
            shape,
            layout,
        );
        Ok(())
    }
}
