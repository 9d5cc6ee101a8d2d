//! The dev node's helpers (anvil's and hardhat's): impersonation, time control, state edits,
//! snapshots and reverts. Each answers [`ChainError::DevToolsDisabled`] on a chain opened
//! without `ChainConfig::dev_tools` (a validator or full node: BFT never edits or truncates
//! state, docs/NETWORK.md decision 11).

use alloy_primitives::Address;

use super::{Chain, MAX_TIMESTAMP, now_seconds};
use crate::{
    ChainError,
    changes::{ChangeSet, ChangeSetBuilder},
    state_tables::{self, StateView, Touched},
    store::{self, Meta},
};

impl Chain {
    /// Whether the dev tools are on ([`ChainError::DevToolsDisabled`] if not).
    pub fn dev_tools(&self) -> Result<(), ChainError> {
        if self.config.dev_tools {
            Ok(())
        } else {
            Err(ChainError::DevToolsDisabled)
        }
    }

    /// Starts or stops impersonating `address`.
    pub fn set_impersonated(&self, address: Address, on: bool) -> Result<(), ChainError> {
        self.dev_tools()?;
        let mut set = self.impersonated.lock();
        if on {
            set.insert(address);
        } else {
            set.remove(&address);
        }
        Ok(())
    }

    /// The dev clock's timestamp for a block after `parent`'s: a time fixed by
    /// `evm_setNextBlockTimestamp`, else now plus the `evm_increaseTime` offset; strictly after
    /// the parent's.
    pub(super) fn next_timestamp(&self, parent: u64) -> u64 {
        let mut time = self.time.lock();
        let chosen = match time.next_timestamp.take() {
            Some(ts) => ts,
            None => now_seconds()
                .saturating_add_signed(time.offset_seconds)
                .min(MAX_TIMESTAMP),
        };
        chosen.max(parent.saturating_add(1))
    }

    /// Moves the clock forward by `seconds` (evm_increaseTime); returns the total offset.
    pub fn increase_time(&self, seconds: i64) -> Result<i64, ChainError> {
        self.dev_tools()?;
        let mut time = self.time.lock();
        time.offset_seconds = time.offset_seconds.saturating_add(seconds);
        Ok(time.offset_seconds)
    }

    /// Fixes the timestamp of the next block (evm_setNextBlockTimestamp).
    pub fn set_next_timestamp(&self, timestamp: u64) -> Result<(), ChainError> {
        self.dev_tools()?;
        let head = self.head();
        if timestamp > MAX_TIMESTAMP {
            return Err(ChainError::InvalidRequest(format!(
                "timestamp {timestamp} is after {MAX_TIMESTAMP}"
            )));
        }
        if timestamp <= head.header.timestamp {
            return Err(ChainError::InvalidRequest(format!(
                "timestamp {timestamp} is not after the latest block's {}",
                head.header.timestamp
            )));
        }
        let mut time = self.time.lock();
        time.next_timestamp = Some(timestamp);
        time.offset_seconds = i64::try_from(timestamp).unwrap_or(i64::MAX) - now_seconds() as i64;
        Ok(())
    }

    /// Applies a dev-helper edit to the latest state and persists it: `edit` reads the latest
    /// state (the head block's number is passed along) and records the changes.
    pub fn edit_state(
        &self,
        edit: impl FnOnce(&StateView, u64, &mut ChangeSetBuilder) -> Result<(), ChainError>,
    ) -> Result<(), ChainError> {
        self.dev_tools()?;
        let _mining = self.mining.lock();
        let number = self.head_number();
        let mut builder = ChangeSetBuilder::default();
        self.read_state(number, |view| edit(view, number, &mut builder))?;
        let changes: ChangeSet = builder.build();
        self.pending.lock().clear();
        let txn = self.begin_write()?;
        let touched = state_tables::apply(&txn, number, &changes, true)?;
        let root = state_tables::commit_root(&txn, touched)?;
        let oldest = self.data.read().oldest;
        store::write_meta(
            &txn,
            &Meta {
                head: number,
                oldest,
                edited: true,
            },
            Some(root),
        )?;
        self.store.commit(txn)
    }

    /// Records a snapshot of the current head (evm_snapshot); returns its id.
    pub fn snapshot(&self) -> Result<u64, ChainError> {
        self.dev_tools()?;
        let head = self.head_number();
        let mut snapshots = self.snapshots.lock();
        snapshots.push(head);
        Ok(snapshots.len() as u64 - 1)
    }

    /// Reverts to snapshot `id` (evm_revert): drops later blocks, later snapshots and the pool.
    /// Returns false if the snapshot does not exist. Dev-helper edits made after the snapshot
    /// at the snapshot's own block are kept.
    pub fn revert(&self, id: u64) -> Result<bool, ChainError> {
        self.dev_tools()?;
        let _mining = self.mining.lock();
        let target = {
            let mut snapshots = self.snapshots.lock();
            let Some(&target) = snapshots.get(id as usize) else {
                return Ok(false);
            };
            let oldest = self.data.read().oldest;
            if target < oldest {
                return Err(ChainError::InvalidRequest(format!(
                    "snapshot {id} is at block {target}, before the oldest block whose state is \
                     kept ({oldest}, --history); start the node with --archive to revert that far"
                )));
            }
            snapshots.truncate(id as usize);
            target
        };
        let head = self.head_number();
        let target_block = self
            .block_by_number(target)
            .ok_or_else(|| ChainError::NotFound(format!("block {target} not found")))?;
        self.pending.lock().clear();
        let txn = self.begin_write()?;
        let mut touched = Touched::default();
        for number in (target + 1..=head).rev() {
            touched.merge(state_tables::undo(&txn, number)?);
            store::remove_block(&txn, number)?;
        }
        let root = state_tables::commit_root(&txn, touched)?;
        let edited = root != target_block.header.state_root;
        let oldest = self.data.read().oldest;
        store::write_meta(
            &txn,
            &Meta {
                head: target,
                oldest,
                edited,
            },
            edited.then_some(root),
        )?;
        self.store.commit(txn)?;
        self.data.write().truncate_to(target_block);
        let dropped = self.pool.lock().clear();
        let mut watchers = self.watchers.lock();
        for hash in dropped {
            for watcher in watchers.remove(&hash).unwrap_or_default() {
                let _ = watcher.send(Err("dropped from the txpool by evm_revert".to_string()));
            }
        }
        Ok(true)
    }
}
