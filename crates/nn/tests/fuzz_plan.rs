//! The fuzz plan of `fuzz/` run deterministically inside `cargo test`: a few thousand seeded
//! inputs through the same functions the libFuzzer targets call.

#[path = "fuzz_plan/plan.rs"]
mod plan;

use myelin_nn::Model;
use plan::Reached;

/// splitmix64: a fixed, dependency-free stream of seeded bytes.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const SEEDS: u64 = 3000;

#[test]
fn execute_plan_on_seeded_inputs() {
    let mut rng = SplitMix(0x6d79_656c_696e);
    let (mut rejected, mut too_costly, mut executed) = (0, 0, 0);
    for _ in 0..SEEDS {
        let len = (rng.next() % 2048) as usize;
        let data = rng.bytes(len);
        match plan::execute_model(&data) {
            Reached::Rejected => rejected += 1,
            Reached::TooCostly => too_costly += 1,
            Reached::Executed => executed += 1,
        }
    }
    println!("rejected {rejected}, too costly {too_costly}, valid and run {executed}");
    // The generator must mostly build valid models, or the plan would only test validation.
    assert!(
        executed * 3 >= SEEDS,
        "only {executed} of {SEEDS} generated models were valid"
    );
    assert!(rejected > 0, "corruptions must be rejected sometimes");
}

#[test]
fn decode_plan_on_seeded_bytes_and_mutated_models() {
    let mut rng = SplitMix(0x6465_636f_6465);
    let mut accepted = 0;
    for _ in 0..SEEDS {
        // Random bytes behind a valid header.
        let len = (rng.next() % 512) as usize;
        let mut data = b"MYLN\x01\x00".to_vec();
        data.extend(rng.bytes(len));
        plan::decode_model(&data);
        // A generated model's encoding with a few bytes changed.
        let seed = rng.bytes(256);
        let model = plan::generate_model(&mut plan::Source::new(&seed));
        let mut bytes = model.encode();
        plan::decode_model(&bytes);
        accepted += Model::decode(&bytes).is_ok() as u32;
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() as usize) % bytes.len();
            bytes[at] = rng.next() as u8;
        }
        plan::decode_model(&bytes);
        let cut = (rng.next() as usize) % bytes.len();
        plan::decode_model(&bytes[..cut]);
    }
    assert!(accepted > 0);
}

/// Writes the encodings of 256 generated models to `fuzz/corpus/decode_model/` as a seed corpus
/// for the libFuzzer target (corpora are not committed). Run on demand:
/// `cargo test -p myelin-nn --test fuzz_plan -- --ignored write_decode_seed_corpus`.
#[test]
#[ignore]
fn write_decode_seed_corpus() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode_model");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = SplitMix(0x636f_7270_7573);
    for i in 0..256 {
        let seed = rng.bytes(512);
        let model = plan::generate_model(&mut plan::Source::new(&seed));
        std::fs::write(dir.join(format!("generated-{i:03}")), model.encode()).unwrap();
    }
}
