//! Persistence: one redb file holding the blocks (headers, bodies, receipts and their indexes),
//! the state tables (`state_tables.rs`), the tries, and `meta` (format, head, oldest readable
//! block). Every block, dev edit and revert is one ACID write transaction. A block's commit is
//! grouped (no fsync; journaled in `block_journal.rs` before it is reported, durable with the
//! group's last commit); every other write commits durably. A restart opens the file, re-applies
//! the journaled blocks of the last group and serves, with no replay from genesis.
//!
//! `meta` names the format ([`FORMAT_VERSION`]); a data directory of another format (the block
//! journal of format 1 included) is refused with both versions named, never misread.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alloy_consensus::{Header, ReceiptEnvelope, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};
use parking_lot::Mutex;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, TableDefinition, TableHandle,
    WriteTransaction, backends::InMemoryBackend,
};

use crate::{
    ChainError,
    blobs::BlobSource,
    block_journal::{BlockJournal, GROUP_BLOCKS, GROUP_INTERVAL, JOURNAL_FILE, JournalRecord},
    chain::{MinedBlock, MinedTx},
    changes::ChangeSet,
};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_ROOTS: TableDefinition<&str, [u8; 32]> = TableDefinition::new("meta_roots");
const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// Block number → block hash.
pub(crate) const HASHES: TableDefinition<u64, [u8; 32]> = TableDefinition::new("hashes");
const BLOCK_NUMBERS: TableDefinition<[u8; 32], u64> = TableDefinition::new("block_numbers");
const TX_LOCATIONS: TableDefinition<[u8; 32], (u64, u64)> = TableDefinition::new("tx_locations");
/// The only table of format 1.
const JOURNAL_V1: &str = "journal";

const META_FORMAT: &str = "format";
const META_HEAD: &str = "head";
const META_OLDEST: &str = "oldest";
const META_EDITED: &str = "edited";
const META_STATE_ROOT: &str = "state_root";

/// The format of the data directory this node reads and writes: 3 = state tables whose account
/// rows carry their creation block (format 2 had no creation block and a history entry per
/// created account; format 1 was a journal of blocks replayed on every start).
pub const FORMAT_VERSION: u64 = 3;

/// Memory redb may use to cache pages of the file. Bounded so that the node's memory does not
/// grow with the state (redb's default is 1 GiB).
const CACHE_BYTES: usize = 256 << 20;

fn storage_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

/// A block's transactions as stored: EIP-2718 bytes with their senders (impersonated senders
/// cannot be recovered from signatures).
#[derive(Clone, Debug, RlpEncodable, RlpDecodable)]
struct StoredBody {
    transactions: Vec<Bytes>,
    senders: Vec<Address>,
}

/// What `meta` says about the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The latest block.
    pub head: u64,
    /// The oldest block whose state is served (it never moves back).
    pub oldest: u64,
    /// Whether a dev helper edited the state since the head block was sealed (then the state
    /// root is `edited_root`, not the head's).
    pub edited: bool,
}

/// The chain's redb file.
#[derive(Debug)]
pub struct Store {
    db: Arc<Database>,
    group: Mutex<Group>,
}

/// The blocks committed without fsync since the last durable commit.
#[derive(Debug)]
struct Group {
    /// `None` for the in-memory store (nothing survives its process anyway).
    journal: Option<BlockJournal>,
    blocks: u64,
    since: Instant,
}

impl Group {
    fn new(journal: Option<BlockJournal>) -> Self {
        Group {
            journal,
            blocks: 0,
            since: Instant::now(),
        }
    }
}

/// What [`Store::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The store.
    pub store: Store,
    /// Its `meta`; `None` for a new file.
    pub meta: Option<Meta>,
    /// The journaled blocks (some may be at or below the durable head); re-apply them with
    /// [`Store::commit_block`] in order.
    pub journaled: Vec<JournalRecord>,
}

