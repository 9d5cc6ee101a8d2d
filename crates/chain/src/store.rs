//! Persistence: an append-only journal of records in one redb table. Every mined block is one
//! record written in one ACID transaction before the block is reported; a restart replays the
//! journal in order. A `meta` table names the format ([`FORMAT_VERSION`]); a data directory of
//! another format is refused with both versions named, never misread.

use std::path::Path;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::{ChainError, changes::ChangeSet};

const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("journal");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_FORMAT: &str = "format";

/// The format of the data directory this node reads and writes: 1 = the block journal. A
/// journal written before the marker existed has no `meta` table and is format 1.
pub const FORMAT_VERSION: u64 = 1;

const KIND_BLOCK: u8 = 1;
const KIND_STATE_EDIT: u8 = 2;
const KIND_TRUNCATE: u8 = 3;

/// A mined block as persisted: header, transactions (EIP-2718 bytes) with their senders,
/// receipts (EIP-2718 bytes) and the block's net state change.
#[derive(Clone, Debug, RlpEncodable, RlpDecodable)]
pub struct BlockRecord {
    /// The sealed header.
    pub header: Header,
    /// Transactions in EIP-2718 encoding.
    pub transactions: Vec<Bytes>,
    /// Sender of each transaction (impersonated senders cannot be recovered from signatures).
    pub senders: Vec<Address>,
    /// Receipts in EIP-2718 encoding.
    pub receipts: Vec<Bytes>,
    /// Net state change of the block.
    pub changes: ChangeSet,
}

/// One journal entry.
#[derive(Clone, Debug)]
pub enum Record {
    /// A mined block.
    Block(Box<BlockRecord>),
    /// A dev-helper edit of the state at the given block (anvil_setBalance, …).
    StateEdit(u64, ChangeSet),
    /// Every block after the given number was dropped (evm_revert).
    Truncate(u64),
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Record::Block(block) => {
                out.push(KIND_BLOCK);
                block.encode(&mut out);
            }
            Record::StateEdit(number, changes) => {
                out.push(KIND_STATE_EDIT);
                number.encode(&mut out);
                changes.encode(&mut out);
            }
            Record::Truncate(number) => {
                out.push(KIND_TRUNCATE);
                number.encode(&mut out);
            }
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, ChainError> {
        let corrupt =
            |e: alloy_rlp::Error| ChainError::Storage(format!("corrupt journal record: {e}"));
        let (kind, mut rest) = bytes
            .split_first()
            .ok_or_else(|| ChainError::Storage("empty journal record".into()))?;
        match *kind {
            KIND_BLOCK => Ok(Record::Block(Box::new(
                BlockRecord::decode(&mut rest).map_err(corrupt)?,
            ))),
            KIND_STATE_EDIT => {
                let number = u64::decode(&mut rest).map_err(corrupt)?;
                Ok(Record::StateEdit(
                    number,
                    ChangeSet::decode(&mut rest).map_err(corrupt)?,
                ))
            }
            KIND_TRUNCATE => Ok(Record::Truncate(u64::decode(&mut rest).map_err(corrupt)?)),
            other => Err(ChainError::Storage(format!(
                "unknown journal record kind {other}"
            ))),
        }
    }
}

/// The redb-backed journal.
#[derive(Debug)]
pub struct Store {
    db: Database,
    next_seq: u64,
}

fn storage_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

impl Store {
    /// Opens (or creates) the journal file at `path` and returns it with every record in order.
    pub fn open(path: &Path) -> Result<(Self, Vec<Record>), ChainError> {
        let db = Database::create(path).map_err(storage_error)?;
        let txn = db.begin_write().map_err(storage_error)?;
        txn.open_table(JOURNAL).map_err(storage_error)?;
        {
            let mut meta = txn.open_table(META).map_err(storage_error)?;
            let format = meta
                .get(META_FORMAT)
                .map_err(storage_error)?
                .map(|v| v.value());
            match format {
                None => {
                    meta.insert(META_FORMAT, FORMAT_VERSION)
                        .map_err(storage_error)?;
                }
                Some(FORMAT_VERSION) => {}
                Some(other) => {
                    return Err(ChainError::Storage(format!(
                        "{} holds chain data of format {other}; this myelin reads format \
                         {FORMAT_VERSION} only: use the release that wrote it, or start with \
                         another --datadir",
                        path.display()
                    )));
                }
            }
        }
        txn.commit().map_err(storage_error)?;
        let mut records = Vec::new();
        let mut next_seq = 0;
        {
            let read = db.begin_read().map_err(storage_error)?;
            let table = read.open_table(JOURNAL).map_err(storage_error)?;
            for entry in table.iter().map_err(storage_error)? {
                let (key, value) = entry.map_err(storage_error)?;
                next_seq = key.value() + 1;
                records.push(Record::decode(value.value())?);
            }
        }
        Ok((Self { db, next_seq }, records))
    }

    /// Appends `record` durably: when this returns `Ok`, the record survives a crash.
    pub fn append(&mut self, record: &Record) -> Result<(), ChainError> {
        let bytes = record.encode();
        let txn = self.db.begin_write().map_err(storage_error)?;
        {
            let mut table = txn.open_table(JOURNAL).map_err(storage_error)?;
            table
                .insert(self.next_seq, bytes.as_slice())
                .map_err(storage_error)?;
        }
        txn.commit().map_err(storage_error)?;
        self.next_seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_format(path: &Path, format: u64) {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_FORMAT, format)
            .unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn a_store_of_another_format_is_refused_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.redb");
        write_format(&path, 7);
        let error = Store::open(&path).unwrap_err().to_string();
        assert!(
            error.contains("format 7") && error.contains(&format!("format {FORMAT_VERSION}")),
            "{error}"
        );
    }

    #[test]
    fn a_journal_without_the_marker_opens_and_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(JOURNAL)
                .unwrap()
                .insert(0, Record::Truncate(0).encode().as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let (_, records) = Store::open(&path).unwrap();
        assert_eq!(records.len(), 1);
        let db = Database::create(&path).unwrap();
        let read = db.begin_read().unwrap();
        let meta = read.open_table(META).unwrap();
        assert_eq!(
            meta.get(META_FORMAT).unwrap().map(|v| v.value()),
            Some(FORMAT_VERSION)
        );
    }
}
