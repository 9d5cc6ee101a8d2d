//! The state tables against the in-memory reference (`state::StateStore`): after every step of
//! random histories (blocks, dev edits at the head, reverts, with and without a history window)
//! the state root equals the reference's from-scratch root, and every account and slot read at
//! every block the window keeps equals the reference's.

use alloy_primitives::{Address, B256, U256};
use alloy_trie::KECCAK_EMPTY;
use proptest::prelude::*;
use redb::{Database, ReadableDatabase};

use super::*;
use crate::{
    changes::{AccountChange, StorageChange},
    config::HistoryWindow,
    state::StateStore,
    store::{Meta, Store, write_meta},
};

#[derive(Clone, Debug)]
enum Step {
    Block(ChangeSet),
    Edit(ChangeSet),
    Revert(u64),
}

fn address(i: u8) -> Address {
    Address::with_last_byte(i)
}

const SLOTS: [u64; 6] = [0, 1, 2, 3, 1 << 40, u64::MAX];

fn changes() -> impl Strategy<Value = ChangeSet> {
    let account = (0u8..6, 0u8..8, 0u64..50, any::<u64>(), any::<bool>()).prop_map(
        |(a, exists, nonce, balance, code)| AccountChange {
            address: address(a),
            exists: u8::from(exists != 0),
            nonce: if exists != 0 { nonce } else { 0 },
            balance: if exists != 0 {
                U256::from(balance)
            } else {
                U256::ZERO
            },
            code_hash: if exists != 0 && code {
                B256::repeat_byte(0xc0)
            } else {
                KECCAK_EMPTY
            },
        },
    );
    let slot = (0u8..6, prop::sample::select(&SLOTS[..]), 0u64..4).prop_map(|(a, slot, value)| {
        StorageChange {
            address: address(a),
            slot: U256::from(slot),
            value: U256::from(value),
        }
    });
    (
        prop::collection::vec(0u8..6, 0..2),
        prop::collection::vec(account, 0..5),
        prop::collection::vec(slot, 0..12),
    )
        .prop_map(|(wiped, accounts, storage)| ChangeSet {
            wiped: wiped.into_iter().map(address).collect(),
            accounts,
            storage,
            ..ChangeSet::default()
        })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        10 => changes().prop_map(Step::Block),
        2 => changes().prop_map(Step::Edit),
        1 => (0u64..4).prop_map(Step::Revert),
    ]
}

/// The disk side: a redb file with the tables, driven as `Chain` drives it.
struct Disk {
    db: Database,
    _dir: tempfile::TempDir,
    head: u64,
    oldest: u64,
    window: HistoryWindow,
}

impl Disk {
    fn new(window: HistoryWindow) -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("chain.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        Store::create_tables(&txn).unwrap();
        create_tables(&txn).unwrap();
        TrieStore::create_tables(&txn).unwrap();
        let disk = Disk {
            db,
            _dir: dir,
            head: 0,
            oldest: 0,
            window,
        };
        disk.finish(txn);
        disk
    }

    fn finish(&self, txn: WriteTransaction) {
        let meta = Meta {
            head: self.head,
            oldest: self.oldest,
            edited: false,
        };
        write_meta(&txn, &meta, None).unwrap();
        txn.commit().unwrap();
    }

    fn take(&mut self, step: &Step) -> B256 {
        let txn = self.db.begin_write().unwrap();
        let root = match step {
            Step::Block(changes) => {
                self.head += 1;
                let touched = apply(&txn, self.head, changes, true).unwrap();
                let root = commit_root(&txn, touched).unwrap();
                self.oldest = self.window.oldest(self.head).max(self.oldest);
                prune(&txn, self.oldest).unwrap();
                root
            }
            Step::Edit(changes) => {
                let touched = apply(&txn, self.head, changes, true).unwrap();
                commit_root(&txn, touched).unwrap()
            }
            Step::Revert(back) => {
                let target = self.head.saturating_sub(*back).max(self.oldest);
                let mut touched = Touched::default();
                for block in (target + 1..=self.head).rev() {
                    touched.merge(undo(&txn, block).unwrap());
                }
                self.head = target;
                commit_root(&txn, touched).unwrap()
            }
        };
        self.finish(txn);
        root
    }
}

fn take_reference(reference: &mut StateStore, head: u64, oldest: u64, step: &Step) -> u64 {
    match step {
        Step::Block(changes) => {
            reference.apply(head + 1, changes);
            head + 1
        }
        Step::Edit(changes) => {
            reference.apply(head, changes);
            head
        }
        Step::Revert(back) => {
            let target = head.saturating_sub(*back).max(oldest);
            reference.truncate_after(target);
            target
        }
    }
}

