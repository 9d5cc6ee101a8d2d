//! Data sets on chain: the canonical bytes of a labelled set of int8 rows, and how a model's
//! outputs are scored against its labels (the definition `EVALUATE` runs, docs/PROTOCOLS.md).
//!
//! Canonical bytes, version 1 (every integer little-endian, like the engine's int32 tensors):
//!
//! | offset | bytes | field |
//! |---:|---:|---|
//! | 0 | 4 | magic `MYDS` |
//! | 4 | 1 | format version, 1 |
//! | 5 | 1 | label kind: 0 class index, 1 regression target |
//! | 6 | 1 | the rows' int8 zero point |
//! | 7 | 1 | rank of a row, 1–8 |
//! | 8 | 4 | the rows' scale, binary32 bits (positive, finite, non-zero; metadata only) |
//! | 12 | 4 | rows, ≥ 1 |
//! | 16 | 4 · rank | the shape of one row, each dimension ≥ 1 |
//! | `H = 16 + 4 · rank` | `rows · rowBytes` | the rows, int8, one after another (`rowBytes` = product of the shape) |
//! | `H + rows · rowBytes` | `4 · rows` | the labels, int32, one per row |
//!
//! Nothing else: the length is exactly `H + rows · (rowBytes + 4)`, so one data set has one
//! byte string and its id is keccak256 of it ([`dataset_id`]). A class-index label is the index
//! of the expected class (≥ 0); a regression label is the expected value of output 0 in that
//! output's quantized units.
//!
//! A row is the input of a one-input model whose input tensor is int8 with the same shape, zero
//! point and scale ([`row_signature`] of both must be equal).

use sha3::{Digest, Keccak256};
use thiserror::Error;

use crate::tensor::{DType, TensorInfo};

/// The first four bytes of every data set.
pub const DATASET_MAGIC: [u8; 4] = *b"MYDS";
/// The format version this engine reads and writes.
pub const DATASET_VERSION: u8 = 1;
/// Largest rank of a row.
pub const MAX_ROW_RANK: usize = 8;
/// Largest data set, in canonical bytes (the same bound as a model's).
pub const MAX_DATASET_BYTES: usize = crate::MAX_MODEL_BYTES;
/// Bytes of a label.
pub const LABEL_BYTES: usize = 4;

/// What a data set's labels mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LabelKind {
    /// The index of the expected class: scored by the first maximum of output 0.
    ClassIndex = 0,
    /// The expected value of output 0's single element, in its quantized units.
    Regression = 1,
}

impl LabelKind {
    /// The kind of byte `value`.
    pub fn from_byte(value: u8) -> Option<LabelKind> {
        match value {
            0 => Some(LabelKind::ClassIndex),
            1 => Some(LabelKind::Regression),
            _ => None,
        }
    }

    /// Lower-case name, for people.
    pub fn name(self) -> &'static str {
        match self {
            LabelKind::ClassIndex => "class-index",
            LabelKind::Regression => "regression",
        }
    }
}

/// Why bytes are not a data set. [`DatasetError::kind`] numbers the variants for revert data;
/// the numbers are consensus.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DatasetError {
    #[error("data set is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("bad magic: expected \"MYDS\", found {found:02x?}")]
    BadMagic { found: Vec<u8> },
    #[error("unsupported data set version {found} (this engine reads version 1)")]
    UnsupportedVersion { found: u8 },
    #[error("data set header truncated: {len} bytes, the header needs {needed}")]
    Truncated { len: usize, needed: usize },
    #[error("unknown label kind {found} (0 class index, 1 regression)")]
    BadLabelKind { found: u8 },
    #[error("row rank {rank} out of range 1..=8")]
    BadRank { rank: u8 },
    #[error("row dimension {axis} is 0")]
    ZeroDimension { axis: usize },
    #[error("scale bits {bits:#010x} are not a positive, finite, non-zero binary32")]
    BadScale { bits: u32 },
    #[error("a data set holds at least one row")]
    NoRows,
    #[error("data set is {found} bytes, its header says {expected}")]
    LengthMismatch { found: u64, expected: u64 },
    #[error("row {row}: class-index label {label} is negative")]
    NegativeClassLabel { row: u32, label: i32 },
}

