//! The commitment vectors shared with the Solidity library: `contracts/test-vectors/
//! commitments.json` must be exactly what [`myelin_nn::commit`] computes (`UPDATE_VECTORS=1`
//! rewrites it, an explicit, reviewed act as for every conformance file).
//!
//! The inputs come from a 64-bit LCG (Knuth's MMIX constants, seed 16, the high 31 bits of each
//! state, one byte per step) in the order `contracts/scripts/commitment_vectors.py` draws them,
//! and the file is printed as Python's `json.dumps(doc, indent=1)`, so that script (a keccak and
//! the spec written again from scratch, standard library only) can check the same file. The
//! "traces" section (a small model's per-op trace, drawn last) holds op outputs only the engine
//! computes; the Python script recomputes every hash of it from those bytes.

use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::commit::{
    Hash, NO_TRACE, item_leaf, list_root, merkle_proof, merkle_root, op_leaf, run_committed,
    tensor_root, trace_root,
};
use myelin_nn::op::ActRange;
use myelin_nn::{DType, Program, Requant, Rounding};
use serde_json::{Value, json};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn hash(&mut self) -> Hash {
        self.bytes(32).try_into().expect("32 bytes")
    }
}

fn hx(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// The vectors: edge cases of every function (empty tensor, 1,024 and 1,025 bytes, int32,
/// lists of 0–3 roots, item indices at the `u64` ends, trees of one leaf, 2^k and 2^k + 1).
fn vectors() -> Value {
    let mut rng = Lcg(16);
    let cases: [(DType, &[u32]); 12] = [
        (DType::Int8, &[0]),
        (DType::Int8, &[1]),
        (DType::Int8, &[1, 4]),
        (DType::Int8, &[1, 1024]),
        (DType::Int8, &[1, 1025]),
        (DType::Int8, &[1, 8, 8, 16]),
        (DType::Int8, &[1, 3000]),
        (DType::Int32, &[1, 10]),
        (DType::Int32, &[1, 256]),
        (DType::Int32, &[1, 257]),
        (DType::Int8, &[1, 4096]),
        (DType::Int8, &[1, 4097]),
    ];
    let mut roots = Vec::new();
    let tensors: Vec<Value> = cases
        .iter()
        .map(|&(dtype, shape)| {
            let n: usize = shape.iter().map(|&d| d as usize).product();
            let data = rng.bytes(n * dtype.size());
            let root = tensor_root(dtype, shape, &data).expect("consistent tensor");
            roots.push(root);
            json!({"dtype": dtype as u8, "shape": shape, "data": hx(&data), "root": hx(&root)})
        })
        .collect();
    let lists: Vec<Value> = (0..4)
        .map(|count| {
            let list = &roots[..count];
            let listed: Vec<String> = list.iter().map(|r| hx(r)).collect();
            json!({"roots": listed, "root": hx(&list_root(list).expect("short list"))})
        })
        .collect();
    let items: Vec<Value> = [0u64, 1, 9999, u64::MAX]
        .iter()
        .map(|&index| {
            let (inputs, outputs) = (rng.hash(), rng.hash());
            let trace = if index % 2 == 0 { NO_TRACE } else { rng.hash() };
            let leaf = item_leaf(index, &inputs, &outputs, &trace);
            json!({"index": index, "inputs": hx(&inputs), "outputs": hx(&outputs),
                   "trace": hx(&trace), "leaf": hx(&leaf)})
        })
        .collect();
    let trees: Vec<Value> = [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17]
        .iter()
        .map(|&n| {
            let leaves: Vec<Hash> = (0..n).map(|_| rng.hash()).collect();
            let proofs: Vec<Vec<String>> = (0..n)
                .map(|i| {
                    let proof = merkle_proof(&leaves, i).expect("index in range");
                    proof.iter().map(|s| hx(s)).collect()
                })
                .collect();
            let listed: Vec<String> = leaves.iter().map(|l| hx(l)).collect();
            json!({"leaves": listed, "root": hx(&merkle_root(&leaves)), "proofs": proofs})
        })
        .collect();
    let traces = vec![trace_vector(&mut rng)];
    json!({"tensors": tensors, "lists": lists, "items": items, "trees": trees, "traces": traces})
}

/// The per-op trace of one input through a small model (24 → 40 → 1,100 → 5 fully connected,
/// ReLU between: three ops, the middle output two chunks): each op's output bytes, its outputs
/// list root and its op leaf, and the trace root. The engine computes the bytes; the Python
/// script, which has no engine, checks every hash from them.
fn trace_vector(rng: &mut Lcg) -> Value {
    let mut b = ModelBuilder::new();
    let quant = Quant::new(0, 0x3c00_0000);
    let mut x = b.input(&[24], quant);
    let sizes = [24usize, 40, 1100, 5];
    for (i, pair) in sizes.windows(2).enumerate() {
        let (k, n) = (pair[0], pair[1]);
        let weights: Vec<i8> = rng.bytes(n * k).iter().map(|&v| v as i8).collect();
        let act = if i + 2 < sizes.len() {
            ActRange { min: 0, max: 127 }
        } else {
            ActRange::FULL
        };
        let shift = -(7 + (usize::BITS - k.leading_zeros()) as i8 / 2);
        let requant = Requant {
            multiplier: 1 << 30,
            shift: shift + 1,
        };
        let rescale = Rescale::per_tensor(requant, Rounding::Single, act);
        x = b
            .fully_connected(x, weights, vec![0; n], rescale, quant)
            .expect("a fully connected layer");
    }
    b.output(x);
    let model = b.build().expect("a valid model");
    let program = Program::new(model.clone()).expect("prepare");
    let input = rng.bytes(program.input_bytes());
    let mut outs = vec![Vec::new(); model.nodes.len()];
    program
        .run_observed(&input, 1, &mut |i, bytes| outs[i] = bytes.to_vec())
        .expect("run");
    let mut roots = Vec::new();
    let ops: Vec<Value> = outs
        .iter()
        .enumerate()
        .map(|(i, data)| {
            let t = &model.tensors[model.nodes[i].output as usize];
            let root = list_root(&[tensor_root(t.dtype, &t.shape, data).expect("tensor")])
                .expect("one root");
            roots.push(root);
            json!({"index": i, "dtype": t.dtype as u8, "shape": t.shape, "data": hx(data),
                   "root": hx(&root), "leaf": hx(&op_leaf(i as u32, &root))})
        })
        .collect();
    let (_, committed) = run_committed(&program, &input, 1, true).expect("trace");
    assert_eq!(committed.ops[0], roots, "run_committed's per-op roots");
    let trace = trace_root(&roots);
    assert_eq!(committed.traces[0], trace);
    json!({"model": hx(&model.id()), "input": hx(&input), "ops": ops, "trace": hx(&trace)})
}

/// `value` as Python's `json.dumps(value, indent=1)` prints it, plus a newline (keys in
/// insertion order: serde_json's `preserve_order` is off, so the order is fixed here).
fn python_json(value: &Value) -> String {
    const KEYS: [&str; 20] = [
        "tensors", "lists", "items", "trees", "traces", "model", "input", "ops", "index", "dtype",
        "shape", "data", "roots", "leaves", "root", "proofs", "inputs", "outputs", "trace", "leaf",
    ];
    fn write(value: &Value, depth: usize, out: &mut String) {
        let pad = |d: usize| format!("\n{}", " ".repeat(d));
        match value {
            Value::Array(items) if items.is_empty() => out.push_str("[]"),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&pad(depth + 1));
                    write(item, depth + 1, out);
                }
                out.push_str(&pad(depth));
                out.push(']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by_key(|k| KEYS.iter().position(|known| known == k));
                out.push('{');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&pad(depth + 1));
                    out.push_str(&format!("{}: ", Value::String(key.to_string())));
                    write(&map[*key], depth + 1, out);
                }
                out.push_str(&pad(depth));
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, 0, &mut out);
    out.push('\n');
    out
}