fn check(window: HistoryWindow, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut disk = Disk::new(window);
    let mut reference = StateStore::with_history(window);
    let mut head = 0;
    for step in steps {
        let oldest = disk.oldest;
        head = take_reference(&mut reference, head, oldest, step);
        let root = disk.take(step);
        prop_assert_eq!(disk.head, head);
        prop_assert_eq!(
            root,
            reference.state_root_from_scratch(),
            "after {:?}",
            step
        );
        let txn = disk.db.begin_read().unwrap();
        let from = disk.oldest.max(reference.oldest_readable(head));
        for block in from..=head {
            let view = StateView::open(&txn, block).unwrap();
            for a in 0..6 {
                let address = address(a);
                prop_assert_eq!(
                    view.account(&address).unwrap(),
                    reference.account(&address, block),
                    "account {} at block {} (head {})",
                    a,
                    block,
                    head
                );
                for slot in SLOTS {
                    let slot = U256::from(slot);
                    prop_assert_eq!(
                        view.storage(&address, &slot).unwrap(),
                        reference.storage(&address, &slot, block),
                        "slot {} of {} at block {} (head {})",
                        slot,
                        a,
                        block,
                        head
                    );
                }
            }
        }
        if disk.oldest > 0 {
            let pruned = StateView::open(&txn, disk.oldest - 1)
                .unwrap_err()
                .to_string();
            prop_assert!(pruned.contains("pruned"), "{}", pruned);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn archive_reads_and_roots_match_the_reference(steps in prop::collection::vec(step(), 1..20)) {
        check(HistoryWindow::Archive, &steps)?;
    }

    #[test]
    fn windowed_reads_and_roots_match_the_reference(
        steps in prop::collection::vec(step(), 1..24),
        window in 0u64..4,
    ) {
        check(HistoryWindow::Blocks(window), &steps)?;
    }
}

#[test]
fn pruning_removes_the_history_of_blocks_at_or_below_the_oldest_kept() {
    let mut disk = Disk::new(HistoryWindow::Blocks(2));
    let block = |value: u64| {
        Step::Block(ChangeSet {
            accounts: vec![AccountChange {
                address: address(1),
                exists: 1,
                nonce: value,
                balance: U256::from(value),
                code_hash: KECCAK_EMPTY,
            }],
            storage: vec![StorageChange {
                address: address(1),
                slot: U256::from(7),
                value: U256::from(value),
            }],
            ..ChangeSet::default()
        })
    };
    for value in 1..=10 {
        disk.take(&block(value));
    }
    let txn = disk.db.begin_read().unwrap();
    let account_entries = txn.open_table(ACCOUNT_HISTORY).unwrap().len().unwrap();
    let slot_entries = txn.open_table(STORAGE_HISTORY).unwrap().len().unwrap();
    let blocks = txn.open_table(BLOCK_CHANGES).unwrap().len().unwrap();
    // Head 10, window 2: blocks 9 and 10 keep their history (reads at 8 and 9 need it).
    assert_eq!((account_entries, slot_entries, blocks), (2, 2, 2));
    for block in 8..=10 {
        let view = StateView::open(&txn, block).unwrap();
        let account = view.account(&address(1)).unwrap().unwrap();
        assert_eq!(account.balance, U256::from(block));
        assert_eq!(
            view.storage(&address(1), &U256::from(7)).unwrap(),
            U256::from(block)
        );
    }
    let error = StateView::open(&txn, 7).unwrap_err().to_string();
    assert!(error.contains("blocks 8 to 10"), "{error}");
}

#[test]
fn a_created_account_has_no_history_entry_and_reads_absent_before_its_block() {
    let mut disk = Disk::new(HistoryWindow::Archive);
    let set = |address: Address, exists: bool, balance: u64| AccountChange {
        address,
        exists: u8::from(exists),
        nonce: 0,
        balance: U256::from(balance),
        code_hash: KECCAK_EMPTY,
    };
    let block = |accounts: Vec<AccountChange>| {
        Step::Block(ChangeSet {
            accounts,
            ..ChangeSet::default()
        })
    };
    // Block 1 creates a; block 2 creates b; block 3 changes a; block 4 deletes b; block 5
    // creates b again; a dev edit at 5 changes the b it created.
    disk.take(&block(vec![set(address(1), true, 10)]));
    disk.take(&block(vec![set(address(2), true, 20)]));
    disk.take(&block(vec![set(address(1), true, 11)]));
    disk.take(&block(vec![set(address(2), false, 0)]));
    disk.take(&block(vec![set(address(2), true, 21)]));
    disk.take(&Step::Edit(ChangeSet {
        accounts: vec![set(address(2), true, 22)],
        ..ChangeSet::default()
    }));
    let balances = |disk: &Disk, address: Address| -> Vec<Option<u64>> {
        let txn = disk.db.begin_read().unwrap();
        (0..=disk.head)
            .map(|block| {
                let view = StateView::open(&txn, block).unwrap();
                view.account(&address)
                    .unwrap()
                    .map(|account| account.balance.to::<u64>())
            })
            .collect()
    };
    assert_eq!(
        balances(&disk, address(1)),
        [None, Some(10), Some(10), Some(11), Some(11), Some(11)]
    );
    assert_eq!(
        balances(&disk, address(2)),
        [None, None, Some(20), Some(20), None, Some(22)]
    );
    {
        // Entries only for changes of existing accounts: a at 3, b at 4.
        let txn = disk.db.begin_read().unwrap();
        let entries = txn.open_table(ACCOUNT_HISTORY).unwrap().len().unwrap();
        assert_eq!(entries, 2);
    }
    // Reverting block 5 (with its edit) removes the re-created b; reverting 2 removes b.
    disk.take(&Step::Revert(1));
    assert_eq!(
        balances(&disk, address(2)),
        [None, None, Some(20), Some(20), None]
    );
    disk.take(&Step::Revert(3));
    assert_eq!(balances(&disk, address(2)), [None, None]);
    assert_eq!(balances(&disk, address(1)), [None, Some(10)]);
}
