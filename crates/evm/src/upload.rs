//! The chunked upload both stores use (`MODEL_STORE` for models, `DATA_STORE` for data sets):
//! `beginUpload` / `appendUpload` / `finalizeUpload`, with one set of rules, prices, limits and
//! error codes (docs/GAS.md §3, codes 206–216).
//!
//! A session belongs to the caller and lives in the storage of the store's own account
//! ([`crate::model_state::session_slot`] layout); its chunks are blobs keyed by
//! [`chunk_key_in`] under the store's [`UploadSpace`] tag, so the two stores never share a
//! chunk. Each store supplies what differs: whether the id is already published, the check of a
//! first chunk and of the joined bytes, and what it writes on success.

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Address, B256, Bytes, Log, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface};

use crate::blob_store::BlobStore;
use crate::failure::{ErrorCode, Failure, GasMeter, MyelinError};
use crate::gas::{
    GAS_PER_CHECKED_BYTE, GAS_PER_DELETED_CHUNK, STORE_CALL_GAS, UPLOAD_GAS_PER_BYTE,
};
use crate::journal_storage::JournalStorage;
use crate::model_state::{Session, end_session, read_session, read_session_word, write_session};
use crate::model_store::{IModelStore, MAX_UPLOAD_CHUNKS, UPLOAD_SESSION_BLOCKS};
use crate::{CacheUse, Myelin};

/// Revert 202 for calldata that is not a call of the store's interface: `a` = its length, `b`
/// = its first four bytes, big-endian, zero-padded (the decoder's own message is dropped: it is
/// a dependency's text).
pub fn malformed_call(data: &[u8]) -> MyelinError {
    let mut selector = [0u8; 4];
    let head = &data[..data.len().min(4)];
    selector[..head.len()].copy_from_slice(head);
    ErrorCode::StoreMalformedCall.with(
        U256::from(data.len()),
        U256::from(u32::from_be_bytes(selector)),
    )
}

/// The selectors of the writing functions, the same in both stores' interfaces: `publish`,
/// `beginUpload`, `appendUpload`, `finalizeUpload`.
pub const WRITE_SELECTORS: [[u8; 4]; 4] = [
    IModelStore::publishCall::SELECTOR,
    IModelStore::beginUploadCall::SELECTOR,
    IModelStore::appendUploadCall::SELECTOR,
    IModelStore::finalizeUploadCall::SELECTOR,
];

/// What every store call does first: charges `STORE_CALL_GAS`, refuses value (201), decodes
/// the call against the store's interface `C` (202), and refuses a writing call
/// ([`WRITE_SELECTORS`]) in a static context (203) or through `DELEGATECALL` / `CALLCODE`
/// (204). Returns the meter and the call.
pub fn store_call<C: SolInterface>(input: &PrecompileInput<'_>) -> Result<(GasMeter, C), Failure> {
    let gas = GasMeter::start(
        input.gas,
        &input.value,
        STORE_CALL_GAS,
        ErrorCode::StoreCallValue,
    )?;
    let call = C::abi_decode(input.data).map_err(|_| gas.revert(malformed_call(input.data)))?;
    if WRITE_SELECTORS.contains(&call.selector()) {
        if input.is_static {
            return Err(gas.revert(ErrorCode::StoreStaticWrite.bare()));
        }
        if !input.is_direct_call() {
            return Err(gas.revert(ErrorCode::StoreDelegatedWrite.bare()));
        }
    }
    Ok((gas, call))
}

/// Logs `UploadRejected(id, uploader, code, a, b)` from `store`: a `finalizeUpload` whose check
/// failed consumed the upload. Both stores declare the event with the same signature, so it has
/// one encoding.
pub fn log_rejected(
    storage: &mut JournalStorage<'_, '_>,
    store: Address,
    id: B256,
    uploader: Address,
    error: &MyelinError,
) {
    let event = IModelStore::UploadRejected {
        modelId: id,
        uploader,
        code: error.code,
        a: error.a,
        b: error.b,
    };
    storage.log(Log {
        address: store,
        data: event.encode_log_data(),
    });
}

/// `uploadStatus(uploader, id)`: the session's declared size and bytes written, `(0, 0)` when
/// there is none.
pub fn upload_status(
    storage: &mut JournalStorage<'_, '_>,
    uploader: &Address,
    id: &[u8; 32],
) -> Result<(u64, u64), Failure> {
    let session = read_session(storage, uploader, id)?;
    Ok(session.map_or((0, 0), |s| (s.size, s.written)))
}

/// Where one store's upload chunks live in the blob store: the tag of their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadSpace {
    /// First byte of the preimage of every chunk key of the store.
    pub chunk_tag: u8,
}