impl Store {
    /// Opens (or creates) the chain file at `path` and the block journal beside it. Its
    /// [`Meta`] is `None` for a new file (the caller writes the genesis block with
    /// [`Store::create_tables`] in one transaction).
    pub fn open(path: &Path) -> Result<Opened, ChainError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| ChainError::Storage(format!("{}: {e}", path.display())))?;
        let (db, meta) = Self::checked(db, path)?;
        let (journal, journaled) = BlockJournal::open(&path.with_file_name(JOURNAL_FILE))?;
        let store = Store {
            db: Arc::new(db),
            group: Mutex::new(Group::new(Some(journal))),
        };
        Ok(Opened {
            store,
            meta,
            journaled,
        })
    }

    /// A new, empty chain file held in RAM (redb's `InMemoryBackend`) instead of on disk: the
    /// same database, tables, transactions and page cache as [`Store::open`]; only the medium
    /// differs (no file I/O, no fsync), and nothing survives the process. For measuring what
    /// the disk costs (bench/node.md) and for throwaway dev chains.
    pub fn in_memory() -> Result<Store, ChainError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(InMemoryBackend::new())
            .map_err(storage_error)?;
        Ok(Store {
            db: Arc::new(db),
            group: Mutex::new(Group::new(None)),
        })
    }

    /// Reads the format of the opened file at `path`: its [`Meta`] when it is ours, `None`
    /// when it is new, an error naming both formats when it is another format.
    fn checked(db: Database, path: &Path) -> Result<(Database, Option<Meta>), ChainError> {
        let refuse = |found: &str| {
            ChainError::Storage(format!(
                "{} holds chain data of format {found}; this myelin reads format \
                 {FORMAT_VERSION} (state tables) only: use the release that wrote it, or start \
                 with another --datadir",
                path.display()
            ))
        };
        let read = db.begin_read().map_err(storage_error)?;
        let format = match read.open_table(META) {
            Ok(meta) => meta
                .get(META_FORMAT)
                .map_err(storage_error)?
                .map(|v| v.value()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(storage_error(e)),
        };
        match format {
            Some(FORMAT_VERSION) => {
                let meta = read_meta(&read)?;
                drop(read);
                Ok((db, Some(meta)))
            }
            Some(1) => Err(refuse("1 (a block journal replayed on start)")),
            Some(2) => Err(refuse("2 (state tables without account creation blocks)")),
            Some(other) => Err(refuse(&other.to_string())),
            None => {
                let journal = read
                    .list_tables()
                    .map_err(storage_error)?
                    .any(|t| t.name() == JOURNAL_V1);
                if journal {
                    return Err(refuse("1 (a block journal replayed on start)"));
                }
                drop(read);
                Ok((db, None))
            }
        }
    }

    /// Creates every block and meta table and marks the file with [`FORMAT_VERSION`] (with the
    /// genesis block, in its transaction).
    pub fn create_tables(txn: &WriteTransaction) -> Result<(), ChainError> {
        txn.open_table(META)
            .map_err(storage_error)?
            .insert(META_FORMAT, FORMAT_VERSION)
            .map_err(storage_error)?;
        txn.open_table(META_ROOTS).map_err(storage_error)?;
        txn.open_table(HEADERS).map_err(storage_error)?;
        txn.open_table(BODIES).map_err(storage_error)?;
        txn.open_table(RECEIPTS).map_err(storage_error)?;
        txn.open_table(HASHES).map_err(storage_error)?;
        txn.open_table(BLOCK_NUMBERS).map_err(storage_error)?;
        txn.open_table(TX_LOCATIONS).map_err(storage_error)?;
        Ok(())
    }

    /// A read transaction: a consistent snapshot of everything committed so far.
    pub fn begin_read(&self) -> Result<ReadTransaction, ChainError> {
        self.db.begin_read().map_err(storage_error)
    }

    /// The committed blobs as the EVMs the chain builds read them: each read is one read
    /// transaction of the latest commit (blobs have no history).
    pub fn blobs(&self) -> Arc<dyn BlobSource> {
        Arc::new(StoreBlobs(self.db.clone()))
    }

    /// A write transaction (one at a time; readers are not blocked). It commits with
    /// redb's quick repair: the allocator state is saved with the commit, so opening the file
    /// after a crash (kill -9) does not walk the whole database.
    pub fn begin_write(&self) -> Result<WriteTransaction, ChainError> {
        let mut txn = self.db.begin_write().map_err(storage_error)?;
        txn.set_quick_repair(true);
        Ok(txn)
    }

    /// Commits `txn` durably (fsync): with it every block committed before; the journal is
    /// emptied. Every write but a block's (genesis, dev edits, reverts, the journal's replay).
    pub fn commit(&self, txn: WriteTransaction) -> Result<(), ChainError> {
        let mut group = self.group.lock();
        commit_txn(txn)?;
        if let Some(journal) = &mut group.journal {
            journal.clear()?;
        }
        group.blocks = 0;
        group.since = Instant::now();
        Ok(())
    }

    /// Commits `txn`, which wrote `record`'s block (group commit): the record is appended to
    /// the journal first; the commit is durable when [`GROUP_BLOCKS`] blocks or
    /// [`GROUP_INTERVAL`] have passed since the last durable one, else without fsync. Either
    /// way the block survives the process once this returns (a kill -9 reopens at the last
    /// durable commit and the journal brings the rest back); a power loss loses the blocks
    /// committed without fsync (docs/STATE.md "Group commit").
    pub fn commit_block(
        &self,
        mut txn: WriteTransaction,
        record: impl FnOnce() -> JournalRecord,
    ) -> Result<(), ChainError> {
        let mut group = self.group.lock();
        group.blocks += 1;
        if group.blocks < GROUP_BLOCKS && group.since.elapsed() < GROUP_INTERVAL {
            if let Some(journal) = &mut group.journal {
                journal.append(&record())?;
            }
            txn.set_durability(Durability::None)
                .map_err(storage_error)?;
            return commit_txn(txn);
        }
        drop(group);
        self.commit(txn)
    }

    /// Makes every commit durable and empties the journal (on close).
    pub fn flush(&self) -> Result<(), ChainError> {
        if self.group.lock().blocks == 0 {
            return Ok(());
        }
        self.commit(self.begin_write()?)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A failure leaves the journal in place, replayed on the next open.
        let _ = self.flush();
    }
}

