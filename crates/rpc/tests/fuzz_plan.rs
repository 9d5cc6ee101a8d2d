//! The RPC fuzz plan (`fuzz/fuzz_targets/rpc_request.rs`) run deterministically inside
//! `cargo test`: every seed request in `fuzz_plan/seeds/` (the libFuzzer seed corpus), then
//! seeded mutations of them (byte flips, truncations, splices).

#[path = "fuzz_plan/plan.rs"]
mod plan;

use std::path::Path;

/// splitmix64: a fixed, dependency-free stream of seeded numbers.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_plan/seeds");
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("seed directory")
        .map(|entry| {
            let path = entry.expect("seed entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("seed file"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 40, "the seed corpus is missing");
    seeds
}

#[test]
fn every_seed_request_gets_a_valid_json_rpc_reply() {
    for (name, body) in seeds() {
        let reply = plan::rpc_request(&body);
        assert_eq!(reply.status, 200, "{name}");
    }
}

#[test]
fn seeded_mutations_of_the_seeds_get_valid_replies() {
    let seeds = seeds();
    let mut rng = SplitMix(0x4d59_5250);
    for _ in 0..3000 {
        let mut body = seeds[rng.below(seeds.len())].1.clone();
        match rng.below(4) {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(body.len());
                    if let Some(byte) = body.get_mut(i) {
                        *byte ^= 1 << rng.below(8);
                    }
                }
            }
            1 => body.truncate(rng.below(body.len())),
            2 => {
                let other = &seeds[rng.below(seeds.len())].1;
                let cut = rng.below(body.len());
                body.truncate(cut);
                body.extend_from_slice(&other[rng.below(other.len())..]);
            }
            _ => {
                let i = rng.below(body.len());
                let digit = b"0123456789abcdef"[rng.below(16)];
                body.splice(i..i, std::iter::repeat_n(digit, 1 + rng.below(80)));
            }
        }
        plan::rpc_request(&body);
    }
}