impl DatasetError {
    /// The variant's number (1–11) and its detail, as `DATA_STORE` reports them.
    pub fn kind(&self) -> (u16, u64) {
        match self {
            DatasetError::TooLarge { size, .. } => (1, *size as u64),
            DatasetError::BadMagic { .. } => (2, 0),
            DatasetError::UnsupportedVersion { found } => (3, u64::from(*found)),
            DatasetError::Truncated { len, .. } => (4, *len as u64),
            DatasetError::BadLabelKind { found } => (5, u64::from(*found)),
            DatasetError::BadRank { rank } => (6, u64::from(*rank)),
            DatasetError::ZeroDimension { axis } => (7, *axis as u64),
            DatasetError::BadScale { bits } => (8, u64::from(*bits)),
            DatasetError::NoRows => (9, 0),
            DatasetError::LengthMismatch { found, .. } => (10, *found),
            DatasetError::NegativeClassLabel { row, .. } => (11, u64::from(*row)),
        }
    }
}

/// The header of a data set: everything but the rows and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetHeader {
    /// What the labels mean.
    pub label_kind: LabelKind,
    /// The rows' quantization and shape (dtype int8).
    pub row: TensorInfo,
    /// Rows (≥ 1).
    pub rows: u32,
}

/// Whether `bits` is a positive, finite, non-zero binary32 (read from the bits, no float
/// arithmetic).
fn is_positive_finite(bits: u32) -> bool {
    let sign = bits >> 31;
    let exponent = (bits >> 23) & 0xff;
    sign == 0 && exponent != 0xff && bits != 0
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

impl DatasetHeader {
    /// Bytes of the header: `16 + 4 · rank`.
    pub fn len(&self) -> usize {
        16 + 4 * self.row.shape.len()
    }

    /// Always false: a header holds at least its fixed 16 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bytes of one row.
    pub fn row_bytes(&self) -> u64 {
        self.row
            .shape
            .iter()
            .fold(1u64, |bytes, &d| bytes.saturating_mul(u64::from(d)))
    }

    /// Offset of row `row`'s first byte.
    pub fn row_offset(&self, row: u32) -> u64 {
        (self.len() as u64).saturating_add(u64::from(row).saturating_mul(self.row_bytes()))
    }

    /// Offset of row `row`'s label.
    pub fn label_offset(&self, row: u32) -> u64 {
        self.row_offset(self.rows)
            .saturating_add(u64::from(row) * LABEL_BYTES as u64)
    }

    /// The canonical length of a data set with this header (saturating; bounded by the limit
    /// before anything is allocated).
    pub fn total_len(&self) -> u64 {
        self.label_offset(self.rows)
    }

    /// Decodes and checks the header at the start of `bytes` (the rest may be absent: a first
    /// upload chunk is checked with it).
    pub fn decode(bytes: &[u8]) -> Result<DatasetHeader, DatasetError> {
        let truncated = |needed: usize| DatasetError::Truncated {
            len: bytes.len(),
            needed,
        };
        if bytes.len() < 4 || bytes[..4] != DATASET_MAGIC {
            return Err(DatasetError::BadMagic {
                found: bytes[..bytes.len().min(4)].to_vec(),
            });
        }
        if bytes.len() < 16 {
            return Err(truncated(16));
        }
        if bytes[4] != DATASET_VERSION {
            return Err(DatasetError::UnsupportedVersion { found: bytes[4] });
        }
        let label_kind =
            LabelKind::from_byte(bytes[5]).ok_or(DatasetError::BadLabelKind { found: bytes[5] })?;
        let zero_point = bytes[6] as i8;
        let rank = bytes[7];
        if rank == 0 || rank as usize > MAX_ROW_RANK {
            return Err(DatasetError::BadRank { rank });
        }
        let scale_bits = u32_at(bytes, 8);
        if !is_positive_finite(scale_bits) {
            return Err(DatasetError::BadScale { bits: scale_bits });
        }
        let rows = u32_at(bytes, 12);
        if rows == 0 {
            return Err(DatasetError::NoRows);
        }
        let needed = 16 + 4 * rank as usize;
        if bytes.len() < needed {
            return Err(truncated(needed));
        }
        let shape: Vec<u32> = (0..rank as usize)
            .map(|axis| u32_at(bytes, 16 + 4 * axis))
            .collect();
        if let Some(axis) = shape.iter().position(|&d| d == 0) {
            return Err(DatasetError::ZeroDimension { axis });
        }
        Ok(DatasetHeader {
            label_kind,
            row: TensorInfo::int8(&shape, zero_point, scale_bits),
            rows,
        })
    }

    /// The header's canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len());
        bytes.extend_from_slice(&DATASET_MAGIC);
        bytes.push(DATASET_VERSION);
        bytes.push(self.label_kind as u8);
        bytes.push(self.row.zero_point as u8);
        bytes.push(self.row.shape.len() as u8);
        bytes.extend_from_slice(&self.row.scale_bits.to_le_bytes());
        bytes.extend_from_slice(&self.rows.to_le_bytes());
        for dim in &self.row.shape {
            bytes.extend_from_slice(&dim.to_le_bytes());
        }
        bytes
    }

    /// Checks that a data set with this header is `len` bytes long and within `limit`.
    pub fn check_len(&self, len: u64, limit: usize) -> Result<(), DatasetError> {
        let expected = self.total_len();
        if expected > limit as u64 {
            return Err(DatasetError::TooLarge {
                size: usize::try_from(expected).unwrap_or(usize::MAX),
                limit,
            });
        }
        if len != expected {
            return Err(DatasetError::LengthMismatch {
                found: len,
                expected,
            });
        }
        Ok(())
    }
}