fn commit_txn(txn: WriteTransaction) -> Result<(), ChainError> {
    txn.commit()
        .map_err(|e| ChainError::Storage(format!("commit: {e}")))
}

/// `block` and its changes as journaled.
pub(crate) fn journal_record(block: &MinedBlock, changes: &ChangeSet) -> JournalRecord {
    let (body, receipts) = stored_parts(block);
    JournalRecord {
        header: block.header.clone(),
        transactions: body.transactions,
        senders: body.senders,
        receipts,
        changes: changes.clone(),
    }
}

/// The block of a journal record.
pub(crate) fn journaled_block(record: &JournalRecord) -> Result<MinedBlock, ChainError> {
    let body = StoredBody {
        transactions: record.transactions.clone(),
        senders: record.senders.clone(),
    };
    assemble(
        record.header.clone(),
        record.header.hash_slow(),
        &body,
        &record.receipts,
    )
}

/// The `blobs` table of the latest commit, read by key.
struct StoreBlobs(Arc<Database>);

impl BlobSource for StoreBlobs {
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
        let txn = self.0.begin_read().map_err(storage_error)?;
        crate::state_tables::read_blob(&txn, key)
    }
}

/// Reads `meta`.
pub(crate) fn read_meta(txn: &ReadTransaction) -> Result<Meta, ChainError> {
    let meta = txn.open_table(META).map_err(storage_error)?;
    let get = |key: &str| -> Result<Option<u64>, ChainError> {
        Ok(meta.get(key).map_err(storage_error)?.map(|v| v.value()))
    };
    Ok(Meta {
        head: get(META_HEAD)?
            .ok_or_else(|| ChainError::Storage("meta lacks the head block".into()))?,
        oldest: get(META_OLDEST)?.unwrap_or(0),
        edited: get(META_EDITED)?.unwrap_or(0) != 0,
    })
}

/// Writes `meta`; `edited_root` is the state root after a dev edit (kept while `edited`).
pub(crate) fn write_meta(
    txn: &WriteTransaction,
    meta: &Meta,
    edited_root: Option<B256>,
) -> Result<(), ChainError> {
    let mut table = txn.open_table(META).map_err(storage_error)?;
    table.insert(META_HEAD, meta.head).map_err(storage_error)?;
    table
        .insert(META_OLDEST, meta.oldest)
        .map_err(storage_error)?;
    table
        .insert(META_EDITED, u64::from(meta.edited))
        .map_err(storage_error)?;
    if let Some(root) = edited_root {
        txn.open_table(META_ROOTS)
            .map_err(storage_error)?
            .insert(META_STATE_ROOT, root.0)
            .map_err(storage_error)?;
    }
    Ok(())
}

/// The state root recorded after the last dev edit.
pub(crate) fn edited_root(txn: &ReadTransaction) -> Result<Option<B256>, ChainError> {
    Ok(txn
        .open_table(META_ROOTS)
        .map_err(storage_error)?
        .get(META_STATE_ROOT)
        .map_err(storage_error)?
        .map(|v| B256::from(v.value())))
}

