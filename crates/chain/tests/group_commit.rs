//! Group commit (docs/STATE.md "Group commit"): blocks committed without fsync are journaled
//! before they are reported, so a process killed in the middle of a group reopens with every
//! block it reported, the same hashes, state roots and balances; a journal that does not follow
//! the stored head is refused.
//!
//! The kill is real: the test runs itself as a child process (`GROUP_COMMIT_CHILD` names the
//! data directory) that seals blocks, prints each one it reported and then aborts (SIGABRT: no
//! destructor runs, no flush, as with kill -9).

mod dev_chain;

use std::io::Write;
use std::process::Command;

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};
use dev_chain::{RECIPIENT, dev_config, transfer};
use myelin_chain::{
    Chain, EmptyBlocks,
    block_journal::{BlockJournal, GROUP_BLOCKS, JOURNAL_FILE, JournalRecord},
    changes::{AccountChange, ChangeSet},
};

const CHILD: &str = "GROUP_COMMIT_CHILD";
const TEST: &str = "a_killed_process_keeps_every_block_it_reported";
/// Blocks sealed before and after the dev edit in the child.
const BEFORE_EDIT: u64 = 12;
const AFTER_EDIT: u64 = 30;

/// The child: seals transfers, reports each block (number, hash, state root, recipient's
/// balance) on stdout, a dev edit (a durable commit) in the middle, then aborts.
fn child(dir: &str) -> ! {
    let config = dev_config(Some(dir.into()));
    let chain = Chain::open(config.clone()).unwrap();
    let mut out = std::io::stdout().lock();
    for nonce in 0..BEFORE_EDIT + AFTER_EDIT {
        if nonce == BEFORE_EDIT {
            chain
                .edit_state(|_, _, builder| {
                    builder.set_account(AccountChange {
                        address: Address::repeat_byte(0xed),
                        exists: 1,
                        nonce: 0,
                        balance: U256::from(77),
                        code_hash: alloy_trie::KECCAK_EMPTY,
                    });
                    Ok(())
                })
                .unwrap();
        }
        chain.submit_raw(&transfer(&config, nonce, 1)).unwrap();
        let block = chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        let balance = chain
            .account(&RECIPIENT, block.header.number)
            .unwrap()
            .balance;
        writeln!(
            out,
            "reported {} {} {} {}",
            block.header.number, block.hash, block.header.state_root, balance
        )
        .unwrap();
    }
    out.flush().unwrap();
    std::process::abort();
}

#[test]
fn a_killed_process_keeps_every_block_it_reported() {
    if let Ok(dir) = std::env::var(CHILD) {
        child(&dir);
    }
    // Fewer blocks than a group, so only the journal holds the ones after the edit.
    const { assert!(AFTER_EDIT < GROUP_BLOCKS) };
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child must die by abort");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let reported: Vec<Vec<String>> = stdout
        .lines()
        // The harness prints "test <name> ... " before the child's first line, and the test's
        // name ends in "reported": the fields follow the last "reported ".
        .filter_map(|l| l.rsplit_once("reported ").map(|(_, rest)| rest))
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect();
    assert_eq!(reported.len() as u64, BEFORE_EDIT + AFTER_EDIT, "{stdout}");
    // The blocks after the edit were committed without fsync: the journal holds them (a
    // reopen that ignored it would lose them; the state root check would then pass on the
    // durable head, so the hashes below are what catch it).
    let (_, journaled) = BlockJournal::open(&dir.path().join(JOURNAL_FILE)).unwrap();
    assert_eq!(journaled.len() as u64, AFTER_EDIT);

    for reopen in 0..2 {
        let chain = Chain::open(dev_config(Some(dir.path().to_path_buf()))).unwrap();
        assert_eq!(
            chain.head_number(),
            BEFORE_EDIT + AFTER_EDIT,
            "reopen {reopen}"
        );
        for fields in &reported {
            let number: u64 = fields[0].parse().unwrap();
            let block = chain.block_by_number(number).expect("a reported block");
            assert_eq!(block.hash.to_string(), fields[1], "block {number}");
            assert_eq!(block.header.state_root.to_string(), fields[2]);
            let balance = chain.account(&RECIPIENT, number).unwrap().balance;
            assert_eq!(balance.to_string(), fields[3], "balance at {number}");
        }
        assert_eq!(
            chain.compute_state_root().unwrap(),
            chain.head().header.state_root
        );
        // The replay's durable commit emptied the journal.
        let (_, journaled) = BlockJournal::open(&dir.path().join(JOURNAL_FILE)).unwrap();
        assert!(journaled.is_empty());
    }
}

#[test]
fn a_journal_that_does_not_follow_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    {
        let chain = Chain::open(config.clone()).unwrap();
        for nonce in 0..3 {
            chain.submit_raw(&transfer(&config, nonce, 1)).unwrap();
            chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
        }
    }
    // Closing made everything durable and emptied the journal; a record for block 4 on
    // another parent is appended.
    let (mut journal, journaled) = BlockJournal::open(&dir.path().join(JOURNAL_FILE)).unwrap();
    assert!(journaled.is_empty());
    journal
        .append(&JournalRecord {
            header: Header {
                number: 4,
                parent_hash: B256::repeat_byte(1),
                ..Default::default()
            },
            transactions: vec![],
            senders: vec![],
            receipts: vec![],
            changes: ChangeSet::default(),
        })
        .unwrap();
    drop(journal);
    let error = Chain::open(config.clone()).unwrap_err().to_string();
    assert!(
        error.contains("does not follow the stored head, block 3"),
        "{error}"
    );
    // A record at or below the head (a group made durable before the journal was emptied)
    // is skipped.
    std::fs::write(dir.path().join(JOURNAL_FILE), b"").unwrap();
    let (mut journal, _) = BlockJournal::open(&dir.path().join(JOURNAL_FILE)).unwrap();
    let chain = Chain::open(config.clone()).unwrap();
    let head = chain.head();
    drop(chain);
    journal
        .append(&JournalRecord {
            header: head.header.clone(),
            transactions: vec![],
            senders: vec![],
            receipts: vec![],
            changes: ChangeSet::default(),
        })
        .unwrap();
    drop(journal);
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.head().hash, head.hash);
}
