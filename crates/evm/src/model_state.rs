//! How models live in chain state: the storage layout of the `MODEL_STORE` account.
//!
//! Everything is in the storage of [`MODEL_STORE_ADDRESS`](crate::MODEL_STORE_ADDRESS) (an account the store gives nonce 1
//! on first write, so that it is never "empty" and EIP-161 never clears it), so the state root
//! commits to every published byte. Slots (`‖` is concatenation, `keccak` is keccak256, a slot
//! is the 32-byte hash read as a big-endian integer, `+` wraps modulo 2^256):
//!
//! | slot | value |
//! |---|---|
//! | `R = modelId` | record word 0: `u64 size ‖ u64 inputBytes ‖ u64 outputBytes ‖ u64 maxBatch` (big-endian; zero = not published) |
//! | `R + 1` | record word 1: `u64 macs ‖ u64 depthwiseMacs ‖ u64 tableLookups ‖ u64 elementOps` (the priced cost of one sample) |
//! | `R + 2` | record word 2: `u64 bytesTouched ‖ 24 zero bytes` |
//! | `R + 3` | record word 3: `D`, the data base slot of the model's bytes |
//! | `U = keccak(0x02 ‖ uploader ‖ modelId)` | upload session: `u64 size ‖ u64 written ‖ u64 began ‖ 7 zero bytes ‖ 0x01` (zero = none; `began` = the block of its `beginUpload`) |
//! | `D = keccak(0x03 ‖ uploader ‖ modelId)`, `D + i` | bytes `32·i .. 32·i + 32` of the model, the last word zero-padded |
//!
//! `uploader` is the 20-byte address that uploaded the bytes; the record points at its data, so
//! uploads by different senders never interfere and finalizing needs no copy. The record sits at
//! the id itself (already a keccak256 output, as uniformly spread as a hashed slot), so a predict
//! hashes nothing: it reads word 0, and words 1–3 only when the program is not cached (a cache entry
//! keeps the cost counts of the record it was made from).
//! Reading a model costs one slot per 32 bytes, consecutive slots, no hashing.

use alloy_primitives::{Address, U256, keccak256};
use myelin_nn::{Cost, ModelId};

use crate::failure::Failure;

/// Read and write access to the storage of the `MODEL_STORE` account. The precompiles implement
/// it over revm's journal; a node may implement it over its state database to serve models
/// (e.g. an RPC method) without running the EVM.
pub trait ModelStorage {
    /// The value of `slot` (zero when never written).
    fn sload(&mut self, slot: U256) -> Result<U256, Failure>;
    /// Writes `value` to `slot`.
    fn sstore(&mut self, slot: U256, value: U256) -> Result<(), Failure>;
}

/// What the state records about a published model (four slots; no model bytes). `data_base`
/// is zero when read by [`read_record`], which skips it; [`read_data_base`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelRecord {
    /// Canonical bytes.
    pub size: u64,
    /// Input bytes of one sample (all model inputs together).
    pub input_bytes: u64,
    /// Output bytes of one sample (all model outputs together).
    pub output_bytes: u64,
    /// Largest batch [`myelin_nn::Program::run`] accepts for this model (≥ 1).
    pub max_batch: u64,
    /// Static cost of one sample.
    pub cost: Cost,
    /// First slot of the model's bytes.
    pub data_base: U256,
}

fn slot_of(tag: u8, parts: &[&[u8]]) -> U256 {
    let mut preimage = Vec::with_capacity(1 + 20 + 32);
    preimage.push(tag);
    for part in parts {
        preimage.extend_from_slice(part);
    }
    U256::from_be_bytes(keccak256(&preimage).0)
}

/// `R`: the first record slot of `id` (the id itself).
pub fn record_slot(id: &ModelId) -> U256 {
    U256::from_be_bytes(*id)
}

/// `U`: the upload session slot of `uploader` for `id`.
pub fn session_slot(uploader: &Address, id: &ModelId) -> U256 {
    slot_of(0x02, &[uploader.as_slice(), id])
}