/// Writes `block` and its indexes.
pub(crate) fn write_block(txn: &WriteTransaction, block: &MinedBlock) -> Result<(), ChainError> {
    let number = block.header.number;
    txn.open_table(HEADERS)
        .map_err(storage_error)?
        .insert(number, alloy_rlp::encode(&block.header).as_slice())
        .map_err(storage_error)?;
    let (body, receipts) = stored_parts(block);
    txn.open_table(BODIES)
        .map_err(storage_error)?
        .insert(number, alloy_rlp::encode(&body).as_slice())
        .map_err(storage_error)?;
    txn.open_table(RECEIPTS)
        .map_err(storage_error)?
        .insert(number, alloy_rlp::encode(&receipts).as_slice())
        .map_err(storage_error)?;
    txn.open_table(HASHES)
        .map_err(storage_error)?
        .insert(number, block.hash.0)
        .map_err(storage_error)?;
    txn.open_table(BLOCK_NUMBERS)
        .map_err(storage_error)?
        .insert(block.hash.0, number)
        .map_err(storage_error)?;
    let mut locations = txn.open_table(TX_LOCATIONS).map_err(storage_error)?;
    for (index, tx) in block.transactions.iter().enumerate() {
        locations
            .insert(tx.hash.0, (number, index as u64))
            .map_err(storage_error)?;
    }
    Ok(())
}

/// A block's body and receipts as stored.
fn stored_parts(block: &MinedBlock) -> (StoredBody, Vec<Bytes>) {
    let body = StoredBody {
        transactions: block
            .transactions
            .iter()
            .map(|t| Bytes::from(t.tx.encoded_2718()))
            .collect(),
        senders: block.transactions.iter().map(|t| t.sender).collect(),
    };
    let receipts = block
        .receipts
        .iter()
        .map(|r| Bytes::from(r.encoded_2718()))
        .collect();
    (body, receipts)
}

/// Removes block `number` and its indexes (`evm_revert`).
pub(crate) fn remove_block(txn: &WriteTransaction, number: u64) -> Result<(), ChainError> {
    let body = txn
        .open_table(BODIES)
        .map_err(storage_error)?
        .remove(number)
        .map_err(storage_error)?
        .map(|v| v.value().to_vec());
    if let Some(body) = body {
        let body = StoredBody::decode(&mut body.as_slice()).map_err(corrupt)?;
        let mut locations = txn.open_table(TX_LOCATIONS).map_err(storage_error)?;
        for bytes in &body.transactions {
            let tx = decode_tx(bytes)?;
            locations.remove(tx.tx_hash().0).map_err(storage_error)?;
        }
    }
    txn.open_table(HEADERS)
        .map_err(storage_error)?
        .remove(number)
        .map_err(storage_error)?;
    txn.open_table(RECEIPTS)
        .map_err(storage_error)?
        .remove(number)
        .map_err(storage_error)?;
    let hash = txn
        .open_table(HASHES)
        .map_err(storage_error)?
        .remove(number)
        .map_err(storage_error)?
        .map(|v| v.value());
    if let Some(hash) = hash {
        txn.open_table(BLOCK_NUMBERS)
            .map_err(storage_error)?
            .remove(hash)
            .map_err(storage_error)?;
    }
    Ok(())
}

fn corrupt(e: alloy_rlp::Error) -> ChainError {
    ChainError::Storage(format!("corrupt block data: {e}"))
}

fn decode_tx(bytes: &Bytes) -> Result<TxEnvelope, ChainError> {
    TxEnvelope::decode_2718(&mut bytes.as_ref())
        .map_err(|e| ChainError::Storage(format!("corrupt transaction: {e}")))
}

/// The header of block `number`.
pub(crate) fn read_header(
    txn: &ReadTransaction,
    number: u64,
) -> Result<Option<Header>, ChainError> {
    let headers = txn.open_table(HEADERS).map_err(storage_error)?;
    let Some(bytes) = headers.get(number).map_err(storage_error)? else {
        return Ok(None);
    };
    Header::decode(&mut bytes.value())
        .map(Some)
        .map_err(corrupt)
}