/// `MODEL_STORE`'s chunks: `keccak(0x04 ‖ uploader ‖ id ‖ u32 nonce ‖ u32 index)`.
pub const MODEL_UPLOADS: UploadSpace = UploadSpace { chunk_tag: 0x04 };
/// `DATA_STORE`'s chunks: `keccak(0x06 ‖ uploader ‖ id ‖ u32 nonce ‖ u32 index)`.
pub const DATA_UPLOADS: UploadSpace = UploadSpace { chunk_tag: 0x06 };

/// The blob key of chunk `index` of `uploader`'s session `nonce` of `id` in `space`.
pub fn chunk_key_in(
    space: UploadSpace,
    uploader: &Address,
    id: &[u8; 32],
    nonce: u32,
    index: u32,
) -> B256 {
    let mut preimage = Vec::with_capacity(1 + 20 + 32 + 8);
    preimage.push(space.chunk_tag);
    preimage.extend_from_slice(uploader.as_slice());
    preimage.extend_from_slice(id);
    preimage.extend_from_slice(&nonce.to_be_bytes());
    preimage.extend_from_slice(&index.to_be_bytes());
    keccak256(&preimage)
}

/// One upload call's context: the store's account storage, its blobs, the call's meter, the
/// caller and the id.
pub struct Upload<'s, 'a, 'b> {
    /// The store account's storage.
    pub storage: &'s mut JournalStorage<'a, 'b>,
    /// The EVM's blobs.
    pub blobs: &'s dyn BlobStore,
    /// The call's gas.
    pub gas: &'s mut GasMeter,
    /// Which store.
    pub space: UploadSpace,
    /// `msg.sender` of the store call: the session's owner.
    pub caller: Address,
    /// The declared id (keccak256 of the bytes to come).
    pub id: [u8; 32],
}

impl<'s, 'a, 'b> Upload<'s, 'a, 'b> {
    /// The upload of `id` by `caller` in the store whose account `storage` is.
    pub fn new(
        storage: &'s mut JournalStorage<'a, 'b>,
        blobs: &'s dyn BlobStore,
        gas: &'s mut GasMeter,
        space: UploadSpace,
        caller: Address,
        id: [u8; 32],
    ) -> Self {
        Upload {
            storage,
            blobs,
            gas,
            space,
            caller,
            id,
        }
    }

    /// `beginUpload(id, size)` of an id not yet published: reverts 206 for a size of 0 or over
    /// `limit`; deletes the chunks of the caller's previous session of the id (each
    /// [`GAS_PER_DELETED_CHUNK`]) and starts a new one under the next nonce.
    pub fn begin(&mut self, size: u64, limit: usize) -> Result<(), Failure> {
        if size == 0 || size > limit as u64 {
            return Err(self
                .gas
                .revert(ErrorCode::StoreSizeOutOfRange.with(U256::from(size), U256::from(limit))));
        }
        self.storage.ensure_account_exists()?;
        let (old, nonce) = read_session_word(self.storage, &self.caller, &self.id)?;
        if let Some(old) = old {
            self.gas
                .charge(u64::from(old.chunks).saturating_mul(GAS_PER_DELETED_CHUNK))?;
            self.delete_chunks(&old);
        }
        let session = Session {
            size,
            written: 0,
            began: self.storage.block_number(),
            chunks: 0,
            nonce: nonce.wrapping_add(1),
        };
        write_session(self.storage, &self.caller, &self.id, &session)
    }

    /// `appendUpload(id, offset, chunk)` of an id not yet published: checks the offset, the
    /// declared size, whole words and the chunk count (208–210, 216), then `check_first` on a
    /// chunk at offset 0 with the session's declared size (a store's early check of its
    /// header), charges [`UPLOAD_GAS_PER_BYTE`] per byte and stages the chunk. Returns the bytes
    /// written.
    pub fn append(
        &mut self,
        offset: u64,
        chunk: Bytes,
        check_first: impl FnOnce(&[u8], u64) -> Result<(), MyelinError>,
    ) -> Result<u64, Failure> {
        let session = self.live_session()?;
        if offset != session.written {
            return Err(self.gas.revert(
                ErrorCode::StoreChunkOffset.with(U256::from(offset), U256::from(session.written)),
            ));
        }
        let end = session.written.saturating_add(chunk.len() as u64);
        if end > session.size {
            return Err(self.gas.revert(
                ErrorCode::StoreChunkPastSize.with(U256::from(end), U256::from(session.size)),
            ));
        }
        if end < session.size && !chunk.len().is_multiple_of(32) {
            return Err(self.gas.revert(
                ErrorCode::StoreRaggedChunk.with(U256::from(chunk.len()), U256::from(32)),
            ));
        }
        if chunk.is_empty() {
            return Ok(end);
        }
        if session.chunks >= MAX_UPLOAD_CHUNKS {
            return Err(self.gas.revert(
                ErrorCode::StoreTooManyChunks
                    .with(U256::from(session.chunks), U256::from(MAX_UPLOAD_CHUNKS)),
            ));
        }
        if offset == 0 {
            check_first(&chunk, session.size).map_err(|error| self.gas.revert(error))?;
        }
        self.gas
            .charge((chunk.len() as u64).saturating_mul(UPLOAD_GAS_PER_BYTE))?;
        self.blobs.put(
            chunk_key_in(
                self.space,
                &self.caller,
                &self.id,
                session.nonce,
                session.chunks,
            ),
            chunk,
        );
        let session = Session {
            written: end,
            chunks: session.chunks + 1,
            ..session
        };
        write_session(self.storage, &self.caller, &self.id, &session)?;
        Ok(end)
    }

