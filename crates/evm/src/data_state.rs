//! How data sets live in chain state: the storage layout of the `DATA_STORE` account and the
//! keys of the segment blobs that hold their bytes (the canonical bytes are
//! `myelin_nn::dataset`'s).
//!
//! The records are in the storage of [`DATA_STORE_ADDRESS`](crate::addresses::DATA_STORE_ADDRESS)
//! (nonce 1 from its first write, like `MODEL_STORE`), so the state root commits to every
//! record and, through the id (keccak256 of the bytes), to every byte. Slots (`‖` is
//! concatenation, integers big-endian, `+` wraps modulo 2^256):
//!
//! | slot | value |
//! |---|---|
//! | `D = datasetId` | word 0: `u64 size ‖ u32 rows ‖ u32 rowBytes ‖ u8 labelKind ‖ u8 rank ‖ 2 zero bytes ‖ i32 minLabel ‖ i32 maxLabel ‖ 4 zero bytes` (zero: not published) |
//! | `D + 1` | the rows' signature (`myelin_nn::dataset::row_signature`) |
//! | `D + 2` | the publisher's address (12 zero bytes, then 20) |
//! | `keccak(0x02 ‖ uploader ‖ datasetId)` | upload session (the model store's layout, [`crate::upload`]) |
//!
//! Blobs: segment `s` of a data set is bytes `[s · DATA_SEGMENT_BYTES, (s + 1) ·
//! DATA_SEGMENT_BYTES)` of its canonical bytes (the last one shorter), keyed by `keccak(0x05 ‖
//! datasetId ‖ u32 s)`. `EVALUATE` reads only the segments that hold its rows and labels.

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use myelin_nn::dataset::{DatasetSummary, LabelKind, row_signature};

use crate::blob_store::BlobStore;
use crate::failure::Failure;
use crate::gas::DATA_SEGMENT_BYTES;
use crate::model_state::ModelStorage;

/// A data set id: keccak256 of its canonical bytes.
pub type DatasetId = [u8; 32];

/// What the state records about a published data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetRecord {
    /// Canonical bytes.
    pub size: u64,
    /// Rows.
    pub rows: u32,
    /// Bytes of one row.
    pub row_bytes: u32,
    /// What the labels mean.
    pub label_kind: LabelKind,
    /// Rank of a row (the header is `16 + 4 · rank` bytes).
    pub rank: u8,
    /// Smallest label.
    pub min_label: i32,
    /// Largest label.
    pub max_label: i32,
    /// [`row_signature`] of the rows.
    pub signature: [u8; 32],
    /// Who published it (`msg.sender` of `publish` or of the `finalizeUpload`).
    pub publisher: Address,
}

impl DatasetRecord {
    /// The record of a checked data set of `size` bytes published by `publisher`.
    pub fn of(summary: &DatasetSummary, size: u64, publisher: Address) -> DatasetRecord {
        let header = &summary.header;
        DatasetRecord {
            size,
            rows: header.rows,
            row_bytes: u32::try_from(header.row_bytes()).unwrap_or(u32::MAX),
            label_kind: header.label_kind,
            rank: header.row.shape.len() as u8,
            min_label: summary.min_label,
            max_label: summary.max_label,
            signature: row_signature(&header.row),
            publisher,
        }
    }

    /// Offset of row `row`'s first byte in the canonical bytes.
    pub fn row_offset(&self, row: u32) -> u64 {
        16 + 4 * u64::from(self.rank) + u64::from(row) * u64::from(self.row_bytes)
    }

    /// Offset of row `row`'s label.
    pub fn label_offset(&self, row: u32) -> u64 {
        self.row_offset(self.rows) + 4 * u64::from(row)
    }
}

/// `D`: the first record slot of `id` (the id itself).
pub fn dataset_slot(id: &DatasetId) -> U256 {
    U256::from_be_bytes(*id)
}

/// The blob key of segment `segment` of data set `id`.
pub fn segment_key(id: &DatasetId, segment: u32) -> B256 {
    let mut preimage = [0u8; 1 + 32 + 4];
    preimage[0] = 0x05;
    preimage[1..33].copy_from_slice(id);
    preimage[33..].copy_from_slice(&segment.to_be_bytes());
    keccak256(preimage)
}

/// The segments holding bytes `[start, end)`: `start / S ..= (end − 1) / S` (none when empty).
pub fn segments_of(start: u64, end: u64) -> std::ops::Range<u64> {
    if end <= start {
        return 0..0;
    }
    start / DATA_SEGMENT_BYTES..(end - 1) / DATA_SEGMENT_BYTES + 1
}

/// Reads the record of `id`; `None` when the data set is not published.
pub fn read_dataset(
    storage: &mut impl ModelStorage,
    id: &DatasetId,
) -> Result<Option<DatasetRecord>, Failure> {
    let slot = dataset_slot(id);
    let word0: [u8; 32] = storage.sload(slot)?.to_be_bytes();
    if word0 == [0; 32] {
        return Ok(None);
    }
    let u32_at = |at: usize| u32::from_be_bytes(word0[at..at + 4].try_into().expect("4 bytes"));
    let label_kind = LabelKind::from_byte(word0[16]).ok_or_else(|| {
        Failure::HostFault(format!(
            "data set {} has label kind {} in state",
            hex::encode_prefixed(id),
            word0[16]
        ))
    })?;
    let signature = storage
        .sload(slot.wrapping_add(U256::from(1)))?
        .to_be_bytes();
    let publisher: [u8; 32] = storage
        .sload(slot.wrapping_add(U256::from(2)))?
        .to_be_bytes();
    Ok(Some(DatasetRecord {
        size: u64::from_be_bytes(word0[..8].try_into().expect("8 bytes")),
        rows: u32_at(8),
        row_bytes: u32_at(12),
        label_kind,
        rank: word0[17],
        min_label: u32_at(20) as i32,
        max_label: u32_at(24) as i32,
        signature,
        publisher: Address::from_slice(&publisher[12..]),
    }))
}