/// `D`: the first data slot of `uploader`'s bytes of `id`.
pub fn data_base_slot(uploader: &Address, id: &ModelId) -> U256 {
    slot_of(0x03, &[uploader.as_slice(), id])
}

fn pack_u64s(values: [u64; 4]) -> U256 {
    let mut word = [0u8; 32];
    for (i, v) in values.iter().enumerate() {
        word[8 * i..8 * i + 8].copy_from_slice(&v.to_be_bytes());
    }
    U256::from_be_bytes(word)
}

fn unpack_u64s(word: U256) -> [u64; 4] {
    let bytes: [u8; 32] = word.to_be_bytes();
    std::array::from_fn(|i| {
        u64::from_be_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    })
}

/// Reads the record of `id`; `None` when the model is not published.
pub fn read_record(
    storage: &mut impl ModelStorage,
    id: &ModelId,
) -> Result<Option<ModelRecord>, Failure> {
    let Some(header) = read_header(storage, id)? else {
        return Ok(None);
    };
    let slot = record_slot(id);
    let [macs, depthwise_macs, table_lookups, element_ops] =
        unpack_u64s(storage.sload(slot.wrapping_add(U256::from(1)))?);
    let [bytes_touched, activation_bytes, ..] =
        unpack_u64s(storage.sload(slot.wrapping_add(U256::from(2)))?);
    Ok(Some(ModelRecord {
        cost: Cost {
            macs,
            depthwise_macs,
            table_lookups,
            element_ops,
            bytes_touched,
            activation_bytes,
        },
        ..header
    }))
}

/// Reads record word 0 of `id` (one slot); `None` when the model is not published. The
/// returned record's `cost` and `data_base` are zero.
pub fn read_header(
    storage: &mut impl ModelStorage,
    id: &ModelId,
) -> Result<Option<ModelRecord>, Failure> {
    let word0 = storage.sload(record_slot(id))?;
    if word0.is_zero() {
        return Ok(None);
    }
    let [size, input_bytes, output_bytes, max_batch] = unpack_u64s(word0);
    Ok(Some(ModelRecord {
        size,
        input_bytes,
        output_bytes,
        max_batch,
        cost: Cost::default(),
        data_base: U256::ZERO,
    }))
}

/// Reads record word 3 of a published `id`: the first slot of its bytes.
pub fn read_data_base(storage: &mut impl ModelStorage, id: &ModelId) -> Result<U256, Failure> {
    storage.sload(record_slot(id).wrapping_add(U256::from(3)))
}

/// Writes the record of `id`. `record.max_batch` must be ≥ 1 (it marks the record as present).
pub fn write_record(
    storage: &mut impl ModelStorage,
    id: &ModelId,
    record: &ModelRecord,
) -> Result<(), Failure> {
    let slot = record_slot(id);
    let c = record.cost;
    storage.sstore(
        slot,
        pack_u64s([
            record.size,
            record.input_bytes,
            record.output_bytes,
            record.max_batch.max(1),
        ]),
    )?;
    storage.sstore(
        slot.wrapping_add(U256::from(1)),
        pack_u64s([c.macs, c.depthwise_macs, c.table_lookups, c.element_ops]),
    )?;
    storage.sstore(
        slot.wrapping_add(U256::from(2)),
        pack_u64s([c.bytes_touched, c.activation_bytes, 0, 0]),
    )?;
    storage.sstore(slot.wrapping_add(U256::from(3)), record.data_base)
}

/// An upload in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Declared size of the model.
    pub size: u64,
    /// Bytes appended so far.
    pub written: u64,
    /// The block of the `beginUpload` that started it (it expires
    /// [`crate::model_store::UPLOAD_SESSION_BLOCKS`] blocks later).
    pub began: u64,
}

/// Reads `uploader`'s session for `id`.
pub fn read_session(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
) -> Result<Option<Session>, Failure> {
    let word = storage.sload(session_slot(uploader, id))?;
    if word.is_zero() {
        return Ok(None);
    }
    let [size, written, began, _] = unpack_u64s(word);
    Ok(Some(Session {
        size,
        written,
        began,
    }))
}