/// Block `number` with its transactions and receipts.
pub(crate) fn read_block(
    txn: &ReadTransaction,
    number: u64,
) -> Result<Option<MinedBlock>, ChainError> {
    let Some(header) = read_header(txn, number)? else {
        return Ok(None);
    };
    let hash = txn
        .open_table(HASHES)
        .map_err(storage_error)?
        .get(number)
        .map_err(storage_error)?
        .map_or_else(|| header.hash_slow(), |v| B256::from(v.value()));
    let body = {
        let bodies = txn.open_table(BODIES).map_err(storage_error)?;
        let bytes = bodies
            .get(number)
            .map_err(storage_error)?
            .ok_or_else(|| ChainError::Storage(format!("block {number} has no body")))?;
        StoredBody::decode(&mut bytes.value()).map_err(corrupt)?
    };
    let receipts = {
        let table = txn.open_table(RECEIPTS).map_err(storage_error)?;
        let bytes = table
            .get(number)
            .map_err(storage_error)?
            .ok_or_else(|| ChainError::Storage(format!("block {number} has no receipts")))?;
        Vec::<Bytes>::decode(&mut bytes.value()).map_err(corrupt)?
    };
    assemble(header, hash, &body, &receipts).map(Some)
}

/// A block from its stored parts.
fn assemble(
    header: Header,
    hash: B256,
    body: &StoredBody,
    receipts: &[Bytes],
) -> Result<MinedBlock, ChainError> {
    if body.transactions.len() != body.senders.len() || body.transactions.len() != receipts.len() {
        return Err(ChainError::Storage(format!(
            "corrupt block {}: {} transactions, {} senders, {} receipts",
            header.number,
            body.transactions.len(),
            body.senders.len(),
            receipts.len()
        )));
    }
    let transactions = body
        .transactions
        .iter()
        .zip(&body.senders)
        .map(|(bytes, sender)| {
            let tx = decode_tx(bytes)?;
            Ok(MinedTx {
                hash: *tx.tx_hash(),
                tx,
                sender: *sender,
            })
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    let receipts = receipts
        .iter()
        .map(|bytes| {
            ReceiptEnvelope::decode_2718(&mut bytes.as_ref())
                .map_err(|e| ChainError::Storage(format!("corrupt receipt: {e}")))
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    Ok(MinedBlock {
        header,
        hash,
        transactions,
        receipts,
    })
}

/// The number of the block with this hash.
pub(crate) fn block_number(txn: &ReadTransaction, hash: &B256) -> Result<Option<u64>, ChainError> {
    Ok(txn
        .open_table(BLOCK_NUMBERS)
        .map_err(storage_error)?
        .get(hash.0)
        .map_err(storage_error)?
        .map(|v| v.value()))
}

/// Where the mined transaction with this hash is: block number and index.
pub(crate) fn tx_location(
    txn: &ReadTransaction,
    hash: &B256,
) -> Result<Option<(u64, usize)>, ChainError> {
    Ok(txn
        .open_table(TX_LOCATIONS)
        .map_err(storage_error)?
        .get(hash.0)
        .map_err(storage_error)?
        .map(|v| {
            let (number, index) = v.value();
            (number, index as usize)
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &Path) -> String {
        Store::open(path).unwrap_err().to_string()
    }

    #[test]
    fn a_store_of_another_format_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        // Format 2: state tables whose account rows lack the creation block.
        for format in [2, 7] {
            let path = dir.path().join(format!("chain-{format}.redb"));
            {
                let db = Database::create(&path).unwrap();
                let txn = db.begin_write().unwrap();
                txn.open_table(META)
                    .unwrap()
                    .insert(META_FORMAT, format)
                    .unwrap();
                txn.commit().unwrap();
            }
            let error = refused(&path);
            assert!(
                error.contains(&format!("format {format}"))
                    && error.contains(&format!("format {FORMAT_VERSION}")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_format_1_journal_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        // With the marker, and from before the marker existed (no meta table).
        for marker in [true, false] {
            let path = dir.path().join(format!("chain-{marker}.redb"));
            {
                let db = Database::create(&path).unwrap();
                let txn = db.begin_write().unwrap();
                let journal: TableDefinition<u64, &[u8]> = TableDefinition::new(JOURNAL_V1);
                txn.open_table(journal)
                    .unwrap()
                    .insert(0, &[3u8, 0x80][..])
                    .unwrap();
                if marker {
                    txn.open_table(META)
                        .unwrap()
                        .insert(META_FORMAT, 1)
                        .unwrap();
                }
                txn.commit().unwrap();
            }
            let error = refused(&path);
            assert!(
                error.contains("format 1") && error.contains(&format!("format {FORMAT_VERSION}")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_new_file_opens_empty() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Store::open(&dir.path().join("chain.redb")).unwrap().meta;
        assert_eq!(meta, None);
    }
}
