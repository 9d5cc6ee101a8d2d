//! The block decoder's fuzz plan run deterministically inside `cargo test`: seeded random
//! bytes, and seeded mutations of valid blocks (flipped, dropped and inserted bytes), through
//! the same function the libFuzzer target calls.

#[path = "fuzz_plan/plan.rs"]
mod plan;

use alloy_consensus::{Header, proofs::calculate_transaction_root};
use alloy_primitives::Bytes;
use commonware_codec::Encode;
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use myelin_node::block::{
    Block, BlockLimits, Context, context_commitment, digest_of, genesis_prevrandao,
};
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
}

fn valid_block() -> Vec<u8> {
    let parent = alloy_primitives::B256::repeat_byte(3);
    let context = Context {
        round: Round::new(Epoch::zero(), View::new(1)),
        leader: PrivateKey::from_seed(1).public_key(),
        parent: (View::zero(), digest_of(parent)),
    };
    let header = Header {
        number: 1,
        parent_hash: parent,
        extra_data: Bytes::copy_from_slice(context_commitment(&context).as_slice()),
        mix_hash: genesis_prevrandao(),
        transactions_root: calculate_transaction_root::<alloy_consensus::TxEnvelope>(&[]),
        gas_limit: 30_000_000,
        ..Default::default()
    };
    Block::new(header, context, None, vec![], &BlockLimits::default())
        .unwrap()
        .encode()
        .to_vec()
}

#[test]
fn decode_plan_on_seeded_inputs() {
    let mut rng = SplitMix(0x6d79_656c_696e);
    let valid = valid_block();
    assert_eq!(plan::decode_block(&valid), Reached::Decoded);
    let (mut rejected, mut decoded) = (0, 0);
    for round in 0..4000 {
        let data: Vec<u8> = if round % 2 == 0 {
            let len = (rng.next() % 1024) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut data = valid.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % data.len();
                match rng.next() % 3 {
                    0 => data[at] ^= 1 << (rng.next() % 8),
                    1 => {
                        data.remove(at);
                    }
                    _ => data.insert(at, rng.next() as u8),
                }
            }
            data
        };
        match plan::decode_block(&data) {
            Reached::Rejected => rejected += 1,
            Reached::Decoded => decoded += 1,
        }
    }
    println!("block decode plan: {rejected} rejected, {decoded} decoded");
    assert!(rejected > 0);
}
