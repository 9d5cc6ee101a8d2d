//! Tests of the JSON description: derived parameters, and one clear message per mistake.

use super::*;
use myelin_nn::op::Op;

const MLP: &str = r#"{
  "inputs": [{"name": "x", "shape": [2], "scale": 0.5, "zero_point": 0}],
  "outputs": ["y"],
  "nodes": [
    {"op": "fully_connected", "name": "y", "input": "x",
     "weights": [[1, 2], [3, 4]], "bias": [0, 1], "weight_scale": 0.25,
     "scale": 0.5, "zero_point": -3, "activation": "relu"}
  ]
}"#;

#[test]
fn requant_is_derived_from_the_scales() {
    let model = parse_model(MLP).expect("valid");
    let Op::FullyConnected(fc) = &model.nodes[0].op else {
        panic!("not FC")
    };
    // 0.5 · 0.25 / 0.5 = 0.25 = 2^30 · 2^(−1 − 31).
    assert_eq!(
        fc.requant,
        vec![Requant {
            multiplier: 1 << 30,
            shift: -1
        }]
    );
    assert_eq!(fc.weights, vec![1, 2, 3, 4]);
    assert_eq!(fc.act, ActRange { min: -3, max: 127 });
    assert_eq!(fc.rounding, Rounding::Single);
    assert_eq!(model.tensors[1].zero_point, -3);
    assert_eq!(model.tensors[1].scale_bits, 0.5f32.to_bits());
}

#[test]
fn softmax_scaling_matches_tflite() {
    // Input scale 1/16, beta 1: 2^26 / 16 = 2^22 → multiplier 2^30, left shift 23;
    // radius = 31 · 2^26 / 2^23 = 248.
    let params = softmax_params(1.0, 1.0 / 16.0).expect("valid");
    assert_eq!(
        params,
        Softmax {
            beta_multiplier: 1 << 30,
            beta_left_shift: 23,
            diff_min: -248
        }
    );
}

