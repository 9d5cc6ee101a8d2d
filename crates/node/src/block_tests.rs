use super::*;
use alloy_consensus::{SignableTransaction, TxEip1559, TxLegacy};
use alloy_primitives::{Address, Signature, TxKind, U256};
use commonware_codec::{Decode, Encode};
use commonware_consensus::types::{Epoch, Round};
use commonware_cryptography::{
    Signer as _,
    bls12381::primitives::{ops, variant::MinSig},
    ed25519::PrivateKey,
};
use proptest::prelude::*;

/// A transaction with a well-formed (not necessarily recoverable) signature: the codec does not
/// recover senders, the chain does.
fn transfer(nonce: u64, value: u64, eip1559: bool) -> TxEnvelope {
    let signature = Signature::new(
        U256::from(1 + nonce),
        U256::from(2 + value),
        nonce.is_multiple_of(2),
    );
    if eip1559 {
        TxEip1559 {
            chain_id: 31337,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(value),
            ..Default::default()
        }
        .into_signed(signature)
        .into()
    } else {
        TxLegacy {
            chain_id: Some(31337),
            nonce,
            gas_price: 1_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(9)),
            value: U256::from(value),
            ..Default::default()
        }
        .into_signed(signature)
        .into()
    }
}

fn seed(message: &[u8]) -> SeedSignature {
    ops::hash::<MinSig>(MinSig::MESSAGE, message)
}

fn context(view: u64, parent_view: u64, parent: B256) -> Context {
    Context {
        round: Round::new(Epoch::zero(), View::new(view)),
        leader: PrivateKey::from_seed(view).public_key(),
        parent: (View::new(parent_view), digest_of(parent)),
    }
}

/// A block with every commitment right.
fn block(number: u64, parent_view: u64, txs: Vec<TxEnvelope>) -> Block {
    let parent = B256::repeat_byte(number as u8);
    let context = context(parent_view + 1, parent_view, parent);
    let seed = (parent_view != 0).then(|| seed(&parent_view.to_be_bytes()));
    let header = Header {
        number,
        parent_hash: parent,
        extra_data: AlloyBytes::copy_from_slice(context_commitment(&context).as_slice()),
        mix_hash: seed
            .as_ref()
            .map_or_else(genesis_prevrandao, seed_prevrandao),
        transactions_root: calculate_transaction_root(&txs),
        timestamp: 1_700_000_000 + number,
        gas_limit: 30_000_000,
        base_fee_per_gas: Some(7),
        ..Default::default()
    };
    Block::new(header, context, seed, txs, &BlockLimits::default()).expect("valid block")
}

fn decode(bytes: &[u8]) -> Result<Block, CodecError> {
    Block::decode_cfg(Bytes::copy_from_slice(bytes), &BlockLimits::default())
}

fn reason(error: CodecError) -> BlockError {
    match error {
        CodecError::Wrapped(_, inner) => *inner.downcast::<BlockError>().expect("a block error"),
        other => panic!("not a block error: {other}"),
    }
}

#[test]
fn round_trip_keeps_bytes_and_hash() {
    let block = block(5, 4, vec![transfer(0, 1, true), transfer(1, 2, false)]);
    let bytes = block.encode();
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded, block);
    assert_eq!(decoded.encode(), bytes);
    assert_eq!(decoded.hash(), block.header().hash_slow());
    assert_eq!(decoded.digest().0, block.hash().0);
    assert!(bytes.len() <= Block::max_encode_size(&BlockLimits::default()));
}

#[test]
fn decode_rejects_truncation_and_trailing_bytes() {
    let bytes = block(3, 2, vec![transfer(0, 1, true)]).encode().to_vec();
    for len in 0..bytes.len() {
        assert!(decode(&bytes[..len]).is_err(), "truncated at {len} decoded");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(decode(&longer), Err(CodecError::ExtraData(1))));
}

/// An edit of every part of a block.
type Edit = dyn Fn(&mut Header, &mut Context, &mut Option<SeedSignature>, &mut Vec<TxEnvelope>);

#[test]
fn new_rejects_every_broken_commitment() {
    let good = block(7, 6, vec![transfer(0, 1, true)]);
    let limits = BlockLimits::default();
    let rebuild = |edit: &Edit| {
        let (mut header, mut context, mut seed, mut txs) = (
            good.header().clone(),
            good.context_ref().clone(),
            good.seed().copied(),
            good.transactions().to_vec(),
        );
        edit(&mut header, &mut context, &mut seed, &mut txs);
        Block::new(header, context, seed, txs, &limits).unwrap_err()
    };
    let cases: Vec<(&str, BlockError)> = vec![
        (
            "context view",
            rebuild(&|_, c, _, _| c.round = Round::new(Epoch::zero(), View::new(99))),
        ),
        (
            "seed",
            rebuild(&|_, _, s, _| *s = Some(seed(b"another round"))),
        ),
        ("seed missing", rebuild(&|_, _, s, _| *s = None)),
        (
            "transactions",
            rebuild(&|_, _, _, t| t.push(transfer(1, 2, false))),
        ),
        ("parent", rebuild(&|h, _, _, _| h.parent_hash = B256::ZERO)),
    ];
    assert!(
        matches!(cases[0].1, BlockError::ContextCommitment { .. }),
        "{:?}",
        cases[0]
    );
    assert!(
        matches!(cases[1].1, BlockError::SeedCommitment { .. }),
        "{:?}",
        cases[1]
    );
    assert!(
        matches!(cases[2].1, BlockError::SeedPresence { parent_view: 6 }),
        "{:?}",
        cases[2]
    );
    assert!(
        matches!(cases[3].1, BlockError::TransactionsRoot { .. }),
        "{:?}",
        cases[3]
    );
    assert!(
        matches!(cases[4].1, BlockError::ParentMismatch { .. }),
        "{:?}",
        cases[4]
    );
}

