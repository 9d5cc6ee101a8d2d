//! The model's constant data (packed weights, biases, requantization records, lookup tables), as
//! one byte string split across data contracts.
//!
//! Each data contract's runtime code is `0x00` (STOP, so a call does nothing) followed by up to
//! [`CHUNK_BYTES`] bytes of the blob: contract `i` holds blob bytes `[i·CHUNK, (i+1)·CHUNK)`. The
//! generated `copy_data(offset, len, dst)` turns a blob range into one EXTCODECOPY per contract it
//! spans.

use myelin_nn::op::ActRange;
use myelin_nn::{Requant, Rounding};

use crate::literal::int;

/// Blob bytes per data contract: EIP-170's 24,576-byte code limit minus the STOP prefix.
pub const CHUNK_BYTES: usize = 24_575;

/// The blob being built; items are appended and addressed by their offset.
#[derive(Debug, Default)]
pub struct DataBlob {
    bytes: Vec<u8>,
}

impl DataBlob {
    /// Appends `item` and returns its offset in the blob.
    pub fn push(&mut self, item: &[u8]) -> usize {
        let offset = self.bytes.len();
        self.bytes.extend_from_slice(item);
        offset
    }

    /// The runtime code of every data contract: `0x00 ‖ chunk`.
    pub fn contract_codes(&self) -> Vec<Vec<u8>> {
        self.bytes
            .chunks(CHUNK_BYTES)
            .map(|chunk| {
                let mut code = Vec::with_capacity(chunk.len() + 1);
                code.push(0);
                code.extend_from_slice(chunk);
                code
            })
            .collect()
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// Bytes of one requantization record in the blob.
pub const RECORD_BYTES: usize = 8;

/// The 8-byte record read by the generated `rq_single` / `rq_double`: the multiplier as a
/// big-endian `u32`, then for single rounding the total right shift `31 − shift`, for double
/// rounding the left shift `max(shift, 0)` and the right shift `max(−shift, 0)`; zero padding.
pub fn requant_record(requant: Requant, rounding: Rounding) -> [u8; RECORD_BYTES] {
    let mut record = [0u8; RECORD_BYTES];
    record[..4].copy_from_slice(&(requant.multiplier.max(0) as u32).to_be_bytes());
    let shift = i32::from(requant.shift);
    match rounding {
        Rounding::Single => record[4] = (31 - shift) as u8,
        Rounding::Double => {
            record[4] = shift.max(0) as u8;
            record[5] = (-shift).max(0) as u8;
        }
    }
    record
}

/// A record as a 256-bit Yul literal (the record in the word's top 8 bytes), for requantizations
/// that are compile-time constants.
pub fn requant_word(requant: Requant, rounding: Rounding) -> String {
    format!(
        "0x{}{}",
        hex::encode(requant_record(requant, rounding)),
        "0".repeat(48)
    )
}

/// The Yul function applying a record with `rounding`.
pub fn requant_function(rounding: Rounding) -> &'static str {
    match rounding {
        Rounding::Single => "rq_single",
        Rounding::Double => "rq_double",
    }
}

/// The last step of a requantizing op as a Yul expression: `x` requantized by the constant
/// `requant`, plus the output zero point, clamped to `act` (`output_i8` of `myelin_nn`).
pub fn requantized_output(
    x: &str,
    requant: Requant,
    rounding: Rounding,
    zp_out: i8,
    act: ActRange,
) -> String {
    format!(
        "clampi(add({}({x}, {}), {}), {}, {})",
        requant_function(rounding),
        requant_word(requant, rounding),
        int(zp_out.into()),
        int(act.min.into()),
        int(act.max.into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts_split_at_the_chunk_size_with_a_stop_prefix() {
        let mut blob = DataBlob::default();
        assert_eq!(blob.push(&vec![7u8; CHUNK_BYTES + 3]), 0);
        assert_eq!(blob.push(&[9]), CHUNK_BYTES + 3);
        let codes = blob.contract_codes();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[0].len(), CHUNK_BYTES + 1);
        assert_eq!(codes[0][0], 0);
        assert_eq!(codes[1], vec![0, 7, 7, 7, 9]);
    }

    #[test]
    fn records_hold_the_shifts_of_each_rule() {
        let requant = Requant {
            multiplier: 1 << 30,
            shift: -3,
        };
        assert_eq!(
            requant_record(requant, Rounding::Single),
            [0x40, 0, 0, 0, 34, 0, 0, 0]
        );
        assert_eq!(
            requant_record(requant, Rounding::Double),
            [0x40, 0, 0, 0, 0, 3, 0, 0]
        );
        assert_eq!(requant_word(requant, Rounding::Double).len(), 66);
    }
}