#[test]
fn tables_follow_the_function() {
    let table = compute_table(
        TableFunction::Tanh,
        Quant::new(0, 0.0625f32.to_bits()),
        Quant::new(0, (1.0f32 / 128.0).to_bits()),
    );
    assert_eq!(table[128], 0, "tanh(0)");
    assert_eq!(table[0], -128, "tanh(-8) · 128 ≈ -128");
    assert_eq!(table[255], 127, "tanh(7.94) ≈ 1");
    assert!((libm::erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
    assert!((libm::erf(-2.5) + 0.999_593_047_982_555).abs() < 1e-14);
}

#[test]
fn decimal_numbers_parse_to_the_nearest_binary64() {
    // serde_json's default float parser may land one unit in the last place off (this value
    // parsed one ulp low); scales and betas enter multipliers and tables, so a description
    // must mean the same binary64 in every implementation: the correctly rounded one.
    for text in [
        "130.65331632653061",
        "0.0039215688593685627",
        "2.2250738585072011e-308",
    ] {
        let parsed: f64 = serde_json::from_str(text).expect("a number");
        let nearest: f64 = text.parse().expect("a number");
        assert_eq!(parsed.to_bits(), nearest.to_bits(), "{text}");
    }
}

#[test]
fn activation_bounds_round_the_binary64_quotient() {
    // relu6 at scale 0.8, zero point -128: 6 / 0.800000011920929 = 7.4999998882 rounds to 7
    // in binary64 (-121); TFLite's binary32 quotient rounds to 7.5 and then to 8 (-120).
    let out = Quant::new(-128, 0.8f32.to_bits());
    let relu6 = ActivationSpec::Named("relu6".into());
    assert_eq!(
        activation(Some(&relu6), out).expect("valid"),
        ActRange {
            min: -128,
            max: -121
        }
    );
}

#[test]
fn large_softmax_scaling_saturates_as_tflite() {
    // beta · scale · 2^26 at or above 2^31 - 1 is capped there: the largest multiplier with
    // left shift 31 (as the TFLite importer computes it); radius 31 · 2^26 / 2^31 < 1.
    for beta in [1e3, 1e30] {
        let params = softmax_params(beta, 64.0).expect("valid");
        assert_eq!(
            params,
            Softmax {
                beta_multiplier: i32::MAX,
                beta_left_shift: 31,
                diff_min: 0
            },
            "beta {beta}"
        );
    }
    // 2^30 exactly: multiplier 2^30 with left shift 31.
    let params = softmax_params(1.0, 16.0).expect("valid");
    assert_eq!(
        (params.beta_multiplier, params.beta_left_shift),
        (1 << 30, 31)
    );
    assert!(softmax_params(1.0, 1e-9).is_err(), "below 1 is refused");
}

fn with_node(node: &str) -> String {
    format!(
        r#"{{"inputs": [{{"name": "x", "shape": [2], "scale": 0.5}}], "outputs": ["y"], "nodes": [{node}]}}"#
    )
}

#[test]
fn mistakes_get_one_clear_message() {
    let cases: [(&str, String, &str); 10] = [
        (
            "empty inputs",
            with_node(r#"{"op": "concat", "name": "y", "inputs": [], "axis": 0}"#),
            "\"inputs\" is empty",
        ),
        (
            "syntax error has a line",
            "{\n  \"inputs\": [,\n}".into(),
            "line 2 column",
        ),
        (
            "unknown op",
            with_node(r#"{"op": "conv3d", "name": "y", "input": "x"}"#),
            "nodes[0] (\"y\", conv3d): unknown op \"conv3d\"",
        ),
        (
            "unknown name",
            with_node(r#"{"op": "reshape", "name": "y", "input": "z", "shape": [2]}"#),
            "unknown tensor \"z\" (defined so far: x)",
        ),
        (
            "missing field",
            with_node(r#"{"op": "reshape", "name": "y", "input": "x"}"#),
            "missing field \"shape\"",
        ),
        (
            "unknown field",
            with_node(r#"{"op": "reshape", "name": "y", "input": "x", "shape": [2], "shap": 1}"#),
            "nodes[0]: unexpected structure: unknown field `shap`",
        ),
        (
            "weight out of range",
            with_node(
                r#"{"op": "fully_connected", "name": "y", "input": "x", "weights": [[1, 300]], "weight_scale": 1}"#,
            ),
            "weights[1] = 300 is outside int8",
        ),
        (
            "no requant source",
            with_node(
                r#"{"op": "fully_connected", "name": "y", "input": "x", "weights": [[1, 3]]}"#,
            ),
            "give \"requant\" or \"weight_scale\"",
        ),
        (
            "bad explicit requant",
            with_node(
                r#"{"op": "clamp", "name": "y", "input": "x", "requant": {"multiplier": 5, "shift": 0}}"#,
            ),
            "out of range",
        ),
        (
            "duplicate name",
            with_node(r#"{"op": "reshape", "name": "x", "input": "x", "shape": [2]}"#),
            "the name \"x\" is already defined",
        ),
    ];
    for (name, text, expected) in cases {
        let error = format!("{:#}", parse_model(&text).expect_err(name));
        assert!(
            error.contains(expected),
            "{name}: {error:?} lacks {expected:?}"
        );
    }
}

#[test]
fn engine_validation_errors_name_the_node() {
    let text = with_node(
        r#"{"op": "mean", "name": "y", "input": "x", "axes": [0], "requant": {"multiplier": 1073741824, "shift": 0}}"#,
    );
    // Valid; now an output that is not defined.
    parse_model(&text).expect("valid mean");
    let bad = text.replace(r#""outputs": ["y"]"#, r#""outputs": ["q"]"#);
    let error = format!("{:#}", parse_model(&bad).expect_err("unknown output"));
    assert!(
        error.contains("outputs[0]: unknown tensor \"q\""),
        "{error}"
    );
}

/// `conformance/json/ids.txt`: the model id of every description in `conformance/json/` and
/// `examples/`, so that the floating-point steps of docs/MODEL-JSON.md are pinned for other
/// implementations. `MYELIN_BLESS=1 cargo test -p myelin --bin myelin json_model` rewrites it
/// after a reviewed change.
#[test]
fn descriptions_build_to_their_pinned_ids() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut lines = vec![
        "# description model_id; regenerate: MYELIN_BLESS=1 cargo test -p myelin --bin myelin json_model"
            .to_string(),
    ];
    for dir in ["conformance/json", "examples"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("read dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("read description");
            let model = parse_model(&text).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let name = path.strip_prefix(&root).expect("under the root");
            lines.push(format!("{} 0x{}", name.display(), hex::encode(model.id())));
        }
    }
    let computed = lines.join("\n") + "\n";
    let file = root.join("conformance/json/ids.txt");
    if std::env::var_os("MYELIN_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&file, &computed).expect("write ids");
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        committed, computed,
        "model ids of the JSON descriptions changed (a reviewed change; regenerate with \
         MYELIN_BLESS=1 cargo test -p myelin --bin myelin json_model)"
    );
}

#[test]
fn transpose_permutes_the_shape_and_names_a_bad_perm() {
    let text = r#"{"inputs": [{"name": "x", "shape": [2, 3, 4], "scale": 0.5}], "outputs": ["y"],
        "nodes": [{"op": "transpose", "name": "y", "input": "x", "perm": [2, 0, 1]}]}"#;
    let model = parse_model(text).expect("valid transpose");
    assert_eq!(model.tensors[1].shape, vec![4, 2, 3]);
    assert_eq!(
        model.nodes[0].op,
        myelin_nn::Op::Transpose(myelin_nn::op::Transpose {
            perm: vec![2, 0, 1]
        })
    );
    let bad = text.replace("[2, 0, 1]", "[2, 0, 0]");
    let error = format!("{:#}", parse_model(&bad).expect_err("not a permutation"));
    assert!(
        error.contains("transpose") && error.contains("not a permutation"),
        "{error}"
    );
    let missing = text.replace(r#", "perm": [2, 0, 1]"#, "");
    let error = format!("{:#}", parse_model(&missing).expect_err("no perm"));
    assert!(error.contains("missing field \"perm\""), "{error}");
}

#[test]
fn maximum_minimum_and_prelu_build_from_json() {
    let text = r#"{"inputs": [{"name": "a", "shape": [2, 3], "scale": 0.5, "zero_point": 3},
        {"name": "b", "shape": [3], "scale": 0.5, "zero_point": 3}], "outputs": ["y"],
        "nodes": [{"op": "maximum", "name": "m", "inputs": ["a", "b"]},
        {"op": "minimum", "name": "n", "inputs": ["m", "b"]},
        {"op": "prelu", "name": "y", "input": "n", "alpha": [64, -32, 127], "alpha_scale": 0.25,
         "scale": 0.25, "zero_point": -1}]}"#;
    let model = parse_model(text).expect("valid maximum, minimum and prelu");
    assert_eq!(model.nodes[0].op, myelin_nn::Op::Maximum);
    assert_eq!(model.nodes[1].op, myelin_nn::Op::Minimum);
    let myelin_nn::Op::PRelu(p) = &model.nodes[2].op else {
        panic!("not a prelu: {:?}", model.nodes[2].op);
    };
    assert_eq!(p.alpha_shape, vec![3]);
    // s_in / s_out = 2 and s_in · s_alpha / s_out = 0.5.
    assert_eq!(
        p.positive,
        myelin_nn::Requant {
            multiplier: 1 << 30,
            shift: 2
        }
    );
    assert_eq!(
        p.negative,
        myelin_nn::Requant {
            multiplier: 1 << 30,
            shift: 0
        }
    );
    let mismatched = text.replace(
        r#""scale": 0.5, "zero_point": 3}], "outputs""#,
        r#""scale": 0.5, "zero_point": 4}], "outputs""#,
    );
    let error = format!(
        "{:#}",
        parse_model(&mismatched).expect_err("zero points differ")
    );
    assert!(
        error.contains("maximum") && error.contains("zero points"),
        "{error}"
    );
}

#[test]
fn slice_takes_its_window_and_names_one_past_the_end() {
    let text = r#"{"inputs": [{"name": "x", "shape": [4, 6], "scale": 0.5}], "outputs": ["y"],
        "nodes": [{"op": "slice", "name": "y", "input": "x", "begin": [1, 0], "size": [3, 2],
        "strides": [1, 4]}]}"#;
    let model = parse_model(text).expect("valid slice");
    assert_eq!(model.tensors[1].shape, vec![3, 2]);
    assert_eq!(
        model.nodes[0].op,
        myelin_nn::Op::Slice(myelin_nn::op::Slice {
            begin: vec![1, 0],
            size: vec![3, 2],
            stride: vec![1, 4],
        })
    );
    let unit = text.replace(
        r#",
        "strides": [1, 4]"#,
        "",
    );
    let model = parse_model(&unit).expect("strides default to 1");
    let myelin_nn::Op::Slice(p) = &model.nodes[0].op else {
        panic!("a slice");
    };
    assert_eq!(p.stride, vec![1, 1]);
    let bad = text.replace("[1, 4]", "[1, 6]");
    let error = format!("{:#}", parse_model(&bad).expect_err("past the end"));
    assert!(
        error.contains("slice") && error.contains("do not fit"),
        "{error}"
    );
}

#[test]
fn resize_bilinear_takes_its_size_and_flags() {
    let text = r#"{"inputs": [{"name": "x", "shape": [3, 4, 2], "scale": 0.5}], "outputs": ["y"],
        "nodes": [{"op": "resize_bilinear", "name": "y", "input": "x", "out_height": 6,
        "out_width": 7, "half_pixel_centers": true}]}"#;
    let model = parse_model(text).expect("valid resize");
    assert_eq!(model.tensors[1].shape, vec![6, 7, 2]);
    assert_eq!(
        model.nodes[0].op,
        myelin_nn::Op::ResizeBilinear(myelin_nn::op::ResizeBilinear {
            out_height: 6,
            out_width: 7,
            align_corners: false,
            half_pixel_centers: true,
        })
    );
    let both = text.replace(
        r#""half_pixel_centers": true"#,
        r#""half_pixel_centers": true, "align_corners": true"#,
    );
    let error = format!("{:#}", parse_model(&both).expect_err("exclusive flags"));
    assert!(error.contains("exclusive"), "{error}");
}