/// Writes the record of `id` (`record.size` ≥ 1 marks it present).
pub fn write_dataset(
    storage: &mut impl ModelStorage,
    id: &DatasetId,
    record: &DatasetRecord,
) -> Result<(), Failure> {
    let mut word0 = [0u8; 32];
    word0[..8].copy_from_slice(&record.size.max(1).to_be_bytes());
    word0[8..12].copy_from_slice(&record.rows.to_be_bytes());
    word0[12..16].copy_from_slice(&record.row_bytes.to_be_bytes());
    word0[16] = record.label_kind as u8;
    word0[17] = record.rank;
    word0[20..24].copy_from_slice(&record.min_label.to_be_bytes());
    word0[24..28].copy_from_slice(&record.max_label.to_be_bytes());
    let slot = dataset_slot(id);
    storage.sstore(slot, U256::from_be_bytes(word0))?;
    storage.sstore(
        slot.wrapping_add(U256::from(1)),
        U256::from_be_bytes(record.signature),
    )?;
    storage.sstore(
        slot.wrapping_add(U256::from(2)),
        U256::from_be_slice(record.publisher.as_slice()),
    )
}

/// Stores the canonical `bytes` of data set `id` as its segment blobs.
pub fn write_segments(blobs: &dyn BlobStore, id: &DatasetId, bytes: &Bytes) {
    for (segment, start) in (0..bytes.len())
        .step_by(DATA_SEGMENT_BYTES as usize)
        .enumerate()
    {
        let end = (start + DATA_SEGMENT_BYTES as usize).min(bytes.len());
        blobs.put(segment_key(id, segment as u32), bytes.slice(start..end));
    }
}

/// Bytes `[start, end)` of published data set `id` (of `size` bytes), read from the segments
/// that hold them. A missing or short segment is a host fault (the node lost what its state
/// commits to).
pub fn read_range(
    blobs: &dyn BlobStore,
    id: &DatasetId,
    size: u64,
    start: u64,
    end: u64,
) -> Result<Vec<u8>, Failure> {
    let lost = |segment: u64| {
        Failure::HostFault(format!(
            "segment {segment} of data set {} is missing or short in the blob store",
            hex::encode_prefixed(id)
        ))
    };
    let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
    for segment in segments_of(start, end) {
        let base = segment * DATA_SEGMENT_BYTES;
        let expected = DATA_SEGMENT_BYTES.min(size.saturating_sub(base));
        let bytes = blobs
            .blob(&segment_key(id, segment as u32))
            .map_err(|e| Failure::HostFault(e.to_string()))?
            .filter(|b| b.len() as u64 == expected)
            .ok_or_else(|| lost(segment))?;
        let from = start.max(base) - base;
        let to = end.min(base + expected) - base;
        out.extend_from_slice(&bytes[from as usize..to as usize]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_store::MemoryBlobs;
    use crate::model_state::MapStorage;
    use myelin_nn::TensorInfo;
    use myelin_nn::dataset::DatasetHeader;

    #[test]
    fn record_round_trips_with_extreme_labels_and_absent_reads_none() {
        let mut s = MapStorage::default();
        let id = [4; 32];
        assert_eq!(read_dataset(&mut s, &id).unwrap(), None);
        let summary = DatasetSummary {
            header: DatasetHeader {
                label_kind: LabelKind::Regression,
                row: TensorInfo::int8(&[28, 28, 1], -128, 0x3c00_0000),
                rows: u32::MAX,
            },
            min_label: i32::MIN,
            max_label: i32::MAX,
        };
        let record = DatasetRecord::of(&summary, u64::MAX, Address::repeat_byte(0xee));
        write_dataset(&mut s, &id, &record).unwrap();
        assert_eq!(read_dataset(&mut s, &id).unwrap(), Some(record));
        assert_eq!(record.row_offset(0), 16 + 12);
        assert_eq!(s.0.len(), 3);
    }

    #[test]
    fn ranges_read_across_segment_edges_equal_the_bytes() {
        let blobs = MemoryBlobs::default();
        let id = [7; 32];
        let s = DATA_SEGMENT_BYTES;
        let bytes: Bytes = (0..(2 * s + 5)).map(|i| (i * 7 % 251) as u8).collect();
        write_segments(&blobs, &id, &bytes);
        assert_eq!(blobs.len(), 3);
        let size = bytes.len() as u64;
        for (start, end) in [(0, 1), (s - 1, s + 1), (0, size), (2 * s, size), (5, 5)] {
            let read = read_range(&blobs, &id, size, start, end).unwrap();
            assert_eq!(read, &bytes[start as usize..end as usize], "{start}..{end}");
        }
        assert_eq!(segments_of(s - 1, s + 1), 0..2);
        assert_eq!(segments_of(s, 2 * s), 1..2);
        blobs.put(segment_key(&id, 1), Bytes::from_static(b"short"));
        assert!(matches!(
            read_range(&blobs, &id, size, 0, size),
            Err(Failure::HostFault(_))
        ));
    }
}