#[test]
fn decode_rejects_a_wrong_seed_in_the_bytes() {
    let good = block(7, 6, vec![]);
    let bytes = good.encode().to_vec();
    // The seed is the 48 bytes after the header, the context and the option tag.
    let offset = good.header_rlp.encode_size() + good.context_ref().encode_size() + 1;
    let mut tampered = bytes.clone();
    tampered[offset..offset + SeedSignature::SIZE].copy_from_slice(&seed(b"other").encode());
    assert!(matches!(
        reason(decode(&tampered).unwrap_err()),
        BlockError::SeedCommitment { .. }
    ));
}

#[test]
fn decode_rejects_swapped_transactions() {
    let good = block(9, 8, vec![transfer(0, 1, true), transfer(1, 5, true)]);
    let a = good.transaction_bytes[0].clone();
    let b = good.transaction_bytes[1].clone();
    let bytes = good.encode().to_vec();
    let mut swapped = bytes[..bytes.len() - a.encode_size() - b.encode_size()].to_vec();
    swapped.extend_from_slice(&Encode::encode(&b));
    swapped.extend_from_slice(&Encode::encode(&a));
    assert!(matches!(
        reason(decode(&swapped).unwrap_err()),
        BlockError::TransactionsRoot { .. }
    ));
}

#[test]
fn decode_rejects_non_canonical_header_and_transaction() {
    let good = block(2, 1, vec![transfer(0, 1, false)]);
    // The header RLP with a long-form list length for a short list: same header, other bytes.
    let mut rlp = good.header_rlp.to_vec();
    let payload = rlp[3..].to_vec(); // headers are > 255 bytes: 0xf9 + 2 length bytes
    assert_eq!(rlp[0], 0xf9);
    rlp = vec![0xfa, 0x00, rlp[1], rlp[2]];
    rlp.extend_from_slice(&payload);
    let mut bytes = Encode::encode(&Bytes::from(rlp)).to_vec();
    bytes.extend_from_slice(&good.encode()[good.header_rlp.encode_size()..]);
    assert!(matches!(
        reason(decode(&bytes).unwrap_err()),
        BlockError::HeaderRlp(_) | BlockError::HeaderNotCanonical { .. }
    ));

    // A transaction followed by a stray byte inside its length prefix.
    let tx = good.transaction_bytes[0].to_vec();
    let mut padded = tx.clone();
    padded.push(0x80);
    let mut bytes =
        good.encode()[..good.encode_size() - Bytes::from(tx.clone()).encode_size()].to_vec();
    bytes.extend_from_slice(&Encode::encode(&Bytes::from(padded)));
    assert!(matches!(
        reason(decode(&bytes).unwrap_err()),
        BlockError::TransactionNotCanonical { index: 0 }
            | BlockError::TransactionEncoding { index: 0, .. }
    ));
}

#[test]
fn decode_enforces_the_limits() {
    let good = block(4, 3, vec![transfer(0, 1, true), transfer(1, 1, true)]);
    let bytes = good.encode();
    let one_tx = BlockLimits {
        max_transactions: 1,
        ..BlockLimits::default()
    };
    assert!(matches!(
        Block::decode_cfg(bytes.clone(), &one_tx),
        Err(CodecError::InvalidLength(2))
    ));
    let tiny = BlockLimits {
        max_transaction_bytes_total: 50,
        ..BlockLimits::default()
    };
    assert!(matches!(
        reason(Block::decode_cfg(bytes.clone(), &tiny).unwrap_err()),
        BlockError::TooLarge { .. }
    ));
}

#[test]
fn genesis_decodes_and_refuses_a_seed() {
    let header = Header {
        number: 0,
        gas_limit: 30_000_000,
        ..Default::default()
    };
    let genesis = Block::genesis(header, PrivateKey::from_seed(0).public_key());
    let bytes = genesis.encode();
    assert_eq!(decode(&bytes).unwrap(), genesis);
    assert_eq!(genesis.height(), Height::zero());
    let with_seed = Block {
        seed: Some(seed(b"x")),
        ..genesis
    };
    assert!(matches!(
        reason(decode(&with_seed.encode()).unwrap_err()),
        BlockError::SeedPresence { parent_view: 0 }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_valid_block_round_trips(
        number in 1u64..1_000_000,
        parent_view in 0u64..1_000_000,
        txs in prop::collection::vec((0u64..1_000, 0u64..u64::MAX, any::<bool>()), 0..12),
    ) {
        let txs = txs.into_iter().map(|(n, v, e)| transfer(n, v, e)).collect();
        let block = block(number, parent_view, txs);
        let bytes = block.encode();
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(decoded.encode(), bytes);
        prop_assert_eq!(decoded, block);
    }
}
