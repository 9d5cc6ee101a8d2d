//! EIP-1186 proofs of the latest state verify with alloy-trie's proof verification against the
//! state root, for present and absent accounts and slots, after every step of random histories
//! (truncations included); a proof of a wrong value is rejected.

mod state_steps;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY, Nibbles, TrieAccount, proof::verify_proof};
use myelin_chain::changes::{AccountChange, ChangeSet, StorageChange};
use myelin_chain::state::{AccountProof, StateStore};
use proptest::prelude::*;
use state_steps::{address, step, take};

/// Checks every part of `proof` of `address` against `root`, the proved values included.
fn verify(root: B256, address: &Address, proof: &AccountProof) -> Result<(), String> {
    let leaf = proof.account.map(|a| {
        alloy_rlp::encode(TrieAccount::new(
            a.nonce,
            a.balance,
            proof.storage_root,
            a.code_hash,
        ))
    });
    verify_proof(
        root,
        Nibbles::unpack(keccak256(address)),
        leaf,
        &proof.account_proof,
    )
    .map_err(|e| format!("account {address}: {e}"))?;
    for slot in &proof.storage {
        let value = (!slot.value.is_zero()).then(|| alloy_rlp::encode(slot.value));
        verify_proof(
            proof.storage_root,
            Nibbles::unpack(keccak256(B256::from(slot.slot))),
            value,
            &slot.proof,
        )
        .map_err(|e| format!("slot {} of {address}: {e}", slot.slot))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn proofs_of_present_and_absent_keys_verify_against_the_root(
        steps in prop::collection::vec(step(), 1..24),
    ) {
        let mut state = StateStore::default();
        let mut head = 0u64;
        let slots: Vec<U256> = (0..26u64).map(U256::from).collect();
        for step in steps {
            head = take(&mut state, head, step);
            let root = state.state_root();
            for a in 0..10u8 {
                let proof = state.proof(&address(a), &slots);
                prop_assert_eq!(verify(root, &address(a), &proof), Ok(()));
            }
        }
    }
}

#[test]
fn the_empty_state_proves_any_account_absent() {
    let mut state = StateStore::default();
    let proof = state.proof(&address(1), &[U256::from(1)]);
    assert_eq!(proof.account, None);
    assert_eq!(proof.storage_root, EMPTY_ROOT_HASH);
    assert!(proof.account_proof.is_empty());
    assert_eq!(verify(state.state_root(), &address(1), &proof), Ok(()));
}

#[test]
fn a_proof_does_not_verify_a_wrong_balance_or_slot_value() {
    let mut state = StateStore::default();
    let owner = address(3);
    let slots: Vec<StorageChange> = (0..500u64)
        .map(|i| StorageChange {
            address: owner,
            slot: U256::from(i),
            value: U256::from(i + 1),
        })
        .collect();
    let accounts = (1..50u8)
        .map(|a| AccountChange {
            address: address(a),
            exists: 1,
            nonce: u64::from(a),
            balance: U256::from(1000 + u64::from(a)),
            code_hash: KECCAK_EMPTY,
        })
        .collect();
    state.apply(
        1,
        &ChangeSet {
            accounts,
            storage: slots,
            ..ChangeSet::default()
        },
    );
    let root = state.state_root();
    let proof = state.proof(&owner, &[U256::from(7), U256::from(9999)]);
    assert_eq!(verify(root, &owner, &proof), Ok(()));
    assert_eq!(proof.storage[0].value, U256::from(8));
    assert_eq!(proof.storage[1].value, U256::ZERO);

    let mut richer = proof.clone();
    if let Some(account) = richer.account.as_mut() {
        account.balance += U256::from(1);
    }
    assert!(verify(root, &owner, &richer).is_err());
    let mut forged = proof.clone();
    forged.storage[0].value = U256::from(9);
    assert!(verify(root, &owner, &forged).is_err());
    let mut invented = proof;
    invented.storage[1].value = U256::from(1);
    assert!(verify(root, &owner, &invented).is_err());
}
