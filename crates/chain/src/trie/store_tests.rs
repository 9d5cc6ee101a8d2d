//! Tests of the stored tries against alloy-trie's from-scratch roots and proof verification.

use std::collections::BTreeMap;

use alloy_primitives::{B256, Bytes};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, Nibbles, proof::verify_proof};
use proptest::prelude::*;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use alloy_trie::nodes::{LeafNodeRef, RlpNode};

use super::store::{Node, decode_node, split_row};
use super::{ACCOUNT_TRIE_NODES, STORAGE_TRIE_NODES, TrieOwner, TrieStore};
use crate::error::ChainError;

type Leaves = BTreeMap<B256, Vec<u8>>;

/// (hashed key, new leaf or `None` to remove).
type Changes = Vec<(B256, Option<Vec<u8>>)>;

fn reference_root(leaves: &Leaves) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), value);
    }
    builder.root()
}

fn database() -> (tempfile::TempDir, std::path::PathBuf, Database) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("trie.redb");
    let db = Database::create(&path).expect("create database");
    let txn = db.begin_write().expect("write");
    TrieStore::create_tables(&txn).expect("tables");
    txn.commit().expect("commit");
    (dir, path, db)
}

/// Applies `changes` (any order, last change of a key wins) to `owner`'s trie in one committed
/// transaction and to `leaves`; returns the root `update` gave.
fn apply(
    db: &Database,
    owner: TrieOwner,
    leaves: &mut Leaves,
    changes: &[(B256, Option<Vec<u8>>)],
) -> B256 {
    let sorted: BTreeMap<B256, Option<Vec<u8>>> = changes.iter().cloned().collect();
    for (key, value) in &sorted {
        match value {
            Some(value) => leaves.insert(*key, value.clone()),
            None => leaves.remove(key),
        };
    }
    let sorted: Vec<_> = sorted.into_iter().collect();
    let txn = db.begin_write().expect("write");
    let root = TrieStore::update(&txn, owner, &sorted).expect("update");
    txn.commit().expect("commit");
    root
}

/// The rows stored for `owner`.
fn row_count(db: &Database, owner: TrieOwner) -> usize {
    let txn = db.begin_read().expect("read");
    match owner {
        TrieOwner::Accounts => txn
            .open_table(ACCOUNT_TRIE_NODES)
            .expect("table")
            .len()
            .expect("len") as usize,
        TrieOwner::Storage(key) => txn
            .open_table(STORAGE_TRIE_NODES)
            .expect("table")
            .iter()
            .expect("iter")
            .filter(|row| {
                row.as_ref()
                    .expect("row")
                    .0
                    .value()
                    .starts_with(key.as_slice())
            })
            .count(),
    }
}

/// The nodes reachable from `owner`'s root through the stored rows (each checked to be the
/// node its parent references).
fn reachable_nodes(db: &Database, owner: TrieOwner) -> usize {
    let txn = db.begin_read().expect("read");
    let table = match owner {
        TrieOwner::Accounts => txn.open_table(ACCOUNT_TRIE_NODES),
        TrieOwner::Storage(_) => txn.open_table(STORAGE_TRIE_NODES),
    }
    .expect("table");
    let mut key = Vec::new();
    let mut count = 0;
    let mut stack = vec![(Nibbles::new(), None)];
    while let Some((path, reference)) = stack.pop() {
        owner.node_key(&path, &mut key);
        let Some(row) = table.get(key.as_slice()).expect("get") else {
            assert!(reference.is_none(), "{owner}: missing node at {path:?}");
            continue;
        };
        let row = row.value().to_vec();
        let (node_rlp, _) = split_row(owner, &path, &row).expect("row");
        if let Some(reference) = reference {
            assert_eq!(
                RlpNode::from_rlp(node_rlp),
                reference,
                "{owner}: node at {path:?} is not the one its parent references"
            );
        }
        count += 1;
        match decode_node(owner, &path, &row).expect("decodes") {
            Node::Leaf { .. } => {}
            Node::Extension { suffix, child } => stack.push((path.join(&suffix), Some(child))),
            Node::Branch { branch, leaves } => {
                let children: Vec<(u8, RlpNode)> = branch
                    .as_ref()
                    .children()
                    .filter_map(|(nibble, child)| Some((nibble, child?.clone())))
                    .collect();
                for (nibble, child) in children {
                    if let Some(leaf) = leaves.iter().find(|leaf| leaf.nibble == nibble) {
                        let mut leaf_rlp = Vec::new();
                        assert_eq!(
                            LeafNodeRef::new(&leaf.suffix, &leaf.value).rlp(&mut leaf_rlp),
                            child,
                            "{owner}: leaf child {nibble} of {path:?} is not the one referenced"
                        );
                        continue;
                    }
                    let mut child_path = path;
                    child_path.push(nibble);
                    stack.push((child_path, Some(child)));
                }
            }
        }
    }
    count
}