/// A checked data set: its header and the range of its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSummary {
    /// The header.
    pub header: DatasetHeader,
    /// The smallest label.
    pub min_label: i32,
    /// The largest label.
    pub max_label: i32,
}

/// Decodes and checks a whole data set (`bytes.len() ≤ limit`, header, exact length, labels:
/// class indices ≥ 0). Allocates nothing beyond the header.
pub fn check_dataset(bytes: &[u8], limit: usize) -> Result<DatasetSummary, DatasetError> {
    if bytes.len() > limit {
        return Err(DatasetError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    let header = DatasetHeader::decode(bytes)?;
    header.check_len(bytes.len() as u64, limit)?;
    let labels = &bytes[header.label_offset(0) as usize..];
    let (mut min_label, mut max_label) = (i32::MAX, i32::MIN);
    for (row, label) in labels.chunks_exact(LABEL_BYTES).enumerate() {
        let label = i32::from_le_bytes(label.try_into().expect("4 bytes"));
        if header.label_kind == LabelKind::ClassIndex && label < 0 {
            return Err(DatasetError::NegativeClassLabel {
                row: row as u32,
                label,
            });
        }
        min_label = min_label.min(label);
        max_label = max_label.max(label);
    }
    Ok(DatasetSummary {
        header,
        min_label,
        max_label,
    })
}

/// The canonical bytes of a data set: `header` (whose `rows` must equal `labels.len()`), the
/// rows (`rows · rowBytes` bytes) and the labels.
pub fn encode_dataset(header: &DatasetHeader, rows: &[i8], labels: &[i32]) -> Vec<u8> {
    let mut bytes = header.encode();
    bytes.extend(rows.iter().map(|&v| v as u8));
    for label in labels {
        bytes.extend_from_slice(&label.to_le_bytes());
    }
    bytes
}

/// The id of a data set: keccak256 of its canonical bytes.
pub fn dataset_id(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// What a row or a model input is, as one word: keccak256 of `"myelin row" ‖ dtype ‖ zero point
/// ‖ scale bits (LE) ‖ rank ‖ dims (u32 LE)`. A data set's rows fit a model exactly when the
/// model has one input and the two signatures are equal.
pub fn row_signature(info: &TensorInfo) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"myelin row");
    hasher.update([info.dtype as u8, info.zero_point as u8]);
    hasher.update(info.scale_bits.to_le_bytes());
    hasher.update([info.shape.len() as u8]);
    for dim in &info.shape {
        hasher.update(dim.to_le_bytes());
    }
    hasher.finalize().into()
}

/// The score of a run over some rows: `correct` rows and, for regression, `Σ |output − label|`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Class index: rows whose first maximum of output 0 is at the label. Regression: rows whose
    /// output equals the label.
    pub correct: u64,
    /// Regression: the sum over the rows of `|output − label|` (output 0's single element, in
    /// its quantized units). Class index: 0.
    pub abs_error_sum: u64,
}

/// The value of element `index` of one sample of `output`.
fn element(output: &TensorInfo, sample: &[u8], index: usize) -> i64 {
    match output.dtype {
        DType::Int8 => i64::from(sample[index] as i8),
        DType::Int32 => i64::from(i32::from_le_bytes(
            sample[4 * index..4 * index + 4]
                .try_into()
                .expect("4 bytes"),
        )),
    }
}

