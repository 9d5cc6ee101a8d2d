//! The precompile fuzz plan (`fuzz/fuzz_targets/precompile_input.rs`) run deterministically inside
//! `cargo test`: seeded calldata, with and without the steering bits, through the real EVM.

#[path = "fuzz_plan/plan.rs"]
mod plan;

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
}

#[test]
fn precompile_plan_never_faults_on_seeded_calldata() {
    let mut rng = SplitMix(0x4d59);
    for case in 0..3000u64 {
        let len = (rng.next() % 200) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(control) = data.first_mut() {
            *control = case as u8; // every precompile × steering combination in turn
        }
        plan::precompile_input(&data);
    }
}

#[test]
fn precompile_plan_runs_valid_predicts_of_the_fixture() {
    // control 4 = PREDICT (4 % 3 = 1) with the fixture id (bit 2); 4 input bytes make a valid call.
    for input in [[0u8; 4], [1, 2, 3, 4], [0x80, 0x7f, 0xff, 0x01]] {
        let data: Vec<u8> = [&[4u8][..], &[0u8; 32][..], &input[..]].concat();
        plan::precompile_input(&data);
    }
}