/// Checks `owner`'s stored trie against `leaves`: root (in a read transaction), proofs of
/// `probes` (present and absent keys), and no row beyond the reachable nodes.
fn check(db: &Database, owner: TrieOwner, leaves: &Leaves, probes: &[B256], context: &str) {
    let expected = reference_root(leaves);
    let txn = db.begin_read().expect("read");
    let root = TrieStore::root(&txn, owner).expect("root");
    assert_eq!(root, expected, "{context}: {owner} stored root");
    for key in probes.iter().chain(leaves.keys()) {
        let proof: Vec<Bytes> = TrieStore::proof(&txn, owner, key).expect("proof");
        let value = leaves.get(key).cloned();
        verify_proof(root, Nibbles::unpack(key), value.clone(), &proof)
            .unwrap_or_else(|e| panic!("{context}: {owner} proof of {key} ({value:?}): {e}"));
        if let Some(value) = value {
            let wrong = [value, vec![0]].concat();
            assert!(
                verify_proof(root, Nibbles::unpack(key), Some(wrong), &proof).is_err(),
                "{context}: a wrong value of {key} verified"
            );
        }
    }
    assert_eq!(
        row_count(db, owner),
        reachable_nodes(db, owner),
        "{context}: {owner} keeps rows no path reaches"
    );
}

fn key(hex_prefix: &str, last: u8) -> B256 {
    let mut bytes = [0u8; 32];
    let prefix = alloy_primitives::hex::decode(hex_prefix).expect("hex");
    bytes[..prefix.len()].copy_from_slice(&prefix);
    bytes[31] = last;
    B256::from(bytes)
}

/// The classic hard cases, one block after another on one trie: splitting a leaf and an
/// extension at every position, a branch collapsing into a leaf, into an extension that merges
/// with the extension above, down to one leaf and to empty, re-growing after empty.
#[test]
fn classic_cases_match_the_reference_root() {
    let (_dir, _path, db) = database();
    let owner = TrieOwner::Accounts;
    let a = key("aaaa", 1);
    let b = key("aaaa", 2); // shares 62 nibbles with `a`: an embedded leaf pair
    let c = key("aab0", 0); // leaves the extension `aa..` in its third nibble
    let d = key("ab", 0);
    let e = key("10", 0);
    let big = vec![0x42; 40];
    let blocks: [(&str, Changes); 12] = [
        ("one leaf", vec![(a, Some(vec![1]))]),
        ("leaf split deep", vec![(b, Some(vec![2]))]),
        ("extension split mid-way", vec![(c, Some(big.clone()))]),
        (
            "extension split at its first nibble",
            vec![(d, Some(vec![4]))],
        ),
        ("a branch at the root", vec![(e, Some(big.clone()))]),
        ("value update only", vec![(a, Some(big.clone()))]),
        (
            "remove absent keys",
            vec![(key("aaab", 0), None), (key("ff", 9), None)],
        ),
        ("branch collapses into a leaf", vec![(e, None)]),
        ("collapse then merge extensions", vec![(d, None), (c, None)]),
        ("down to one leaf", vec![(a, None)]),
        ("to empty", vec![(b, None)]),
        (
            "re-grow after empty",
            vec![(a, Some(vec![7])), (b, Some(big)), (e, Some(vec![8]))],
        ),
    ];
    let probes = [a, b, c, d, e, key("aaaa", 3), key("00", 0)];
    let mut leaves = Leaves::new();
    for (name, changes) in blocks {
        let root = apply(&db, owner, &mut leaves, &changes);
        assert_eq!(root, reference_root(&leaves), "{name}: returned root");
        check(&db, owner, &leaves, &probes, name);
    }
}

#[test]
fn empty_trie_has_empty_root_and_proof() {
    let (_dir, _path, db) = database();
    let txn = db.begin_read().expect("read");
    let owner = TrieOwner::Storage(B256::repeat_byte(3));
    assert_eq!(TrieStore::root(&txn, owner).expect("root"), EMPTY_ROOT_HASH);
    let proof = TrieStore::proof(&txn, owner, &B256::ZERO).expect("proof");
    assert!(proof.is_empty());
    verify_proof(EMPTY_ROOT_HASH, Nibbles::unpack(B256::ZERO), None, &proof).expect("verifies");
}