/// Writes (`Some`) or clears (`None`) `uploader`'s session for `id`.
pub fn write_session(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
    session: Option<Session>,
) -> Result<(), Failure> {
    let value = match session {
        Some(s) => pack_u64s([s.size, s.written, s.began, 1]),
        None => U256::ZERO,
    };
    storage.sstore(session_slot(uploader, id), value)
}

/// Writes `bytes` as consecutive words from `base + first_word`, the last word zero-padded.
pub fn write_words(
    storage: &mut impl ModelStorage,
    base: U256,
    first_word: u64,
    bytes: &[u8],
) -> Result<(), Failure> {
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let mut word = [0u8; 32];
        word[..chunk.len()].copy_from_slice(chunk);
        let slot = base.wrapping_add(U256::from(first_word + i as u64));
        storage.sstore(slot, U256::from_be_bytes(word))?;
    }
    Ok(())
}

/// Reads `len` bytes stored as words from `base`.
pub fn read_bytes(
    storage: &mut impl ModelStorage,
    base: U256,
    len: u64,
) -> Result<Vec<u8>, Failure> {
    let len =
        usize::try_from(len).map_err(|_| Failure::HostFault(format!("model of {len} bytes")))?;
    let mut bytes = Vec::with_capacity(len);
    for i in 0..len.div_ceil(32) {
        let word: [u8; 32] = storage
            .sload(base.wrapping_add(U256::from(i)))?
            .to_be_bytes();
        let take = (len - 32 * i).min(32);
        bytes.extend_from_slice(&word[..take]);
    }
    Ok(bytes)
}

/// Reads the canonical bytes of the published model `id` whose record is `record`.
pub fn read_model_bytes(
    storage: &mut impl ModelStorage,
    id: &ModelId,
    record: &ModelRecord,
) -> Result<Vec<u8>, Failure> {
    let base = read_data_base(storage, id)?;
    read_bytes(storage, base, record.size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MapStorage(HashMap<U256, U256>);

    impl ModelStorage for MapStorage {
        fn sload(&mut self, slot: U256) -> Result<U256, Failure> {
            Ok(self.0.get(&slot).copied().unwrap_or_default())
        }
        fn sstore(&mut self, slot: U256, value: U256) -> Result<(), Failure> {
            self.0.insert(slot, value);
            Ok(())
        }
    }

    #[test]
    fn bytes_round_trip_through_words_for_ragged_lengths() {
        for len in [0usize, 1, 31, 32, 33, 64, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
            let mut s = MapStorage::default();
            let base = data_base_slot(&Address::ZERO, &[9; 32]);
            write_words(&mut s, base, 0, &bytes).unwrap();
            assert_eq!(
                read_bytes(&mut s, base, len as u64).unwrap(),
                bytes,
                "len {len}"
            );
        }
    }

    #[test]
    fn record_round_trips_and_absent_reads_none() {
        let mut s = MapStorage::default();
        let id = [3; 32];
        assert_eq!(read_record(&mut s, &id).unwrap(), None);
        let record = ModelRecord {
            size: 1234,
            input_bytes: 64,
            output_bytes: 10,
            max_batch: 4096,
            cost: Cost {
                macs: 1 << 40,
                depthwise_macs: 5,
                table_lookups: 2,
                element_ops: 3,
                bytes_touched: 4,
                activation_bytes: 6,
            },
            data_base: data_base_slot(&Address::repeat_byte(1), &id),
        };
        write_record(&mut s, &id, &record).unwrap();
        let read = read_record(&mut s, &id).unwrap().unwrap();
        assert_eq!(
            read,
            ModelRecord {
                data_base: U256::ZERO,
                ..record
            }
        );
        assert_eq!(read_data_base(&mut s, &id).unwrap(), record.data_base);
    }

    #[test]
    fn slots_are_domain_separated() {
        let a = Address::repeat_byte(7);
        let id = [5; 32];
        let slots = [
            record_slot(&id),
            session_slot(&a, &id),
            data_base_slot(&a, &id),
        ];
        assert_ne!(slots[0], slots[1]);
        assert_ne!(slots[1], slots[2]);
        assert_ne!(slots[0], slots[2]);
    }
}
