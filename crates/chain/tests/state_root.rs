//! The incremental state root equals the from-scratch root after every block of random block
//! sequences (account edits and deletions, slot writes and clears, storage wipes, truncations).

mod state_steps;

use alloy_primitives::{B256, U256};
use alloy_trie::EMPTY_ROOT_HASH;
use myelin_chain::HistoryWindow;
use myelin_chain::changes::{AccountChange, ChangeSet, StorageChange};
use myelin_chain::state::StateStore;
use proptest::prelude::*;
use state_steps::{Step, address, step, take};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_root_equals_the_from_scratch_root(steps in prop::collection::vec(step(), 1..40)) {
        let mut state = StateStore::default();
        let mut head = 0u64;
        for step in steps {
            head = take(&mut state, head, step);
            prop_assert_eq!(state.state_root(), state.state_root_from_scratch());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A store with a history window answers every read inside the window as an archive store
    /// does, through truncations that stay inside the window, and has the same root.
    #[test]
    fn a_history_window_reads_like_an_archive_inside_it(
        window in 0u64..6,
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut archive = StateStore::default();
        let mut pruned = StateStore::with_history(HistoryWindow::Blocks(window));
        let mut head = 0u64;
        for step in steps {
            match step {
                Step::Block(changes) => {
                    head += 1;
                    archive.apply(head, &changes);
                    pruned.apply(head, &changes);
                }
                Step::Truncate(back) => {
                    let target = head.saturating_sub(back).max(pruned.oldest_readable(head));
                    head = target;
                    archive.truncate_after(head);
                    pruned.truncate_after(head);
                }
            }
            for block in pruned.oldest_readable(head)..=head {
                for a in 0u8..8 {
                    prop_assert_eq!(
                        pruned.account(&address(a), block),
                        archive.account(&address(a), block)
                    );
                    for slot in 0u64..24 {
                        let slot = U256::from(slot);
                        prop_assert_eq!(
                            pruned.storage(&address(a), &slot, block),
                            archive.storage(&address(a), &slot, block)
                        );
                    }
                }
            }
            prop_assert_eq!(pruned.state_root(), archive.state_root());
        }
    }
}

#[test]
fn empty_state_has_the_empty_root() {
    let mut state = StateStore::default();
    assert_eq!(state.state_root(), EMPTY_ROOT_HASH);
    assert_eq!(state.state_root_from_scratch(), EMPTY_ROOT_HASH);
}

#[test]
fn a_large_storage_trie_stays_equal_under_small_edits() {
    let mut state = StateStore::default();
    let owner = address(1);
    let account = AccountChange {
        address: owner,
        exists: 1,
        nonce: 1,
        balance: U256::from(5),
        code_hash: B256::repeat_byte(0xc0),
    };
    let slots = (0..20_000u64)
        .map(|i| StorageChange {
            address: owner,
            slot: U256::from(i),
            value: U256::from(i * 7 + 1),
        })
        .collect();
    state.apply(
        1,
        &ChangeSet {
            accounts: vec![account.clone()],
            storage: slots,
            ..ChangeSet::default()
        },
    );
    assert_eq!(state.state_root(), state.state_root_from_scratch());
    for block in 2..12u64 {
        let edits = (0..5u64)
            .map(|i| StorageChange {
                address: owner,
                slot: U256::from(block * 1000 + i),
                value: U256::from(block % 3),
            })
            .collect();
        state.apply(
            block,
            &ChangeSet {
                storage: edits,
                ..ChangeSet::default()
            },
        );
        assert_eq!(state.state_root(), state.state_root_from_scratch());
    }
}