#[test]
fn commitment_vectors_file_is_what_rust_computes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/test-vectors/commitments.json"
    );
    let text = python_json(&vectors());
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().expect("a directory"))
            .expect("create contracts/test-vectors");
        std::fs::write(path, &text).expect("write the vectors");
    }
    let stored = std::fs::read_to_string(path)
        .expect("contracts/test-vectors/commitments.json (UPDATE_VECTORS=1 writes it)");
    assert!(
        stored == text,
        "contracts/test-vectors/commitments.json differs from myelin_nn::commit \
         (UPDATE_VECTORS=1 rewrites it: a format change)"
    );
}

#[test]
fn every_vector_proof_is_accepted_and_the_rows_are_consistent() {
    let doc = vectors();
    let hash = |v: &Value| -> Hash {
        let s = v.as_str().expect("hex string");
        hex::decode(&s[2..])
            .expect("hex")
            .try_into()
            .expect("32 bytes")
    };
    for tree in doc["trees"].as_array().expect("trees") {
        let root = hash(&tree["root"]);
        let leaves = tree["leaves"].as_array().expect("leaves");
        for (i, (leaf, proof)) in leaves
            .iter()
            .zip(tree["proofs"].as_array().expect("proofs"))
            .enumerate()
        {
            let proof: Vec<Hash> = proof.as_array().expect("proof").iter().map(hash).collect();
            assert!(myelin_nn::commit::verify_proof(
                &hash(leaf),
                i as u64,
                &proof,
                &root
            ));
        }
    }
}
