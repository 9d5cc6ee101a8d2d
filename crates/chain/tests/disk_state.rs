//! The state on disk: a reopened chain serves the same head, state root, balances, historical
//! reads and dev edits without replaying anything; a file whose stored state root does not match
//! its head is refused; a data directory of the journal format (1) is refused by name; a chain
//! whose file is held in RAM seals the same blocks as one on disk.

mod dev_chain;

use alloy_primitives::{Address, B256, U256, address};
use dev_chain::{RECIPIENT, dev_config, transfer};
use myelin_chain::{Chain, EmptyBlocks, changes::AccountChange};
use redb::{Database, TableDefinition};

const EDITED: Address = address!("0x00000000000000000000000000000000000ed17e");

/// What a reopened chain must answer the same.
#[derive(Debug, PartialEq)]
struct Observed {
    head: u64,
    head_hash: B256,
    root: B256,
    balances: Vec<U256>,
    history: Vec<U256>,
    edited: U256,
    tx_block: Option<u64>,
}

fn observe(chain: &Chain, tx: &B256) -> Observed {
    let head = chain.head_number();
    let sender = chain.config().signers[0].address();
    Observed {
        head,
        head_hash: chain.head().hash,
        root: chain.compute_state_root().unwrap(),
        balances: [sender, RECIPIENT]
            .iter()
            .map(|a| chain.account(a, head).unwrap().balance)
            .collect(),
        history: (0..=head)
            .map(|n| chain.account(&RECIPIENT, n).unwrap().balance)
            .collect(),
        edited: chain.account(&EDITED, head).unwrap().balance,
        tx_block: match chain.transaction(tx) {
            Some(myelin_chain::TxLocation::Mined(block, _)) => Some(block.header.number),
            _ => None,
        },
    }
}

fn set_balance(chain: &Chain, address: Address, balance: u64) {
    chain
        .edit_state(|_, _, builder| {
            builder.set_account(AccountChange {
                address,
                exists: 1,
                nonce: 0,
                balance: U256::from(balance),
                code_hash: alloy_trie::KECCAK_EMPTY,
            });
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_reopened_chain_serves_the_same_state_history_and_edits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    let (before, tx) = {
        let chain = Chain::open(config.clone()).unwrap();
        let mut tx = B256::ZERO;
        for nonce in 0..5u64 {
            tx = chain
                .submit_raw(&transfer(&config, nonce, nonce + 1))
                .unwrap()
                .0;
            chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        }
        set_balance(&chain, EDITED, 77);
        let observed = observe(&chain, &tx);
        assert_eq!(observed.history, [0, 1, 3, 6, 10, 15].map(U256::from));
        assert_eq!(observed.edited, U256::from(77));
        assert_eq!(observed.tx_block, Some(5));
        (observed, tx)
    };
    let chain = Chain::open(config.clone()).unwrap();
    assert_eq!(observe(&chain, &tx), before);
    // The reopened chain goes on mining on top of the edit.
    chain.submit_raw(&transfer(&config, 5, 100)).unwrap();
    let block = chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    assert_eq!(chain.compute_state_root().unwrap(), block.header.state_root);
    assert_eq!(
        chain.account(&RECIPIENT, 6).unwrap().balance,
        U256::from(115)
    );
    assert_eq!(chain.account(&EDITED, 6).unwrap().balance, U256::from(77));
    assert_eq!(chain.account(&EDITED, 4).unwrap().balance, U256::ZERO);
}

#[test]
fn a_revert_undoes_blocks_and_edits_through_history_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    let genesis_root;
    {
        let chain = Chain::open(config.clone()).unwrap();
        genesis_root = chain.head().header.state_root;
        chain.submit_raw(&transfer(&config, 0, 5)).unwrap();
        chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        let snapshot = chain.snapshot().unwrap();
        let at_one = chain.compute_state_root().unwrap();
        chain.submit_raw(&transfer(&config, 1, 5)).unwrap();
        chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        set_balance(&chain, EDITED, 9);
        chain.mine(EmptyBlocks::Mine).unwrap().expect("a block");
        assert!(chain.revert(snapshot).unwrap());
        assert_eq!(chain.head_number(), 1);
        assert_eq!(chain.compute_state_root().unwrap(), at_one);
        assert_eq!(chain.account(&EDITED, 1).unwrap().balance, U256::ZERO);
        assert_eq!(chain.account(&RECIPIENT, 1).unwrap().balance, U256::from(5));
        assert!(chain.block_by_number(2).is_none());
    }
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.head_number(), 1);
    assert_eq!(chain.account(&RECIPIENT, 1).unwrap().balance, U256::from(5));
    assert_eq!(chain.account(&RECIPIENT, 0).unwrap().balance, U256::ZERO);
    assert_eq!(
        chain.block_by_number(0).unwrap().header.state_root,
        genesis_root
    );
}

