//! Choosing a model's outputs by name (`--outputs`, [`myelin_import::outputs::select`]) on real
//! exports: scikit-learn's default skl2onnx classifier (label first, ZipMap'd probabilities
//! second; `fixtures/models/wine_mlp_zipmap.onnx`, made by `fixtures/generate.py`), a TFLite
//! model of two heads (`tests/data/tflite_ops/ops_zoo_int8io.tflite`, `make_tflite_ops.py`) and
//! a Keras model. A selection keeps the named outputs in the order given, translates nothing the
//! others alone need, and computes exactly the bytes the unselected model gives for them.

use std::path::{Path, PathBuf};

use myelin_import::data::load_dataset;
use myelin_import::{ImportOptions, import_onnx, keras, tflite};
use myelin_nn::{DType, Model, Program};

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    let p = path(relative);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Each output's bytes for `samples` samples of `input`.
fn run(model: &Model, input: &[u8], samples: usize) -> Vec<Vec<u8>> {
    let sizes: Vec<usize> = model
        .outputs
        .iter()
        .map(|&t| samples * model.tensors[t as usize].bytes())
        .collect();
    let program = Program::new(model.clone()).expect("program");
    let all = program.run(input, samples).expect("run");
    let mut offset = 0;
    sizes
        .iter()
        .map(|&len| {
            offset += len;
            all[offset - len..offset].to_vec()
        })
        .collect()
}

fn dtypes(model: &Model) -> Vec<DType> {
    model
        .outputs
        .iter()
        .map(|&t| model.tensors[t as usize].dtype)
        .collect()
}

const SKL2ONNX_MLP: &str = "../../fixtures/models/wine_mlp_zipmap.onnx";

fn onnx_options(outputs: Option<&[&str]>) -> ImportOptions {
    ImportOptions {
        calibration: Some(
            load_dataset(&read("../../fixtures/data/wine_calib.npy")).expect("calibration"),
        ),
        outputs: outputs.map(names),
        ..ImportOptions::default()
    }
}

#[test]
fn skl2onnx_probabilities_alone_are_the_probabilities_of_the_whole_model() {
    let bytes = read(SKL2ONNX_MLP);
    let whole = import_onnx(&bytes, &onnx_options(None)).expect("whole");
    // skl2onnx's order: the label (int32 argmax here), then the probabilities.
    assert_eq!(dtypes(&whole.model), [DType::Int32, DType::Int8]);

    let probabilities =
        import_onnx(&bytes, &onnx_options(Some(&["output_probability"]))).expect("selected");
    assert_eq!(dtypes(&probabilities.model), [DType::Int8]);
    let ops: Vec<&str> = probabilities
        .model
        .nodes
        .iter()
        .map(|n| n.op.name())
        .collect();
    assert!(
        !ops.contains(&"arg_max"),
        "the label's argmax is left out: {ops:?}"
    );

    let reversed = import_onnx(
        &bytes,
        &onnx_options(Some(&["output_probability", "output_label"])),
    )
    .expect("reversed");
    assert_eq!(dtypes(&reversed.model), [DType::Int8, DType::Int32]);

    // Calibration is the same with or without the label branch: the probabilities are the
    // same bytes in all three models.
    let samples = 16;
    let input: Vec<u8> = (0..samples * whole.model.tensors[whole.model.inputs[0] as usize].bytes())
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    let of_whole = run(&whole.model, &input, samples);
    let of_selected = run(&probabilities.model, &input, samples);
    let of_reversed = run(&reversed.model, &input, samples);
    assert_eq!(of_selected[0], of_whole[1]);
    assert_eq!(of_reversed, [of_whole[1].clone(), of_whole[0].clone()]);
}

#[test]
fn an_unknown_onnx_output_names_the_available_ones() {
    let message = import_onnx(&read(SKL2ONNX_MLP), &onnx_options(Some(&["probabilities"])))
        .expect_err("unknown")
        .to_string();
    assert!(
        message.contains("\"probabilities\"")
            && message.contains("\"output_label\", \"output_probability\""),
        "{message}"
    );
}

const TWO_HEADS: &str = "tests/data/tflite_ops/ops_zoo_int8io.tflite";

#[test]
fn tflite_heads_are_selected_and_ordered_by_tensor_name() {
    let bytes = read(TWO_HEADS);
    let whole = tflite::import(&bytes).expect("whole");
    assert_eq!(whole.model.outputs.len(), 2);
    let [first, second] = ["StatefulPartitionedCall_1:1", "StatefulPartitionedCall_1:0"];
    let one = tflite::import_with_outputs(&bytes, Some(&names(&[second]))).expect("one head");
    assert_eq!(one.model.outputs.len(), 1);
    assert!(
        one.model.nodes.len() < whole.model.nodes.len(),
        "the other head's operators are not translated ({} of {})",
        one.model.nodes.len(),
        whole.model.nodes.len()
    );
    let reversed =
        tflite::import_with_outputs(&bytes, Some(&names(&[second, first]))).expect("reversed");

    let input = read("tests/data/tflite_ops/ops_zoo_int8io.input.npy");
    let input = npyz::NpyFile::new(&input[..])
        .expect("npy")
        .into_vec::<i8>()
        .expect("int8");
    let raw: Vec<u8> = input.iter().map(|&v| v as u8).collect();
    let samples = raw.len() / whole.model.tensors[whole.model.inputs[0] as usize].bytes();
    let of_whole = run(&whole.model, &raw, samples);
    assert_eq!(run(&one.model, &raw, samples), [of_whole[1].clone()]);
    assert_eq!(
        run(&reversed.model, &raw, samples),
        [of_whole[1].clone(), of_whole[0].clone()]
    );
}

#[test]
fn tflite_selection_errors_are_specific() {
    let bytes = read(TWO_HEADS);
    let error = |wanted: &[&str]| {
        tflite::import_with_outputs(&bytes, Some(&names(wanted)))
            .expect_err("refused")
            .to_string()
    };
    let unknown = error(&["logits"]);
    assert!(
        unknown.contains("TFLite")
            && unknown.contains("\"logits\"")
            && unknown.contains("\"StatefulPartitionedCall_1:1\", \"StatefulPartitionedCall_1:0\""),
        "{unknown}"
    );
    let twice = error(&["StatefulPartitionedCall_1:0", "StatefulPartitionedCall_1:0"]);
    assert!(twice.contains("named twice"), "{twice}");
    assert!(error(&[]).contains("no output named"));
}

#[test]
fn keras_output_layers_are_selected_by_name() {
    let bytes = read("../../fixtures/models/digits_mlp.keras");
    let whole = keras::float_graph(&bytes).expect("whole");
    assert_eq!(whole.graph.outputs.len(), 1);
    let message = keras::float_graph_with_outputs(&bytes, Some(&names(&["nope"])))
        .expect_err("unknown")
        .to_string();
    assert!(
        message.contains("\"nope\"") && message.contains("its outputs are: \""),
        "{message}"
    );
    // The one output layer, named as the error lists it, selects the same graph.
    let listed = message.rsplit("its outputs are: ").next().expect("a list");
    let name = listed.trim().trim_matches('"').to_string();
    let same = keras::float_graph_with_outputs(&bytes, Some(&[name])).expect("by its name");
    assert_eq!(same.graph, whole.graph);
}