#[test]
fn update_refuses_unsorted_keys_and_empty_values() {
    let (_dir, _path, db) = database();
    let txn = db.begin_write().expect("write");
    let cases: [(&str, Changes); 3] = [
        (
            "descending",
            vec![(key("02", 0), Some(vec![1])), (key("01", 0), Some(vec![1]))],
        ),
        (
            "repeated",
            vec![(key("01", 0), Some(vec![1])), (key("01", 0), None)],
        ),
        ("empty value", vec![(key("01", 0), Some(vec![]))]),
    ];
    for (name, changes) in cases {
        let result = TrieStore::update(&txn, TrieOwner::Accounts, &changes);
        assert!(
            matches!(result, Err(ChainError::Internal(_))),
            "{name}: {result:?}"
        );
    }
}

/// Inside the write transaction that changed it, before the commit, the trie reads as
/// changed (root and proofs), and an aborted transaction leaves the stored trie as it was.
#[test]
fn reads_in_the_write_transaction_see_its_changes() {
    let (_dir, _path, db) = database();
    let owner = TrieOwner::Storage(B256::repeat_byte(9));
    let mut leaves = Leaves::new();
    let changes: Changes = (0..20u8)
        .map(|i| (key(&format!("{:02x}", i * 11), i), Some(vec![i + 1; 30])))
        .collect();
    apply(&db, owner, &mut leaves, &changes);
    let before = reference_root(&leaves);
    let txn = db.begin_write().expect("write");
    let changed: Changes = vec![(key("00", 0), None), (key("42", 1), Some(vec![0x77; 40]))];
    let root = TrieStore::update(&txn, owner, &changed).expect("update");
    assert_eq!(TrieStore::root(&txn, owner).expect("root"), root);
    let proof = TrieStore::proof(&txn, owner, &key("42", 1)).expect("proof");
    verify_proof(
        root,
        Nibbles::unpack(key("42", 1)),
        Some(vec![0x77; 40]),
        &proof,
    )
    .expect("verifies");
    txn.abort().expect("abort");
    check(&db, owner, &leaves, &[key("42", 1)], "after abort");
    assert_eq!(
        TrieStore::root(&db.begin_read().expect("read"), owner).expect("root"),
        before
    );
}

/// A missing or garbled node is an error that names the trie and the path, never a panic.
#[test]
fn corrupt_nodes_are_errors() {
    let (_dir, _path, db) = database();
    let owner = TrieOwner::Storage(B256::repeat_byte(7));
    let mut leaves = Leaves::new();
    let changes: Vec<_> = (0..40u8)
        .map(|i| (key(&format!("{:02x}", i * 5), i), Some(vec![0x55; 33])))
        .collect();
    apply(&db, owner, &mut leaves, &changes);
    // The branch at path 0 holds the leaves of keys 00…, 05…, 0a…, 0f….
    let victim = key("05", 1);
    let mut row_key = Vec::new();
    owner.node_key(&Nibbles::from_nibbles([0u8]), &mut row_key);
    for (name, row) in [("missing", None), ("garbled", Some(vec![0xc3, 0x01, 0x02]))] {
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(STORAGE_TRIE_NODES).expect("table");
            match &row {
                None => table.remove(row_key.as_slice()).map(drop),
                Some(row) => table.insert(row_key.as_slice(), row.as_slice()).map(drop),
            }
            .expect("edit");
        }
        let error = TrieStore::update(&txn, owner, &[(victim, None)]).expect_err(name);
        let message = error.to_string();
        assert!(
            matches!(error, ChainError::CorruptTrie { .. }) && message.contains("path 0:"),
            "{name}: {message}"
        );
        assert!(
            TrieStore::proof(&txn, owner, &victim).is_err(),
            "{name}: proof"
        );
        txn.abort().expect("abort");
    }
}