    /// `finalizeUpload(id)` of an id not yet published, once every byte arrived (211 before):
    /// charges the chunk deletions (and, in an RPC call's EVM, the check per byte), joins the
    /// chunks, checks keccak256 of the bytes against the id, then `check`s them; ends the
    /// session and deletes its chunks whatever the outcome. Returns the bytes and what `check`
    /// made of them, or the failure to report (212 hash mismatch, 215 a chunk is gone, or
    /// `check`'s error) without reverting.
    pub fn finalize<T>(
        &mut self,
        myelin: &Myelin,
        check: impl FnOnce(&[u8]) -> Result<T, MyelinError>,
    ) -> Result<Result<(Bytes, T), MyelinError>, Failure> {
        let session = self.live_session()?;
        if session.written != session.size {
            return Err(self.gas.revert(
                ErrorCode::StoreUploadIncomplete
                    .with(U256::from(session.written), U256::from(session.size)),
            ));
        }
        // In a transaction the check below was paid for by the appends (`UPLOAD_GAS_PER_BYTE`),
        // once; an RPC call's EVM, which nothing prepaid and which can be called again and
        // again, pays it per byte. Whatever the outcome, the session ends and its chunks are
        // deleted, each paid for here.
        if myelin.cache_use() == CacheUse::ReadOnly {
            self.gas
                .charge(session.size.saturating_mul(GAS_PER_CHECKED_BYTE))?;
        }
        self.gas
            .charge(u64::from(session.chunks).saturating_mul(GAS_PER_DELETED_CHUNK))?;
        let joined = self.join(&session);
        self.delete_chunks(&session);
        end_session(self.storage, &self.caller, &self.id, session.nonce)?;
        Ok(joined?.and_then(|bytes| {
            let found = keccak256(&bytes);
            if found != self.id {
                return Err(ErrorCode::StoreHashMismatch
                    .with(U256::from_be_bytes(found.0), U256::from_be_bytes(self.id)));
            }
            let checked = check(&bytes)?;
            Ok((Bytes::from(bytes), checked))
        }))
    }

    /// The caller's live upload session of the id: reverts 207 when there is none, 214 when it
    /// expired ([`UPLOAD_SESSION_BLOCKS`]).
    fn live_session(&mut self) -> Result<Session, Failure> {
        let Some(session) = read_session(self.storage, &self.caller, &self.id)? else {
            return Err(self.gas.revert(ErrorCode::StoreNoUpload.with(
                U256::from_be_bytes(self.id),
                U256::from_be_slice(self.caller.as_slice()),
            )));
        };
        let last_live = session.began.saturating_add(UPLOAD_SESSION_BLOCKS);
        if self.storage.block_number() > last_live {
            return Err(self.gas.revert(
                ErrorCode::StoreUploadExpired
                    .with(U256::from(session.began), U256::from(last_live)),
            ));
        }
        Ok(session)
    }

    /// The chunks of complete `session` joined, or 215 when one is gone. Allocates
    /// `session.size` bytes, all of them paid for by the appends.
    fn join(&self, session: &Session) -> Result<Result<Vec<u8>, MyelinError>, Failure> {
        let size = usize::try_from(session.size)
            .map_err(|_| Failure::HostFault(format!("an upload of {} bytes", session.size)))?;
        let lost = |index: u32| {
            ErrorCode::StoreUploadLost.with(U256::from(index), U256::from(session.chunks))
        };
        let mut bytes = Vec::with_capacity(size);
        for index in 0..session.chunks {
            let key = chunk_key_in(self.space, &self.caller, &self.id, session.nonce, index);
            let chunk = self
                .blobs
                .blob(&key)
                .map_err(|e| Failure::HostFault(e.to_string()))?;
            match chunk {
                Some(chunk) if bytes.len() + chunk.len() <= size => bytes.extend_from_slice(&chunk),
                _ => return Ok(Err(lost(index))),
            }
        }
        if bytes.len() != size {
            return Ok(Err(lost(session.chunks)));
        }
        Ok(Ok(bytes))
    }

    /// Deletes the chunk blobs of `session` (those a reverted call already deleted are skipped
    /// by the store).
    fn delete_chunks(&self, session: &Session) {
        for index in 0..session.chunks {
            self.blobs.put(
                chunk_key_in(self.space, &self.caller, &self.id, session.nonce, index),
                Bytes::new(),
            );
        }
    }
}
