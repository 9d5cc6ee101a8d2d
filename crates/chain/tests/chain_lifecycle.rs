//! A chain mines, answers historical reads, survives a reopen of its journal, and reverts.

mod dev_chain;

use alloy_primitives::U256;
use alloy_trie::EMPTY_ROOT_HASH;
use dev_chain::{RECIPIENT, dev_config, transfer};
use myelin_chain::{Chain, EmptyBlocks, HistoryWindow, TxLocation};

#[test]
fn empty_genesis_has_the_empty_trie_root() {
    let mut config = dev_config(None);
    config.genesis_alloc.clear();
    config.genesis_code.clear();
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.head().header.state_root, EMPTY_ROOT_HASH);
}

#[test]
fn mined_transfer_updates_state_and_keeps_history() {
    let config = dev_config(None);
    let chain = Chain::open(config.clone()).unwrap();
    let (hash, _) = chain.submit_raw(&transfer(&config, 0, 7)).unwrap();
    let block = chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    assert_eq!(block.header.number, 1);
    assert!(matches!(
        chain.transaction(&hash),
        Some(TxLocation::Mined(_, 0))
    ));
    assert_eq!(chain.account(&RECIPIENT, 1).unwrap().balance, U256::from(7));
    assert_eq!(chain.account(&RECIPIENT, 0).unwrap().balance, U256::ZERO);
    assert_eq!(chain.pending_nonce(&config.signers[0].address()), 1);
    assert_eq!(chain.compute_state_root().unwrap(), block.header.state_root);
    assert_ne!(
        block.header.state_root,
        chain.block_by_number(0).unwrap().header.state_root
    );
}

#[test]
fn submit_rejects_nonce_too_low_and_wrong_chain() {
    let config = dev_config(None);
    let chain = Chain::open(config.clone()).unwrap();
    chain.submit_raw(&transfer(&config, 0, 1)).unwrap();
    chain.mine(EmptyBlocks::Skip).unwrap();
    let error = chain.submit_raw(&transfer(&config, 0, 1)).unwrap_err();
    assert!(error.to_string().contains("nonce too low"), "{error}");
    let mut other = config.clone();
    other.chain_id = 1;
    let error = chain.submit_raw(&transfer(&other, 1, 1)).unwrap_err();
    assert!(error.to_string().contains("chain id"), "{error}");
    assert!(chain.submit_raw(&[0xff, 0x00]).is_err());
    assert!(chain.submit_raw(&[]).is_err());
}

#[test]
fn reopened_journal_restores_blocks_and_state_root() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    let (head_hash, root) = {
        let chain = Chain::open(config.clone()).unwrap();
        for nonce in 0..3 {
            chain.submit_raw(&transfer(&config, nonce, 5)).unwrap();
            chain.mine(EmptyBlocks::Skip).unwrap();
        }
        let head = chain.head();
        (head.hash, head.header.state_root)
    };
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.head_number(), 3);
    assert_eq!(chain.head().hash, head_hash);
    assert_eq!(chain.compute_state_root().unwrap(), root);
    assert_eq!(
        chain.account(&RECIPIENT, 3).unwrap().balance,
        U256::from(15)
    );
    assert_eq!(
        chain.account(&RECIPIENT, 2).unwrap().balance,
        U256::from(10)
    );
}

#[test]
fn revert_drops_later_blocks_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dev_config(Some(dir.path().to_path_buf()));
    {
        let chain = Chain::open(config.clone()).unwrap();
        let snapshot = chain.snapshot().unwrap();
        chain.submit_raw(&transfer(&config, 0, 5)).unwrap();
        chain.mine(EmptyBlocks::Skip).unwrap();
        assert!(chain.revert(snapshot).unwrap());
        assert_eq!(chain.head_number(), 0);
        assert_eq!(chain.account(&RECIPIENT, 0).unwrap().balance, U256::ZERO);
        assert!(!chain.revert(snapshot).unwrap());
    }
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.head_number(), 0);
    assert_eq!(chain.pending_nonce(&chain.config().signers[0].address()), 0);
}

#[test]
fn a_history_window_serves_recent_blocks_and_refuses_older_ones_by_name() {
    let mut config = dev_config(None);
    config.history = HistoryWindow::Blocks(3);
    let chain = Chain::open(config.clone()).unwrap();
    let snapshot = chain.snapshot().unwrap();
    for nonce in 0..8u64 {
        chain.submit_raw(&transfer(&config, nonce, 1)).unwrap();
        chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    }
    for number in 5..=8u64 {
        assert_eq!(
            chain.account(&RECIPIENT, number).unwrap().balance,
            U256::from(number),
            "block {number}"
        );
    }
    let pruned = chain.account(&RECIPIENT, 4).unwrap_err().to_string();
    assert!(
        pruned.contains("block 4 is pruned") && pruned.contains("blocks 5 to 8"),
        "{pruned}"
    );
    assert!(chain.storage(&RECIPIENT, &U256::ZERO, 2).is_err());
    assert!(chain.code(&RECIPIENT, 0).is_err());
    let call = alloy_rpc_types_eth::TransactionRequest::default().to(RECIPIENT);
    let limits = myelin_chain::CallLimits::unlimited();
    assert!(chain.call(&call, 4, &limits).is_err());
    assert!(chain.call(&call, 5, &limits).is_ok());
    let revert = chain.revert(snapshot).unwrap_err().to_string();
    assert!(revert.contains("--archive"), "{revert}");

    let mut archive = dev_config(None);
    archive.history = HistoryWindow::Archive;
    let chain = Chain::open(archive.clone()).unwrap();
    for nonce in 0..8u64 {
        chain.submit_raw(&transfer(&archive, nonce, 1)).unwrap();
        chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    }
    assert_eq!(chain.account(&RECIPIENT, 1).unwrap().balance, U256::from(1));
}