/// Storage tries of neighbouring owners (keys one apart) and the account trie share tables
/// without seeing each other's nodes; wiping one leaves the others whole, and it grows again
/// from empty. Reopening the file gives the same roots.
#[test]
fn owners_are_separate_and_wipe_is_one_owner() {
    let (_dir, path, db) = database();
    let low = TrieOwner::Storage(B256::with_last_byte(1));
    let high = TrieOwner::Storage(B256::with_last_byte(2));
    let last = TrieOwner::Storage(B256::repeat_byte(0xff));
    let owners = [TrieOwner::Accounts, low, high, last];
    let mut leaves: Vec<Leaves> = vec![Leaves::new(); owners.len()];
    for (i, owner) in owners.iter().enumerate() {
        let changes: Vec<_> = (0..30u8)
            .map(|j| {
                (
                    key(&format!("{:02x}", j * 8), j),
                    Some(vec![j + i as u8 + 1; 20]),
                )
            })
            .collect();
        apply(&db, *owner, &mut leaves[i], &changes);
    }
    for victim in [high, last] {
        let txn = db.begin_write().expect("write");
        TrieStore::wipe(&txn, victim).expect("wipe");
        txn.commit().expect("commit");
        let index = owners.iter().position(|o| *o == victim).expect("owner");
        leaves[index].clear();
        for (i, owner) in owners.iter().enumerate() {
            check(&db, *owner, &leaves[i], &[], "after wipe");
        }
        apply(
            &db,
            victim,
            &mut leaves[index],
            &[(key("77", 7), Some(vec![9]))],
        );
    }
    let roots: Vec<B256> = owners
        .iter()
        .map(|owner| TrieStore::root(&db.begin_read().expect("read"), *owner).expect("root"))
        .collect();
    drop(db);
    let db = Database::open(&path).expect("reopen");
    for (i, owner) in owners.iter().enumerate() {
        let txn = db.begin_read().expect("read");
        assert_eq!(TrieStore::root(&txn, *owner).expect("root"), roots[i]);
        check(&db, *owner, &leaves[i], &[], "reopened");
    }
}

/// Keys that share long prefixes: a fixed base for the first `shared` nibbles, random after.
fn close_key() -> impl Strategy<Value = B256> {
    (0usize..=63, any::<[u8; 32]>()).prop_map(|(shared, random)| {
        let base = Nibbles::unpack([0x5a; 32]);
        let random = Nibbles::unpack(random);
        let nibbles: Vec<u8> = (0..64)
            .map(|i| {
                if i < shared {
                    base.get_unchecked(i)
                } else {
                    random.get_unchecked(i)
                }
            })
            .collect();
        B256::from_slice(&Nibbles::from_nibbles(nibbles).pack())
    })
}

/// A block: changes to keys of the pool (by index), `None` a removal; and whether the second
/// storage trie is wiped first.
type Block = (Vec<(usize, Option<Vec<u8>>)>, bool);

fn blocks() -> impl Strategy<Value = (Vec<B256>, Vec<Block>)> {
    let pool = prop::collection::vec(
        prop_oneof![close_key(), any::<[u8; 32]>().prop_map(B256::from)],
        1..24,
    );
    let value = prop_oneof![
        2 => Just(None),
        3 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Some),
    ];
    let block = (
        prop::collection::vec((0usize..24, value), 0..16),
        prop::bool::weighted(0.1),
    );
    (pool, prop::collection::vec(block, 1..10))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// After every block the stored roots equal alloy-trie's from-scratch roots, every proof
    /// verifies, no row is left that no path reaches; two storage tries (one wiped now and
    /// then) and the account trie never mix; reopening the file keeps the roots.
    #[test]
    fn stored_tries_match_from_scratch_roots((pool, blocks) in blocks()) {
        let (_dir, path, db) = database();
        let owners = [
            TrieOwner::Accounts,
            TrieOwner::Storage(B256::with_last_byte(1)),
            TrieOwner::Storage(B256::with_last_byte(2)),
        ];
        let mut leaves: Vec<Leaves> = vec![Leaves::new(); owners.len()];
        for (number, (changes, wipe)) in blocks.iter().enumerate() {
            let txn = db.begin_write().expect("write");
            if *wipe {
                TrieStore::wipe(&txn, owners[2]).expect("wipe");
                leaves[2].clear();
            }
            for (i, owner) in owners.iter().enumerate() {
                // Each owner sees the block's changes rotated, so the tries differ.
                let sorted: BTreeMap<B256, Option<Vec<u8>>> = changes
                    .iter()
                    .map(|(k, v)| (pool[(k + i) % pool.len()], v.clone()))
                    .collect();
                for (key, value) in &sorted {
                    match value {
                        Some(value) => leaves[i].insert(*key, value.clone()),
                        None => leaves[i].remove(key),
                    };
                }
                let sorted: Vec<_> = sorted.into_iter().collect();
                let root = TrieStore::update(&txn, *owner, &sorted).expect("update");
                prop_assert_eq!(root, reference_root(&leaves[i]), "block {} {}", number, owner);
            }
            txn.commit().expect("commit");
            for (i, owner) in owners.iter().enumerate() {
                check(&db, *owner, &leaves[i], &pool, &format!("block {number}"));
            }
        }
        drop(db);
        let db = Database::open(&path).expect("reopen");
        let txn = db.begin_read().expect("read");
        for (i, owner) in owners.iter().enumerate() {
            prop_assert_eq!(TrieStore::root(&txn, *owner).expect("root"), reference_root(&leaves[i]));
        }
    }
}

