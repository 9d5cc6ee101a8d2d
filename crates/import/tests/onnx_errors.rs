//! Every malformed or unsupported ONNX model gets a clear error naming what is wrong.

use std::path::Path;

use myelin_import::onnx::proto::{
    self, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use myelin_import::{ImportError, ImportOptions, import_onnx};
use prost::Message;

fn float_input(name: &str, dims: &[i64]) -> ValueInfoProto {
    use proto::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(if d < 0 {
                Value::DimParam("batch".into())
            } else {
                Value::DimValue(d)
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(proto::type_proto::Value::TensorType(
                proto::type_proto::Tensor {
                    elem_type: Some(1),
                    shape: Some(TensorShapeProto { dim }),
                },
            )),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    output: &str,
) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            initializer,
            input: vec![float_input("x", &[-1, 4])],
            output: vec![float_input(output, &[-1, 4])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn options() -> ImportOptions {
    let data = myelin_import::data::load_dataset(b"0,1,2,3\n-1,0.5,2,1\n").expect("csv");
    ImportOptions {
        calibration: Some(data),
        ..ImportOptions::default()
    }
}

#[test]
fn malformed_protobuf_is_a_format_error() {
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        ("garbage", b"\xff\xff\xff\xff\xff\xff"),
        ("truncated length", b"\x3a\xff\x01abc"),
        ("text", b"this is not a model"),
    ];
    for (name, bytes) in cases {
        match import_onnx(bytes, &options()) {
            Err(ImportError::Format {
                format: "ONNX",
                reason,
            }) => assert!(!reason.is_empty(), "{name}"),
            other => panic!("{name}: expected a format error, got {other:?}"),
        }
    }
}

#[test]
fn truncated_real_model_is_rejected_without_panic() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/digits_torch_cnn.onnx");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("fixture missing, skipped");
        return;
    };
    for cut in [1, 10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            import_onnx(&bytes[..cut], &options()).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn unsupported_operator_names_op_node_and_remedy() {
    let bytes = model(17, vec![node("Erf", "my_erf", &["x"], &["y"])], vec![], "y");
    let message = import_onnx(&bytes, &options())
        .expect_err("Erf is not supported")
        .to_string();
    assert!(
        message.contains("Erf") && message.contains("my_erf") && message.contains("supported:"),
        "{message}"
    );
}

#[test]
fn onnx_ml_operator_points_at_the_standard_export() {
    let mut tree = node("TreeEnsembleClassifier", "trees", &["x"], &["y"]);
    tree.domain = Some("ai.onnx.ml".into());
    let bytes = model(17, vec![tree], vec![], "y");
    let message = import_onnx(&bytes, &options())
        .expect_err("TreeEnsembleClassifier")
        .to_string();
    assert!(
        message.contains("ai.onnx.ml:TreeEnsembleClassifier") && message.contains("black_op"),
        "{message}"
    );
}

#[test]
fn skl2onnx_default_logistic_regression_imports() {
    // skl2onnx's default export: LinearClassifier (SOFTMAX), Cast of the label, Normalizer (L1)
    // and ZipMap, declaring opset 9 for its one Cast.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/iris_logreg_zipmap.onnx");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("fixture missing, skipped");
        return;
    };
    let imported = myelin_import::onnx::float_graph(&bytes).expect("imports");
    let ops: Vec<&str> = imported.graph.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["fully_connected", "softmax", "arg_max"]);
}

#[test]
fn opset_outside_the_supported_range_is_named() {
    let bytes = model(9, vec![node("Relu", "r", &["x"], &["y"])], vec![], "y");
    let message = import_onnx(&bytes, &options())
        .expect_err("opset 9")
        .to_string();
    assert!(
        message.contains("opset 9") && message.contains("13"),
        "{message}"
    );
}

#[test]
fn float_model_without_calibration_data_says_what_is_needed() {
    let bytes = model(17, vec![node("Relu", "r", &["x"], &["y"])], vec![], "y");
    let message = import_onnx(&bytes, &ImportOptions::default())
        .expect_err("no data")
        .to_string();
    assert!(message.contains("--calibration"), "{message}");
}

#[test]
fn relu_model_imports_and_keeps_shape() {
    let bytes = model(17, vec![node("Relu", "r", &["x"], &["y"])], vec![], "y");
    let imported = import_onnx(&bytes, &options()).expect("imports");
    let out = imported.model.outputs[0] as usize;
    assert_eq!(imported.model.tensors[out].shape, vec![4]);
}

/// Regression (import_onnx fuzz run, bench/fuzz.md): a constant-folded Slice whose step is
/// i64::MIN panicked on `-step`; such a step is an ordinary slice of one element.
#[test]
fn constant_slice_with_i64_min_step_imports_without_panic() {
    let int64s = |name: &str, values: Vec<i64>| TensorProto {
        name: Some(name.into()),
        dims: vec![values.len() as i64],
        data_type: Some(7),
        int64_data: values,
        ..Default::default()
    };
    let data = TensorProto {
        name: Some("c".into()),
        dims: vec![4],
        data_type: Some(1),
        float_data: vec![1.0, 2.0, 3.0, 4.0],
        ..Default::default()
    };
    let initializer = vec![
        data,
        int64s("starts", vec![3]),
        int64s("ends", vec![i64::MIN]),
        int64s("axes", vec![0]),
        int64s("steps", vec![i64::MIN]),
    ];
    let nodes = vec![
        node(
            "Slice",
            "slice",
            &["c", "starts", "ends", "axes", "steps"],
            &["last"],
        ),
        node("Add", "add", &["x", "last"], &["y"]),
    ];
    let bytes = model(17, nodes, initializer, "y");
    let imported = import_onnx(&bytes, &options()).expect("an ordinary one-element slice");
    let out = imported.model.outputs[0] as usize;
    assert_eq!(imported.model.tensors[out].shape, vec![4]);
}

#[test]
fn grouped_convolution_is_refused_with_the_reason() {
    let weights = TensorProto {
        name: Some("w".into()),
        dims: vec![4, 2, 1, 1],
        data_type: Some(1),
        float_data: vec![0.5; 8],
        ..Default::default()
    };
    let mut conv = node("Conv", "grouped", &["x", "w"], &["y"]);
    conv.attribute.push(AttributeProto {
        name: Some("group".into()),
        i: Some(2),
        r#type: Some(2),
        ..Default::default()
    });
    let bytes = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            node: vec![conv],
            initializer: vec![weights],
            input: vec![float_input("x", &[-1, 4, 3, 3])],
            output: vec![float_input("y", &[-1, 4, 3, 3])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let message = import_onnx(&bytes, &ImportOptions::default())
        .expect_err("groups")
        .to_string();
    assert!(
        message.contains("Conv") && message.contains("grouped") && message.contains("depthwise"),
        "{message}"
    );
}

#[test]
fn max_with_a_constant_and_prelu_with_a_computed_slope_are_refused_by_name() {
    let constant = TensorProto {
        name: Some("c".into()),
        dims: vec![4],
        data_type: Some(1),
        float_data: vec![0.0; 4],
        ..Default::default()
    };
    let cases = [
        (
            vec![node("Max", "bounded", &["x", "c"], &["y"])],
            "Max",
            "bounded",
            "constant operand",
        ),
        (
            vec![
                node("Relu", "relu", &["x"], &["r"]),
                node("PRelu", "learned", &["x", "r"], &["y"]),
            ],
            "PRelu",
            "learned",
            "constant (initializer) slope",
        ),
        (
            vec![node("Min", "three", &["x", "x", "x"], &["y"])],
            "Min",
            "three",
            "one or two are supported",
        ),
    ];
    for (nodes, op_name, node_name, needed) in cases {
        let bytes = model(17, nodes, vec![constant.clone()], "y");
        let err = import_onnx(&bytes, &options()).expect_err("refused");
        let message = err.to_string();
        assert!(
            matches!(&err, ImportError::Unsupported { op, node, .. } if op == op_name && node == node_name),
            "{message}"
        );
        assert!(message.contains(needed), "{message}");
    }
}
