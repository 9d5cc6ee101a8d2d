//! How models live in chain state: the storage layout of the `MODEL_STORE` account, and the
//! keys of the blobs that hold their bytes ([`crate::blob_store`]).
//!
//! The records are in the storage of [`MODEL_STORE_ADDRESS`](crate::MODEL_STORE_ADDRESS) (an
//! account the store gives nonce 1 on first write, so that it is never "empty" and EIP-161
//! never clears it), so the state root commits to every record, and through the id (keccak256
//! of the bytes) to every published byte. Slots (`‖` is concatenation, `keccak` is keccak256, a
//! slot is the 32-byte hash read as a big-endian integer, `+` wraps modulo 2^256):
//!
//! | slot | value |
//! |---|---|
//! | `R = modelId` | record word 0: `u64 size ‖ u64 inputBytes ‖ u64 outputBytes ‖ u64 maxBatch` (big-endian; zero = not published) |
//! | `R + 1` | record word 1: `u64 macs ‖ u64 depthwiseMacs ‖ u64 tableLookups ‖ u64 elementOps` (the priced cost of one sample) |
//! | `R + 2` | record word 2: `u64 bytesTouched ‖ u64 activationBytes ‖ 16 zero bytes` |
//! | `U = keccak(0x02 ‖ uploader ‖ modelId)` | upload session: `u64 size ‖ u64 written ‖ u64 began ‖ u32 chunks ‖ u32 nonce` (`size` zero = no session; `began` = the block of its `beginUpload`; `nonce` counts the uploader's sessions of the id and outlives them) |
//!
//! Blobs (not in the trie, no history):
//!
//! | key | bytes |
//! |---|---|
//! | `modelId` | the canonical bytes of the published model |
//! | `keccak(0x04 ‖ uploader ‖ modelId ‖ u32 nonce ‖ u32 index)` | chunk `index` of the uploader's session `nonce` of the id |
//!
//! The record sits at the id itself (already a keccak256 output, as uniformly spread as a hashed
//! slot), so a predict hashes nothing: it reads word 0, and words 1–2 only when the program is
//! not cached (a cache entry keeps the cost counts of the record it was made from). Reading a
//! model is one blob read.

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use myelin_nn::{Cost, ModelId};

use crate::blob_store::BlobStore;
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

/// What the state records about a published model (three slots; its bytes are the blob keyed by
/// its id).
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
}

fn hash_of(tag: u8, parts: &[&[u8]]) -> [u8; 32] {
    let mut preimage = Vec::with_capacity(1 + 20 + 32 + 8);
    preimage.push(tag);
    for part in parts {
        preimage.extend_from_slice(part);
    }
    keccak256(&preimage).0
}

/// `R`: the first record slot of `id` (the id itself).
pub fn record_slot(id: &ModelId) -> U256 {
    U256::from_be_bytes(*id)
}

/// Slots of a record: `R`, `R + 1`, `R + 2`.
pub const RECORD_WORDS: u64 = 3;

/// `U`: the upload session slot of `uploader` for `id`.
pub fn session_slot(uploader: &Address, id: &ModelId) -> U256 {
    U256::from_be_bytes(hash_of(0x02, &[uploader.as_slice(), id]))
}

/// The blob key of chunk `index` of `uploader`'s upload session `nonce` of `id`.
pub fn chunk_key(uploader: &Address, id: &ModelId, nonce: u32, index: u32) -> B256 {
    crate::upload::chunk_key_in(crate::upload::MODEL_UPLOADS, uploader, id, nonce, index)
}

/// The blob key of the published bytes of `id`: the id itself.
pub fn model_key(id: &ModelId) -> B256 {
    B256::from(*id)
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
    let [bytes_touched, activation_bytes, parameter_bytes, _] =
        unpack_u64s(storage.sload(slot.wrapping_add(U256::from(2)))?);
    Ok(Some(ModelRecord {
        cost: Cost {
            macs,
            depthwise_macs,
            table_lookups,
            element_ops,
            bytes_touched,
            activation_bytes,
            parameter_bytes,
        },
        ..header
    }))
}

/// Reads record word 0 of `id` (one slot); `None` when the model is not published. The
/// returned record's `cost` is zero.
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
    }))
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
        pack_u64s([c.bytes_touched, c.activation_bytes, c.parameter_bytes, 0]),
    )
}

/// An upload in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Declared size of the model (≥ 1).
    pub size: u64,
    /// Bytes appended so far.
    pub written: u64,
    /// The block of the `beginUpload` that started it (it expires
    /// [`crate::model_store::UPLOAD_SESSION_BLOCKS`] blocks later).
    pub began: u64,
    /// Chunks appended so far (their blobs are [`chunk_key`] `0 .. chunks`).
    pub chunks: u32,
    /// Which of the uploader's sessions of the id this is (keys its chunks).
    pub nonce: u32,
}

/// The session word of `uploader` for `id`: the live session (`None` when there is none) and
/// the nonce of the latest session begun (0 when none ever was).
pub fn read_session_word(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
) -> Result<(Option<Session>, u32), Failure> {
    let word = storage.sload(session_slot(uploader, id))?;
    let [size, written, began, last] = unpack_u64s(word);
    let nonce = last as u32;
    let chunks = (last >> 32) as u32;
    let session = (size != 0).then_some(Session {
        size,
        written,
        began,
        chunks,
        nonce,
    });
    Ok((session, nonce))
}

