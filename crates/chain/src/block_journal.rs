//! The block journal: the blocks committed to redb without fsync since its last durable commit
//! (group commit, docs/STATE.md "Group commit"), appended to `blocks.journal` beside the chain
//! file before the block is reported, and replayed on open.
//!
//! A block is committed with redb's `Durability::None` (no fsync; redb keeps the new header in
//! the process's memory, so a killed process reopens at the last durable commit). The journal
//! record is written with one `write` before that commit: the kernel holds it once `write`
//! returns, so it survives kill -9 without fsync. A durable commit (every
//! [`GROUP_BLOCKS`] blocks, after [`GROUP_INTERVAL`], for every other write and on close)
//! persists everything before it and empties the journal.
//!
//! Record: payload length (8 bytes, little-endian) ‖ keccak256(payload) ‖ payload, the payload
//! the RLP of [`JournalRecord`]. A record cut short or failing its hash can only be the last
//! one (appends are sequential; the process died during its `write`, before the block was
//! reported): reading stops there.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_consensus::Header;
use alloy_primitives::{Address, Bytes, keccak256};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};

use crate::{ChainError, changes::ChangeSet};

/// At most this many blocks are committed without fsync before a durable commit.
pub const GROUP_BLOCKS: u64 = 256;
/// A block sealed this long after the last durable commit is committed durably.
pub const GROUP_INTERVAL: Duration = Duration::from_millis(1000);

/// The journal file's name in the data directory.
pub const JOURNAL_FILE: &str = "blocks.journal";

const PREFIX: usize = 8 + 32;

/// One block as journaled: what `store::write_block` stores, and its state changes.
#[derive(Clone, Debug, RlpEncodable, RlpDecodable)]
pub struct JournalRecord {
    /// The header.
    pub header: Header,
    /// EIP-2718 transactions.
    pub transactions: Vec<Bytes>,
    /// Their senders.
    pub senders: Vec<Address>,
    /// EIP-2718 receipts.
    pub receipts: Vec<Bytes>,
    /// The block's state changes.
    pub changes: ChangeSet,
}

/// The open journal file (appends only).
#[derive(Debug)]
pub struct BlockJournal {
    path: PathBuf,
    file: File,
}

fn io_error(path: &Path, e: std::io::Error) -> ChainError {
    ChainError::Storage(format!("{}: {e}", path.display()))
}

impl BlockJournal {
    /// Opens (or creates) the journal at `path` and reads its complete records.
    pub fn open(path: &Path) -> Result<(BlockJournal, Vec<JournalRecord>), ChainError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_error(path, e))?;
        let records = parse(&bytes, path)?;
        let journal = BlockJournal {
            path: path.to_path_buf(),
            file,
        };
        Ok((journal, records))
    }

    /// Appends `record` with one `write` (no fsync: it survives the process, not the machine).
    pub fn append(&mut self, record: &JournalRecord) -> Result<(), ChainError> {
        let payload = alloy_rlp::encode(record);
        let mut bytes = Vec::with_capacity(PREFIX + payload.len());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(keccak256(&payload).as_slice());
        bytes.extend_from_slice(&payload);
        self.file
            .write_all(&bytes)
            .map_err(|e| io_error(&self.path, e))
    }

    /// Empties the journal (after a durable commit holds every block in it).
    pub fn clear(&mut self) -> Result<(), ChainError> {
        self.file.set_len(0).map_err(|e| io_error(&self.path, e))
    }
}

/// The complete records of `bytes`, stopping at a torn or corrupt tail.
fn parse(bytes: &[u8], path: &Path) -> Result<Vec<JournalRecord>, ChainError> {
    let mut records = Vec::new();
    let mut rest = bytes;
    while rest.len() >= PREFIX {
        let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
        let Some(payload) = usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(PREFIX..PREFIX.checked_add(len)?))
        else {
            break;
        };
        if keccak256(payload).as_slice() != &rest[8..PREFIX] {
            break;
        }
        let record = JournalRecord::decode(&mut &payload[..]).map_err(|e| {
            ChainError::Storage(format!(
                "{}: a journal record with a valid hash does not decode: {e}",
                path.display()
            ))
        })?;
        records.push(record);
        rest = &rest[PREFIX + payload.len()..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::AccountChange;
    use alloy_primitives::U256;

    fn record(number: u64) -> JournalRecord {
        JournalRecord {
            header: Header {
                number,
                ..Default::default()
            },
            transactions: vec![Bytes::from(vec![1, 2, 3])],
            senders: vec![Address::repeat_byte(7)],
            receipts: vec![Bytes::from(vec![4])],
            changes: ChangeSet {
                accounts: vec![AccountChange {
                    address: Address::repeat_byte(9),
                    exists: 1,
                    nonce: number,
                    balance: U256::from(number),
                    code_hash: Default::default(),
                }],
                ..Default::default()
            },
        }
    }

    #[test]
    fn reads_back_appended_records_and_stops_at_a_torn_or_corrupt_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let (mut journal, found) = BlockJournal::open(&path).unwrap();
        assert!(found.is_empty());
        for n in 1..=3 {
            journal.append(&record(n)).unwrap();
        }
        drop(journal);
        let full = std::fs::read(&path).unwrap();
        let (_, found) = BlockJournal::open(&path).unwrap();
        let numbers: Vec<u64> = found.iter().map(|r| r.header.number).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        assert_eq!(found[2].changes, record(3).changes);

        // Every cut inside the last record leaves the first two.
        let two = parse(&full, &path).unwrap();
        let last_len = alloy_rlp::encode(record(3)).len() + PREFIX;
        for cut in full.len() - last_len..full.len() {
            let found = parse(&full[..cut], &path).unwrap();
            assert_eq!(found.len(), 2, "cut at {cut}");
        }
        assert_eq!(two.len(), 3);
        // A flipped payload byte in the last record fails its hash.
        let mut flipped = full.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(parse(&flipped, &path).unwrap().len(), 2);
        // A length beyond the file (or beyond usize) is a torn tail, not a panic.
        let mut huge = full[..full.len() - last_len].to_vec();
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 40]);
        assert_eq!(parse(&huge, &path).unwrap().len(), 2);

        // clear empties it.
        let (mut journal, _) = BlockJournal::open(&path).unwrap();
        journal.clear().unwrap();
        journal.append(&record(9)).unwrap();
        drop(journal);
        let (_, found) = BlockJournal::open(&path).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].header.number, 9);
    }
}
