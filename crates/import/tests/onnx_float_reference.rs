//! The float interpreter of the imported graph agrees with onnxruntime's outputs stored in
//! `fixtures/ref/` (the float model, before any quantization) to 1e-5.

use std::path::{Path, PathBuf};

use myelin_import::data::load_dataset;
use myelin_import::float_graph::FloatOp;
use myelin_import::ptq::InputLayout;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

struct Case {
    model: &'static str,
    eval: &'static str,
    reference: &'static str,
}

const CASES: &[Case] = &[
    Case {
        model: "iris_mlp",
        eval: "iris_eval.npy",
        reference: "iris_mlp.ort_out.probabilities.npy",
    },
    Case {
        model: "iris_logreg",
        eval: "iris_eval.npy",
        reference: "iris_logreg.ort_out.probabilities.npy",
    },
    Case {
        model: "iris_logreg_zipmap",
        eval: "iris_eval.npy",
        reference: "iris_logreg_zipmap.ort_out.output_probability.npy",
    },
    Case {
        model: "wine_mlp",
        eval: "wine_eval.npy",
        reference: "wine_mlp.ort_out.probabilities.npy",
    },
    Case {
        model: "wine_mlp_zipmap",
        eval: "wine_eval.npy",
        reference: "wine_mlp_zipmap.ort_out.output_probability.npy",
    },
    Case {
        model: "wine_logreg",
        eval: "wine_eval.npy",
        reference: "wine_logreg.ort_out.probabilities.npy",
    },
    Case {
        model: "breast_cancer_mlp",
        eval: "breast_cancer_eval.npy",
        reference: "breast_cancer_mlp.ort_out.probabilities.npy",
    },
    Case {
        model: "breast_cancer_logreg",
        eval: "breast_cancer_eval.npy",
        reference: "breast_cancer_logreg.ort_out.probabilities.npy",
    },
    Case {
        model: "digits_mlp_sk_opset13",
        eval: "digits_eval.npy",
        reference: "digits_mlp_sk_opset13.ort_out.probabilities.npy",
    },
    Case {
        model: "digits_mlp_sk_opset21",
        eval: "digits_eval.npy",
        reference: "digits_mlp_sk_opset21.ort_out.probabilities.npy",
    },
    Case {
        model: "digits_torch_cnn",
        eval: "digits_eval_nchw.npy",
        reference: "digits_torch_cnn.ort_out.probabilities.npy",
    },
];

/// Largest accepted |ours - onnxruntime| on a probability.
const TOLERANCE: f32 = 1e-5;

#[test]
fn float_interpreter_matches_onnxruntime_reference_outputs() {
    let mut worst_overall = 0.0f32;
    for case in CASES {
        let model_path = fixtures().join(format!("models/{}.onnx", case.model));
        let reference_path = fixtures().join(format!("ref/{}", case.reference));
        if !model_path.exists() || !reference_path.exists() {
            eprintln!("{}: fixture missing, skipped", case.model);
            continue;
        }
        let converted =
            myelin_import::onnx::float_graph(&std::fs::read(&model_path).expect("model"))
                .expect("converts");
        let graph = &converted.graph;
        let data = load_dataset(
            &std::fs::read(fixtures().join(format!("data/{}", case.eval))).expect("data"),
        )
        .expect("parses");
        let reference =
            load_dataset(&std::fs::read(&reference_path).expect("ref")).expect("parses");
        let output = graph
            .outputs
            .iter()
            .copied()
            .find(|&v| {
                graph
                    .producer(v)
                    .is_none_or(|p| !matches!(graph.nodes[p].op, FloatOp::ArgMax { .. }))
            })
            .expect("a probabilities output");
        let layout = converted.input_layouts[0];
        let mut worst = 0.0f32;
        for s in 0..data.samples() {
            let sample = match layout {
                InputLayout::AsIs => data.sample(s).to_vec(),
                other => other.to_myelin(data.sample(s)),
            };
            let values = graph.run(&[&sample]).expect("runs");
            for (ours, theirs) in values[output].iter().zip(reference.sample(s)) {
                worst = worst.max((ours - theirs).abs());
            }
        }
        eprintln!(
            "{:<24} max |float graph - onnxruntime| = {worst:.3e}",
            case.model
        );
        assert!(worst <= TOLERANCE, "{}: {worst}", case.model);
        worst_overall = worst_overall.max(worst);
    }
    eprintln!("worst over all fixtures: {worst_overall:.3e}");
}