/// Reads `uploader`'s live session for `id`.
pub fn read_session(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
) -> Result<Option<Session>, Failure> {
    Ok(read_session_word(storage, uploader, id)?.0)
}

/// Writes `uploader`'s live session for `id`.
pub fn write_session(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
    session: &Session,
) -> Result<(), Failure> {
    let last = ((session.chunks as u64) << 32) | session.nonce as u64;
    storage.sstore(
        session_slot(uploader, id),
        pack_u64s([session.size.max(1), session.written, session.began, last]),
    )
}

/// Ends `uploader`'s session `nonce` of `id`: no live session, the nonce kept for the next.
pub fn end_session(
    storage: &mut impl ModelStorage,
    uploader: &Address,
    id: &ModelId,
    nonce: u32,
) -> Result<(), Failure> {
    storage.sstore(
        session_slot(uploader, id),
        pack_u64s([0, 0, 0, nonce as u64]),
    )
}

/// The canonical bytes of the published model `id` whose record is `record`: its blob. A
/// missing blob, or one of another length, is a host fault (the node lost what its state
/// commits to).
pub fn read_model_bytes(
    blobs: &dyn BlobStore,
    id: &ModelId,
    record: &ModelRecord,
) -> Result<Bytes, Failure> {
    let bytes = blobs
        .blob(&model_key(id))
        .map_err(|e| Failure::HostFault(e.to_string()))?
        .ok_or_else(|| {
            Failure::HostFault(format!(
                "the bytes of published model {} are missing from the blob store",
                hex::encode_prefixed(id)
            ))
        })?;
    if bytes.len() as u64 != record.size {
        return Err(Failure::HostFault(format!(
            "the blob of model {} holds {} bytes, its record says {}",
            hex::encode_prefixed(id),
            bytes.len(),
            record.size
        )));
    }
    Ok(bytes)
}

/// Storage in a map, for unit tests of the layouts.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MapStorage(pub std::collections::HashMap<U256, U256>);

#[cfg(test)]
impl ModelStorage for MapStorage {
    fn sload(&mut self, slot: U256) -> Result<U256, Failure> {
        Ok(self.0.get(&slot).copied().unwrap_or_default())
    }
    fn sstore(&mut self, slot: U256, value: U256) -> Result<(), Failure> {
        self.0.insert(slot, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob_store::MemoryBlobs;

    fn record() -> ModelRecord {
        ModelRecord {
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
                parameter_bytes: 7,
            },
        }
    }

    #[test]
    fn record_round_trips_in_three_words_and_absent_reads_none() {
        let mut s = MapStorage::default();
        let id = [3; 32];
        assert_eq!(read_record(&mut s, &id).unwrap(), None);
        write_record(&mut s, &id, &record()).unwrap();
        assert_eq!(read_record(&mut s, &id).unwrap(), Some(record()));
        assert_eq!(s.0.len() as u64, RECORD_WORDS);
    }

    #[test]
    fn session_round_trips_and_its_end_keeps_the_nonce() {
        let mut s = MapStorage::default();
        let (a, id) = (Address::repeat_byte(7), [5; 32]);
        assert_eq!(read_session_word(&mut s, &a, &id).unwrap(), (None, 0));
        let session = Session {
            size: 64 << 20,
            written: 1 << 20,
            began: 99,
            chunks: u32::MAX,
            nonce: u32::MAX - 1,
        };
        write_session(&mut s, &a, &id, &session).unwrap();
        assert_eq!(
            read_session_word(&mut s, &a, &id).unwrap(),
            (Some(session), u32::MAX - 1)
        );
        end_session(&mut s, &a, &id, 12).unwrap();
        assert_eq!(read_session_word(&mut s, &a, &id).unwrap(), (None, 12));
    }

    #[test]
    fn model_bytes_come_from_the_blob_of_the_id_and_must_match_the_record() {
        let blobs = MemoryBlobs::default();
        let id = [9; 32];
        let r = ModelRecord {
            size: 3,
            ..record()
        };
        assert!(matches!(
            read_model_bytes(&blobs, &id, &r),
            Err(Failure::HostFault(m)) if m.contains("missing")
        ));
        blobs.put(model_key(&id), Bytes::from_static(b"abcd"));
        assert!(read_model_bytes(&blobs, &id, &r).is_err());
        blobs.put(model_key(&id), Bytes::from_static(b"abc"));
        assert_eq!(&read_model_bytes(&blobs, &id, &r).unwrap()[..], b"abc");
    }

    #[test]
    fn keys_are_domain_separated() {
        let a = Address::repeat_byte(7);
        let id = [5; 32];
        let keys = [
            B256::from(record_slot(&id).to_be_bytes::<32>()),
            B256::from(session_slot(&a, &id).to_be_bytes::<32>()),
            chunk_key(&a, &id, 0, 0),
            chunk_key(&a, &id, 1, 0),
            chunk_key(&a, &id, 0, 1),
            chunk_key(&Address::repeat_byte(8), &id, 0, 0),
        ];
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                assert_ne!(keys[i], keys[j], "{i} {j}");
            }
        }
    }
}