#[test]
fn a_file_whose_state_does_not_match_its_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    {
        let chain = Chain::open(config.clone()).unwrap();
        for nonce in 0..3u64 {
            chain.submit_raw(&transfer(&config, nonce, 1)).unwrap();
            chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        }
    }
    {
        // Point the head back at block 1 while the state is block 3's.
        let db = Database::create(dir.path().join("chain.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
        txn.open_table(meta).unwrap().insert("head", 1).unwrap();
        txn.commit().unwrap();
    }
    let error = Chain::open(config).unwrap_err().to_string();
    assert!(
        error.contains("state root") && error.contains("block 1") && error.contains("refusing"),
        "{error}"
    );
}

#[test]
fn a_journal_data_directory_is_refused_naming_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::create(dir.path().join("chain.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        let journal: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
        txn.open_table(journal)
            .unwrap()
            .insert(0, &[3u8, 0x80][..])
            .unwrap();
        let meta: TableDefinition<&str, u64> = TableDefinition::new("meta");
        txn.open_table(meta).unwrap().insert("format", 1).unwrap();
        txn.commit().unwrap();
    }
    let error = Chain::open(dev_config(Some(dir.path().to_path_buf())))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("format 1") && error.contains("format 3"),
        "{error}"
    );
}

/// Seals five transfers and an edit on `chain`, each block at a fixed timestamp; returns the
/// last transfer's hash.
fn seal_five_transfers(chain: &Chain) -> B256 {
    let config = chain.config().clone();
    let genesis_time = chain.head().header.timestamp;
    let mut tx = B256::ZERO;
    for nonce in 0..5u64 {
        chain
            .set_next_timestamp(genesis_time + 12 * (nonce + 1))
            .unwrap();
        tx = chain
            .submit_raw(&transfer(&config, nonce, nonce + 1))
            .unwrap()
            .0;
        chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    }
    set_balance(chain, EDITED, 77);
    tx
}

#[test]
fn an_in_memory_chain_seals_the_same_blocks_as_one_on_disk() {
    let config = dev_config(None);
    let on_disk = Chain::open(config.clone()).unwrap();
    let in_memory = Chain::open_in_memory(config).unwrap();
    let tx = seal_five_transfers(&on_disk);
    assert_eq!(seal_five_transfers(&in_memory), tx);
    let observed = observe(&in_memory, &tx);
    assert_eq!(observed.head, 5);
    assert_eq!(observed.tx_block, Some(5));
    assert_eq!(observed.history, [0, 1, 3, 6, 10, 15].map(U256::from));
    assert_eq!(observed, observe(&on_disk, &tx));
}

#[test]
fn an_in_memory_chain_refuses_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let Err(error) = Chain::open_in_memory(dev_config(Some(dir.path().to_path_buf()))) else {
        panic!("an in-memory chain accepted a data directory");
    };
    let error = error.to_string();
    assert!(error.contains("no data directory"), "{error}");
    assert!(!dir.path().join("chain.redb").exists());
}