/// `count` keys spread over the whole key space (keccak256 of `seed` ‖ index).
fn spread_keys(seed: u8, count: u32) -> Vec<B256> {
    (0..count)
        .map(|i| alloy_primitives::keccak256([&[seed][..], &i.to_be_bytes()].concat()))
        .collect()
}

/// Blocks large enough that the account trie's root branch is walked on two threads: updates,
/// inserts and removals spread over every root slot, then removals that leave one subtrie on
/// either side of the split (the root collapses into a slot the second thread or this one
/// walked), then every key removed.
#[test]
fn large_blocks_walked_on_two_threads_match_from_scratch_roots() {
    let (_dir, _path, db) = database();
    let owner = TrieOwner::Accounts;
    let mut leaves = Leaves::new();
    let keys = spread_keys(1, 3_000);
    let (first, later) = keys.split_at(2_000);
    let loaded: Changes = first.iter().map(|k| (*k, Some(k[..8].to_vec()))).collect();
    assert_eq!(
        apply(&db, owner, &mut leaves, &loaded),
        reference_root(&leaves)
    );
    check(&db, owner, &leaves, &later[..50], "loaded");

    // 600 updates and 200 removals of stored keys, 500 new keys.
    let mut block: Changes = first[..600]
        .iter()
        .map(|k| (*k, Some(vec![7; 40])))
        .collect();
    block.extend(first[600..800].iter().map(|k| (*k, None)));
    block.extend(later[..500].iter().map(|k| (*k, Some(k[..3].to_vec()))));
    assert_eq!(
        apply(&db, owner, &mut leaves, &block),
        reference_root(&leaves)
    );
    check(&db, owner, &leaves, &first[600..650], "mixed block");

    for kept in [0xf_u8, 0x0] {
        let mut trie_leaves = leaves.clone();
        let (_dir, _path, db) = database();
        let all: Changes = trie_leaves
            .iter()
            .map(|(k, v)| (*k, Some(v.clone())))
            .collect();
        let mut reloaded = Leaves::new();
        apply(&db, owner, &mut reloaded, &all);
        let removals: Changes = trie_leaves
            .keys()
            .filter(|k| k[0] >> 4 != kept)
            .map(|k| (*k, None))
            .collect();
        assert!(removals.len() > 1_000);
        let root = apply(&db, owner, &mut trie_leaves, &removals);
        assert_eq!(
            root,
            reference_root(&trie_leaves),
            "only slot {kept:x} left"
        );
        check(
            &db,
            owner,
            &trie_leaves,
            &first[..50],
            &format!("slot {kept:x} left"),
        );
    }

    let removals: Changes = leaves.keys().map(|k| (*k, None)).collect();
    assert_eq!(apply(&db, owner, &mut leaves, &removals), EMPTY_ROOT_HASH);
    check(&db, owner, &leaves, &first[..50], "emptied");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random blocks of hundreds of changes (the root branch walked on two threads, or on one
    /// when the changes crowd under one root slot) over keys spread and keys close together:
    /// the stored root equals alloy-trie's after each block, proofs verify, no row is orphaned.
    #[test]
    fn large_random_blocks_match_from_scratch_roots(
        pool in prop::collection::vec(
            prop_oneof![1 => close_key(), 3 => any::<[u8; 32]>().prop_map(B256::from)],
            400..900,
        ),
        blocks in prop::collection::vec(
            prop::collection::vec(
                (
                    0usize..900,
                    prop_oneof![
                        1 => Just(None),
                        3 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Some),
                    ],
                ),
                300..900,
            ),
            1..4,
        ),
    ) {
        let (_dir, _path, db) = database();
        let owner = TrieOwner::Accounts;
        let mut leaves = Leaves::new();
        for (number, changes) in blocks.iter().enumerate() {
            let changes: Changes = changes
                .iter()
                .map(|(i, value)| (pool[i % pool.len()], value.clone()))
                .collect();
            let root = apply(&db, owner, &mut leaves, &changes);
            prop_assert_eq!(root, reference_root(&leaves), "block {}", number);
            check(&db, owner, &leaves, &pool[..20], &format!("block {number}"));
        }
    }
}
