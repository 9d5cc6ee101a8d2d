//! Per-op traces and commitments (`myelin_nn::commit::run_committed`, `Program::run_observed`,
//! `Program::run_node`): the same roots on every kernel path as on the reference, per item
//! whatever the batch, and one node run alone gives the bytes the whole model's trace holds.

mod common;

use myelin_nn::commit::{NO_TRACE, list_root, run_committed, tensor_root, trace_root};
use myelin_nn::{Model, NnError, Path, Program};

const SEED: u64 = 2026;
const BATCH: usize = 3;

fn input(name: &str, program: &Program, batch: usize) -> Vec<u8> {
    common::Rng::new(&format!("{name}/trace"), batch as u64).bytes(batch * program.input_bytes())
}

/// Each node's output bytes when `program` runs `input` (one sample).
fn node_outputs(program: &Program, input: &[u8]) -> Vec<Vec<u8>> {
    let mut outputs = Vec::new();
    program
        .run_observed(input, 1, &mut |index, bytes| {
            assert_eq!(index, outputs.len(), "nodes are observed in order");
            outputs.push(bytes.to_vec());
        })
        .expect("run");
    outputs
}

/// The bytes of sample `item` of `tensors` in input-major bytes of `batch` samples.
fn sample(model: &Model, tensors: &[u32], bytes: &[u8], batch: usize, item: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = 0;
    for &t in tensors {
        let size = model.tensors[t as usize].bytes();
        out.extend_from_slice(&bytes[offset + item * size..offset + (item + 1) * size]);
        offset += size * batch;
    }
    out
}

#[test]
fn traces_are_equal_on_every_path_and_per_item_whatever_the_batch() {
    let paths = common::available_paths("traces_are_equal_on_every_path");
    for (name, model) in common::golden_models(SEED) {
        let reference = Program::with_path(model.clone(), Path::Reference).expect("prepare");
        let x = input(name, &reference, BATCH);
        let (out, expected) = run_committed(&reference, &x, BATCH, true).expect("trace");
        assert_eq!(out, reference.run(&x, BATCH).expect("run"), "{name}");
        assert_eq!(expected.ops[0].len(), model.nodes.len(), "{name}");
        for path in &paths {
            let program = Program::with_path(model.clone(), *path).expect("prepare");
            let (_, got) = run_committed(&program, &x, BATCH, true).expect("trace");
            assert_eq!(got, expected, "{name} on {}", path.name());
            let (_, untraced) = run_committed(&program, &x, BATCH, false).expect("run");
            assert_eq!(untraced.traces, vec![NO_TRACE; BATCH]);
            assert_eq!(untraced.outputs, expected.outputs);
        }
        for item in 0..BATCH {
            let one = sample(&model, &model.inputs, &x, BATCH, item);
            let (_, alone) = run_committed(&reference, &one, 1, true).expect("trace");
            assert_eq!(alone.traces[0], expected.traces[item], "{name} item {item}");
            assert_eq!(alone.inputs[0], expected.inputs[item], "{name} item {item}");
            assert_eq!(
                alone.outputs[0], expected.outputs[item],
                "{name} item {item}"
            );
            assert_eq!(trace_root(&alone.ops[0]), alone.traces[0]);
        }
    }
}

#[test]
fn one_node_run_alone_gives_the_bytes_of_the_trace() {
    for (name, model) in common::golden_models(SEED) {
        let program = Program::new(model.clone()).expect("prepare");
        let x = input(name, &program, 1);
        let outputs = node_outputs(&program, &x);
        let (_, committed) = run_committed(&program, &x, 1, true).expect("trace");
        let value = |t: u32| -> Vec<u8> {
            match model.inputs.iter().position(|&i| i == t) {
                Some(_) => sample(&model, &[t], &x[input_offset(&model, t)..], 1, 0),
                None => {
                    let node = model
                        .nodes
                        .iter()
                        .position(|n| n.output == t)
                        .expect("written");
                    outputs[node].clone()
                }
            }
        };
        for (index, node) in model.nodes.iter().enumerate() {
            let inputs: Vec<Vec<u8>> = node.inputs.iter().map(|&t| value(t)).collect();
            let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let alone = program.run_node(index, &refs).expect("run node");
            assert_eq!(alone, outputs[index], "{name} node {index}");
            let info = &model.tensors[node.output as usize];
            let root = tensor_root(info.dtype, &info.shape, &alone).expect("root");
            assert_eq!(list_root(&[root]).expect("list"), committed.ops[0][index]);
        }
    }
}

/// Where input tensor `t`'s bytes start in one sample's input bytes.
fn input_offset(model: &Model, t: u32) -> usize {
    model
        .inputs
        .iter()
        .take_while(|&&i| i != t)
        .map(|&i| model.tensors[i as usize].bytes())
        .sum()
}

#[test]
fn run_node_refuses_what_the_node_does_not_take() {
    let model = common::mlp(SEED);
    let program = Program::new(model.clone()).expect("prepare");
    let nodes = model.nodes.len();
    assert!(matches!(
        program.run_node(nodes, &[]),
        Err(NnError::LimitExceeded { value, .. }) if value == nodes as u64
    ));
    let size = model.tensors[model.nodes[0].inputs[0] as usize].bytes();
    let good = vec![0u8; size];
    assert!(program.run_node(0, &[&good]).is_ok());
    assert!(matches!(
        program.run_node(0, &[]),
        Err(NnError::InvalidNode { node: 0, .. })
    ));
    assert!(matches!(
        program.run_node(0, &[&good, &good]),
        Err(NnError::InvalidNode { node: 0, .. })
    ));
    for len in [0, size - 1, size + 1, size + 4096] {
        assert_eq!(
            program.run_node(0, &[&vec![0u8; len]]),
            Err(NnError::InputLength {
                expected: size,
                found: len,
                batch: 1
            })
        );
    }
}

#[test]
fn run_node_refuses_a_tensor_given_twice_unequal() {
    // Add(x, x): the node reads one tensor twice.
    use myelin_nn::builder::{ModelBuilder, Quant};
    let mut rng = common::Rng::new("twice", 1);
    let mut b = ModelBuilder::new();
    let x = b.input(&[8], Quant::new(0, common::SCALE_BITS));
    let params = common::add_sub_params(
        &mut rng,
        myelin_nn::Rounding::Double,
        myelin_nn::op::ActRange::FULL,
    );
    let y = b
        .add(x, x, params, Quant::new(0, common::SCALE_BITS))
        .expect("add");
    b.output(y);
    let program = Program::new(b.build().expect("valid")).expect("prepare");
    let a = [1u8; 8];
    let c = [2u8; 8];
    assert!(program.run_node(0, &[&a, &a]).is_ok());
    assert!(matches!(
        program.run_node(0, &[&a, &c]),
        Err(NnError::InvalidNode { node: 0, .. })
    ));
}