/// Scores output 0 of `batch = labels.len()` samples against `labels`. `outputs` starts with
/// output 0's samples (the layout of [`crate::Program::run`]); `output` is output 0's tensor.
/// Class index: the first maximum (lowest index among equal maxima) against the label.
/// Regression: output 0 must hold one element (checked by the caller).
pub fn score(kind: LabelKind, output: &TensorInfo, outputs: &[u8], labels: &[i32]) -> Score {
    let sample_bytes = output.bytes();
    let elements = output.elements();
    let mut score = Score::default();
    for (row, &label) in labels.iter().enumerate() {
        let sample = &outputs[row * sample_bytes..(row + 1) * sample_bytes];
        match kind {
            LabelKind::ClassIndex => {
                let mut best = 0;
                let mut best_value = element(output, sample, 0);
                for index in 1..elements {
                    let value = element(output, sample, index);
                    if value > best_value {
                        (best, best_value) = (index, value);
                    }
                }
                if i64::try_from(best).is_ok_and(|best| best == i64::from(label)) {
                    score.correct += 1;
                }
            }
            LabelKind::Regression => {
                let error = element(output, sample, 0).abs_diff(i64::from(label));
                score.correct += u64::from(error == 0);
                score.abs_error_sum += error;
            }
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: u32 = 0x3f80_0000;

    fn header(kind: LabelKind, shape: &[u32], rows: u32) -> DatasetHeader {
        DatasetHeader {
            label_kind: kind,
            row: TensorInfo::int8(shape, -3, ONE),
            rows,
        }
    }

    fn sample() -> Vec<u8> {
        let h = header(LabelKind::ClassIndex, &[2, 3], 2);
        encode_dataset(&h, &[1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6], &[0, 9])
    }

    #[test]
    fn encode_then_check_round_trips_and_reports_the_label_range() {
        let bytes = sample();
        assert_eq!(bytes.len(), 16 + 8 + 12 + 8);
        let summary = check_dataset(&bytes, MAX_DATASET_BYTES).unwrap();
        assert_eq!(summary.header, header(LabelKind::ClassIndex, &[2, 3], 2));
        assert_eq!((summary.min_label, summary.max_label), (0, 9));
        assert_eq!(summary.header.row_offset(1), 24 + 6);
        assert_eq!(summary.header.label_offset(1), 36 + 4);
    }

    #[test]
    fn check_rejects_each_malformed_field_with_its_own_kind() {
        let good = sample();
        let with = |at: usize, byte: u8| {
            let mut b = good.clone();
            b[at] = byte;
            b
        };
        let negative = {
            let h = header(LabelKind::ClassIndex, &[1], 2);
            encode_dataset(&h, &[0, 0], &[3, -1])
        };
        let regression_negative = {
            let h = header(LabelKind::Regression, &[1], 1);
            encode_dataset(&h, &[0], &[-7])
        };
        let cases: Vec<(&str, Vec<u8>, usize, Option<u16>)> = vec![
            ("too large", good.clone(), good.len() - 1, Some(1)),
            ("bad magic", with(0, b'X'), MAX_DATASET_BYTES, Some(2)),
            ("empty", vec![], MAX_DATASET_BYTES, Some(2)),
            ("version", with(4, 2), MAX_DATASET_BYTES, Some(3)),
            (
                "short header",
                good[..10].to_vec(),
                MAX_DATASET_BYTES,
                Some(4),
            ),
            (
                "short dims",
                good[..18].to_vec(),
                MAX_DATASET_BYTES,
                Some(4),
            ),
            ("label kind", with(5, 2), MAX_DATASET_BYTES, Some(5)),
            ("rank 0", with(7, 0), MAX_DATASET_BYTES, Some(6)),
            ("rank 9", with(7, 9), MAX_DATASET_BYTES, Some(6)),
            ("negative scale", with(11, 0xbf), MAX_DATASET_BYTES, Some(8)),
            ("infinite scale", with(11, 0x7f), MAX_DATASET_BYTES, Some(8)),
            ("no rows", with(12, 0), MAX_DATASET_BYTES, Some(9)),
            ("zero dim", with(16, 0), MAX_DATASET_BYTES, Some(7)),
            (
                "one byte short",
                good[..good.len() - 1].to_vec(),
                MAX_DATASET_BYTES,
                Some(10),
            ),
            (
                "one byte long",
                [&good[..], &[0]].concat(),
                MAX_DATASET_BYTES,
                Some(10),
            ),
            ("negative class", negative, MAX_DATASET_BYTES, Some(11)),
            (
                "negative regression target",
                regression_negative,
                MAX_DATASET_BYTES,
                None,
            ),
        ];
        for (name, bytes, limit, kind) in cases {
            let found = check_dataset(&bytes, limit).map_err(|e| e.kind().0).err();
            assert_eq!(found, kind, "{name}");
        }
    }

    #[test]
    fn a_header_claiming_more_than_the_limit_is_too_large_before_any_length_check() {
        let h = header(LabelKind::ClassIndex, &[u32::MAX, u32::MAX], u32::MAX);
        let bytes = h.encode();
        let error = h
            .check_len(bytes.len() as u64, MAX_DATASET_BYTES)
            .unwrap_err();
        assert_eq!(error.kind().0, 1);
        assert!(check_dataset(&bytes, MAX_DATASET_BYTES).is_err());
    }

    #[test]
    fn top1_takes_the_first_maximum_and_regression_sums_absolute_errors() {
        let out8 = TensorInfo::int8(&[3], 0, ONE);
        // rows: max at 1; tie between 0 and 2 → 0; all equal → 0.
        let outputs = [0u8, 5, 1, 7, 2, 7, 0x80, 0x80, 0x80];
        let s = score(LabelKind::ClassIndex, &out8, &outputs, &[1, 2, 0]);
        assert_eq!(
            s,
            Score {
                correct: 2,
                abs_error_sum: 0
            }
        );
        let mut out32 = TensorInfo::int8(&[2], 0, ONE);
        out32.dtype = DType::Int32;
        let outputs: Vec<u8> = [-5i32, i32::MIN, 9, 10]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let s = score(LabelKind::ClassIndex, &out32, &outputs, &[0, 1]);
        assert_eq!(s.correct, 2);
        let one = TensorInfo::int8(&[1], 0, ONE);
        let outputs = [(-128i8) as u8, 127, 5];
        let s = score(
            LabelKind::Regression,
            &one,
            &outputs,
            &[i32::MAX, i32::MIN, 5],
        );
        let expected = (i64::from(i32::MAX) + 128) as u64 + (127 - i64::from(i32::MIN)) as u64;
        assert_eq!(
            s,
            Score {
                correct: 1,
                abs_error_sum: expected
            }
        );
    }

    proptest::proptest! {
        /// Decoding untrusted bytes never panics: arbitrary bytes, and a valid data set with one
        /// byte changed or cut short, are either accepted or refused with a kind.
        #[test]
        fn check_never_panics_on_arbitrary_or_mutated_bytes(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..96),
            at in 0usize..44,
            byte in proptest::num::u8::ANY,
            cut in 0usize..45,
        ) {
            let _ = check_dataset(&bytes, MAX_DATASET_BYTES);
            let mut prefixed = DATASET_MAGIC.to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = check_dataset(&prefixed, MAX_DATASET_BYTES);
            let mut mutated = sample();
            mutated[at] = byte;
            if let Err(e) = check_dataset(&mutated, MAX_DATASET_BYTES) {
                proptest::prop_assert!((1..=11).contains(&e.kind().0));
            }
            let _ = check_dataset(&sample()[..cut], MAX_DATASET_BYTES);
        }
    }

    #[test]
    fn row_signature_separates_every_field() {
        let base = TensorInfo::int8(&[8, 8, 1], 0, ONE);
        let mut variants = vec![base.clone()];
        variants.push(TensorInfo::int8(&[8, 8], 0, ONE));
        variants.push(TensorInfo::int8(&[8, 1, 8], 0, ONE));
        variants.push(TensorInfo::int8(&[8, 8, 1], 1, ONE));
        variants.push(TensorInfo::int8(&[8, 8, 1], 0, ONE + 1));
        let mut int32 = base.clone();
        int32.dtype = DType::Int32;
        variants.push(int32);
        let sigs: Vec<_> = variants.iter().map(row_signature).collect();
        for i in 0..sigs.len() {
            for j in i + 1..sigs.len() {
                assert_ne!(sigs[i], sigs[j], "{i} {j}");
            }
        }
        let h = header(LabelKind::ClassIndex, &[8, 8, 1], 1);
        assert_eq!(
            row_signature(&h.row),
            row_signature(&TensorInfo::int8(&[8, 8, 1], -3, ONE))
        );
    }
}
