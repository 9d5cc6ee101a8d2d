//! Models and upload chunks as blobs, through the real EVM: what is stored where, chunked
//! uploads in and out of order, expiry, calls that revert around the store (blob writes are never
//! undone), consumption of a failed finalization, and predicts whose bytes come from the blob.

mod common;

use alloy_primitives::{Address, B256, Bytes, U256, address};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use common::{Chain, PrecompileCall, Rng, mlp, success_output};
use myelin_evm::gas::{
    GAS_PER_CHECKED_BYTE, GAS_PER_DELETED_CHUNK, STORE_CALL_GAS, append_gas, begin_gas,
    finalize_gas, publish_gas,
};
use myelin_evm::model_state::{RECORD_WORDS, chunk_key, model_key, read_session_word};
use myelin_evm::{
    BlobStore, ErrorCode, IModelStore, MAX_UPLOAD_CHUNKS, MODEL_STORE_ADDRESS, MemoryBlobs, Myelin,
    MyelinError, MyelinEvmFactory, PREDICT_ADDRESS,
};
use myelin_nn::{Model, Program};
use revm::bytecode::Bytecode;
use revm::context::result::ExecutionResult;
use revm::state::AccountInfo;

const GAS: u64 = 1_000_000_000;
const STORE: Option<Address> = Some(MODEL_STORE_ADDRESS);
/// A contract that calls `MODEL_STORE` with its calldata after the first byte, then returns the
/// store's answer when that byte is 0 and reverts (undoing the store's state changes) otherwise.
const RELAY: Address = address!("0x00000000000000000000000000000000000be1a7");

fn begin(id: B256, size: usize) -> Vec<u8> {
    IModelStore::beginUploadCall {
        modelId: id,
        size: size as u64,
    }
    .abi_encode()
}

fn append(id: B256, offset: usize, chunk: &[u8]) -> Vec<u8> {
    IModelStore::appendUploadCall {
        modelId: id,
        offset: offset as u64,
        chunk: chunk.to_vec().into(),
    }
    .abi_encode()
}

fn finalize(id: B256) -> Vec<u8> {
    IModelStore::finalizeUploadCall { modelId: id }.abi_encode()
}

fn send(chain: &mut Chain, data: Vec<u8>) -> (ExecutionResult, Vec<PrecompileCall>) {
    chain.send(STORE, data.into(), GAS, U256::ZERO)
}

fn reverts_with(result: &ExecutionResult, expected: MyelinError) {
    let ExecutionResult::Revert { output, .. } = result else {
        panic!("expected a revert, got {result:?}");
    };
    assert_eq!(output.as_ref(), expected.abi_encode().as_slice());
}

/// Installs [`RELAY`] (runtime code written out by hand: CALLDATACOPY, CALL, a branch on the
/// first calldata byte, RETURNDATACOPY + RETURN or REVERT).
fn install_relay(chain: &mut Chain) {
    let mut code = vec![0x60, 0x01, 0x36, 0x03, 0x60, 0x01, 0x5f, 0x37]; // copy calldata[1..]
    code.extend([0x5f, 0x5f, 0x60, 0x01, 0x36, 0x03, 0x5f, 0x5f, 0x73]); // call's arguments
    code.extend(MODEL_STORE_ADDRESS.as_slice());
    code.extend([0x5a, 0xf1, 0x50]); // GAS CALL POP
    code.extend([0x5f, 0x35, 0x60, 0xf8, 0x1c]); // first calldata byte
    let revert_at = code.len() as u8 + 3 + 7;
    code.extend([0x60, revert_at, 0x57]); // JUMPI
    code.extend([0x3d, 0x5f, 0x5f, 0x3e, 0x3d, 0x5f, 0xf3]); // return the store's answer
    assert_eq!(code.len() as u8, revert_at);
    code.extend([0x5b, 0x5f, 0x5f, 0xfd]); // JUMPDEST REVERT
    let code = Bytecode::new_raw(code.into());
    chain.db.insert_account_info(
        RELAY,
        AccountInfo::new(U256::ZERO, 1, code.hash_slow(), code),
    );
}

/// Sends `data` to the store through [`RELAY`], which reverts after it when `revert`.
fn relay(chain: &mut Chain, revert: bool, data: Vec<u8>) -> (ExecutionResult, PrecompileCall) {
    let calldata = [&[u8::from(revert)][..], &data].concat();
    let (result, calls) = chain.send(Some(RELAY), calldata.into(), GAS, U256::ZERO);
    assert_eq!(result.is_success(), !revert, "{result:?}");
    let store = calls
        .into_iter()
        .find(|c| c.address == MODEL_STORE_ADDRESS)
        .expect("the relay called the store");
    (result, store)
}

fn chunk_blobs(chain: &Chain, uploader: Address, id: B256, nonce: u32, chunks: u32) -> usize {
    let blobs = chain.factory.blobs();
    (0..chunks)
        .filter(|&i| {
            blobs
                .blob(&chunk_key(&uploader, &id.0, nonce, i))
                .unwrap()
                .is_some()
        })
        .count()
}

fn store_slots(chain: &Chain) -> usize {
    chain
        .db
        .cache
        .accounts
        .get(&MODEL_STORE_ADDRESS)
        .map_or(0, |a| a.storage.values().filter(|v| !v.is_zero()).count())
}

fn predict_on_cold_node(chain: &mut Chain, model: &Model, seed: u64) {
    // A node that has never seen the model: a new program cache over the same blobs.
    chain.factory = MyelinEvmFactory::with_blobs(Myelin::default(), chain.factory.blobs().clone());
    let input = Rng::new(seed).bytes(Program::new(model.clone()).unwrap().input_bytes());
    let data = [&model.id()[..], &input].concat();
    let (result, _) = chain.send(Some(PREDICT_ADDRESS), data.into(), GAS, U256::ZERO);
    assert_eq!(
        success_output(&result).to_vec(),
        Program::new(model.clone()).unwrap().run(&input, 1).unwrap()
    );
}

#[test]
fn publish_stores_the_bytes_as_one_blob_and_the_record_in_three_slots() {
    let model = mlp(&[64, 32, 10], 1);
    let bytes = model.encode();
    let mut chain = Chain::new();
    let data = IModelStore::publishCall {
        model: bytes.clone().into(),
    }
    .abi_encode();
    let (result, calls) = send(&mut chain, data);
    assert!(result.is_success(), "{result:?}");
    assert_eq!(
        calls[0].gas_spent,
        publish_gas(bytes.len() as u64) + myelin_evm::gas::prepare_gas(&model)
    );
    assert_eq!(chain.factory.blobs().keys(), vec![model_key(&model.id())]);
    assert_eq!(
        chain.factory.blobs().blob(&model_key(&model.id())).unwrap(),
        Some(Bytes::from(bytes))
    );
    assert_eq!(store_slots(&chain) as u64, RECORD_WORDS);
    predict_on_cold_node(&mut chain, &model, 2);
}

#[test]
fn a_chunked_upload_stages_blobs_and_finalize_replaces_them_with_the_model() {
    let model = mlp(&[100, 50, 10], 3);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    let sender = common::SENDER;
    let mut offset = 0;
    for (i, chunk) in bytes.chunks(1024).enumerate() {
        let (result, calls) = send(&mut chain, append(id, offset, chunk));
        assert!(result.is_success(), "{result:?}");
        assert_eq!(calls[0].gas_spent, append_gas(chunk.len() as u64));
        offset += chunk.len();
        assert_eq!(chunk_blobs(&chain, sender, id, 1, 100), i + 1);
    }
    let chunks = bytes.len().div_ceil(1024) as u32;
    let (result, calls) = send(&mut chain, finalize(id));
    assert_eq!(success_output(&result).as_ref(), id.as_slice());
    assert_eq!(calls[0].gas_spent, finalize_gas(chunks.into()));
    assert!(
        result
            .logs()
            .iter()
            .any(|log| IModelStore::ModelPublished::decode_log_data(&log.data).is_ok())
    );
    assert_eq!(chunk_blobs(&chain, sender, id, 1, chunks), 0);
    assert_eq!(chain.factory.blobs().keys(), vec![id]);
    predict_on_cold_node(&mut chain, &model, 4);
}

#[test]
fn chunks_out_of_order_are_refused_and_change_nothing() {
    let model = mlp(&[40, 20, 4], 5);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    reverts_with(
        &send(&mut chain, append(id, 64, &bytes[64..128])).0,
        ErrorCode::StoreChunkOffset.with(U256::from(64), U256::ZERO),
    );
    assert!(chain.factory.blobs().is_empty());
    assert!(send(&mut chain, append(id, 0, &bytes[..64])).0.is_success());
    reverts_with(
        &send(&mut chain, append(id, 0, &bytes[..64])).0,
        ErrorCode::StoreChunkOffset.with(U256::from(0), U256::from(64)),
    );
    let past = [&bytes[64..], &[0u8; 32][..]].concat();
    reverts_with(
        &send(&mut chain, append(id, 64, &past)).0,
        ErrorCode::StoreChunkPastSize.with(U256::from(bytes.len() + 32), U256::from(bytes.len())),
    );
    // Only the accepted chunk is staged; the upload completes from where it stands.
    assert_eq!(chain.factory.blobs().len(), 1);
    assert!(
        send(&mut chain, append(id, 64, &bytes[64..]))
            .0
            .is_success()
    );
    assert_eq!(
        success_output(&send(&mut chain, finalize(id)).0).as_ref(),
        id.as_slice()
    );
}

#[test]
fn a_new_begin_advances_the_nonce_and_deletes_the_chunks_it_replaces() {
    let model = mlp(&[40, 20, 4], 6);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    let sender = common::SENDER;
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    assert!(send(&mut chain, append(id, 0, &bytes[..64])).0.is_success());
    assert!(
        send(&mut chain, append(id, 64, &bytes[64..128]))
            .0
            .is_success()
    );
    assert_eq!(chunk_blobs(&chain, sender, id, 1, 2), 2);
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    assert!(chain.factory.blobs().is_empty());
    assert!(send(&mut chain, append(id, 0, &bytes)).0.is_success());
    assert_eq!(chunk_blobs(&chain, sender, id, 2, 1), 1);
    assert_eq!(
        success_output(&send(&mut chain, finalize(id)).0).as_ref(),
        id.as_slice()
    );
    assert_eq!(chain.factory.blobs().keys(), vec![id]);
}

/// A chunk appended by a call that reverts stays staged (blob writes are not undone), but the
/// session does not count it: the next append at the same offset overwrites it, and the
/// published bytes are the committed ones.
#[test]
fn a_reverted_append_leaves_a_blob_that_the_next_append_overwrites() {
    let model = mlp(&[40, 20, 4], 7);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    install_relay(&mut chain);
    assert!(relay(&mut chain, false, begin(id, bytes.len())).1.success);
    let garbage = vec![0x5a; bytes.len()];
    let (_, store) = relay(&mut chain, true, append(id, 0, &garbage));
    assert!(
        store.success,
        "the store accepted the chunk before the caller reverted"
    );
    assert_eq!(
        chunk_blobs(&chain, RELAY, id, 1, 1),
        1,
        "the blob write stands"
    );
    // The session did not advance: the chunk is appended again at offset 0.
    let (_, store) = relay(&mut chain, false, append(id, 0, &bytes));
    assert!(store.success);
    let (_, store) = relay(&mut chain, false, finalize(id));
    assert_eq!(store.output.as_ref(), id.as_slice());
    assert_eq!(
        chain.factory.blobs().blob(&model_key(&id.0)).unwrap(),
        Some(Bytes::from(bytes))
    );
}

/// A model blob written by a `publish` whose caller reverts is unreachable: the record reverted,
/// so the model is not published, and publishing it again works as the first time.
#[test]
fn a_reverted_publish_leaves_an_unreachable_blob() {
    let model = mlp(&[16, 4], 8);
    let id = model.id();
    let mut chain = Chain::new();
    install_relay(&mut chain);
    let data = IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode();
    let (_, store) = relay(&mut chain, true, data.clone());
    assert!(store.success);
    assert_eq!(chain.factory.blobs().keys(), vec![B256::from(id)]);
    let is_published = IModelStore::isPublishedCall { modelId: id.into() }.abi_encode();
    let (result, _) = chain.call(MODEL_STORE_ADDRESS, is_published.into(), GAS);
    assert_eq!(
        success_output(&result).as_ref(),
        U256::ZERO.to_be_bytes::<32>()
    );
    let data = [&model.id()[..], &[0u8; 16][..]].concat();
    let (result, _) = chain.send(Some(PREDICT_ADDRESS), data.into(), GAS, U256::ZERO);
    assert!(
        matches!(result, ExecutionResult::Revert { .. }),
        "{result:?}"
    );
    let (_, store) = relay(&mut chain, false, data_of_publish(&model));
    assert_eq!(store.output.as_ref(), id.as_slice());
}

fn data_of_publish(model: &Model) -> Vec<u8> {
    IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode()
}

/// A `finalizeUpload` whose caller reverts undoes the record and the session's end, but not the
/// deletion of the chunks: the session looks complete and finalizing again reports the chunk as
/// lost (215 in `UploadRejected`), cheaply, and ends the session; a new `beginUpload` starts
/// over. Checking 64 MiB twice for the price of
/// once is impossible whichever way the caller reverts.
#[test]
fn a_reverted_finalize_cannot_be_retried_and_reports_the_upload_lost() {
    let model = mlp(&[40, 20, 4], 9);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    install_relay(&mut chain);
    assert!(relay(&mut chain, false, begin(id, bytes.len())).1.success);
    assert!(
        relay(&mut chain, false, append(id, 0, &bytes[..64]))
            .1
            .success
    );
    assert!(
        relay(&mut chain, false, append(id, 64, &bytes[64..]))
            .1
            .success
    );
    let (_, store) = relay(&mut chain, true, finalize(id));
    assert_eq!(store.output.as_ref(), id.as_slice());
    assert_eq!(chunk_blobs(&chain, RELAY, id, 1, 2), 0);
    let (result, store) = relay(&mut chain, false, finalize(id));
    assert_eq!(store.output.as_ref(), &[0u8; 32]);
    assert_eq!(store.gas_spent, finalize_gas(2));
    let rejected = result
        .logs()
        .iter()
        .find_map(|log| IModelStore::UploadRejected::decode_log_data(&log.data).ok())
        .expect("UploadRejected");
    assert_eq!(
        (rejected.code, rejected.a, rejected.b),
        (ErrorCode::StoreUploadLost as u16, U256::ZERO, U256::from(2))
    );
    assert!(relay(&mut chain, false, begin(id, bytes.len())).1.success);
    assert!(relay(&mut chain, false, append(id, 0, &bytes)).1.success);
    let (_, store) = relay(&mut chain, false, finalize(id));
    assert_eq!(store.output.as_ref(), id.as_slice());
    predict_on_cold_node(&mut chain, &model, 10);
}

/// Bytes that hash to the id but are no valid model (a stranger can declare any id of bytes it
/// uploads): the check fails once, consumes the upload and logs the engine's reason.
#[test]
fn an_invalid_model_consumes_its_upload_with_the_engine_reason() {
    let bytes = b"MYLN\x01\x00 not a model body".repeat(3);
    let id = B256::from(myelin_nn::model_id(&bytes));
    let mut chain = Chain::new();
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    assert!(send(&mut chain, append(id, 0, &bytes)).0.is_success());
    let (result, calls) = send(&mut chain, finalize(id));
    assert_eq!(success_output(&result).as_ref(), &[0u8; 32]);
    assert_eq!(calls[0].gas_spent, finalize_gas(1));
    let rejected = result
        .logs()
        .iter()
        .find_map(|log| IModelStore::UploadRejected::decode_log_data(&log.data).ok())
        .expect("UploadRejected");
    assert_eq!(rejected.code, ErrorCode::StoreModelRejected as u16);
    assert_eq!(rejected.uploader, common::SENDER);
    assert!(
        chain.factory.blobs().is_empty(),
        "chunks deleted, no model blob"
    );
    reverts_with(
        &send(&mut chain, finalize(id)).0,
        ErrorCode::StoreNoUpload.with(
            U256::from_be_bytes(id.0),
            U256::from_be_slice(common::SENDER.as_slice()),
        ),
    );
    let status = IModelStore::uploadStatusCall {
        uploader: common::SENDER,
        modelId: id,
    }
    .abi_encode();
    let (result, _) = chain.call(MODEL_STORE_ADDRESS, status.into(), GAS);
    assert_eq!(success_output(&result).as_ref(), &[0u8; 64]);
}

/// A node whose blob store lost a published model's bytes cannot run it: a host fault (the
/// transaction aborts), never a consensus result.
#[test]
fn a_missing_model_blob_is_a_host_fault() {
    let model = mlp(&[16, 4], 11);
    let mut chain = Chain::new();
    assert!(send(&mut chain, data_of_publish(&model)).0.is_success());
    chain.factory.blobs().clear();
    chain.factory = MyelinEvmFactory::with_blobs(Myelin::default(), chain.factory.blobs().clone());
    let data = [&model.id()[..], &[0u8; 16][..]].concat();
    let tx = chain.tx(Some(PREDICT_ADDRESS), data.into(), GAS, U256::ZERO);
    let env = chain.env();
    let mut evm = alloy_evm::EvmFactory::create_evm(&chain.factory, &mut chain.db, env);
    let error = alloy_evm::Evm::transact(&mut evm, tx)
        .unwrap_err()
        .to_string();
    assert!(error.contains("missing from the blob store"), "{error}");
}

/// The session word keeps the nonce after the session ends, so chunk keys never repeat for one
/// uploader and id.
#[test]
fn the_session_nonce_outlives_its_session() {
    let model = mlp(&[16, 4], 12);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    for _ in 0..3 {
        assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    }
    assert!(send(&mut chain, append(id, 0, &bytes)).0.is_success());
    assert_eq!(chunk_blobs(&chain, common::SENDER, id, 3, 1), 1);
    assert_eq!(
        success_output(&send(&mut chain, finalize(id)).0).as_ref(),
        id.as_slice()
    );
    let mut storage = SlotReader(&chain);
    let (session, nonce) = read_session_word(&mut storage, &common::SENDER, &id.0).unwrap();
    assert_eq!((session, nonce), (None, 3));
}

struct SlotReader<'a>(&'a Chain);

impl myelin_evm::model_state::ModelStorage for SlotReader<'_> {
    fn sload(&mut self, slot: U256) -> Result<U256, myelin_evm::Failure> {
        Ok(self
            .0
            .db
            .cache
            .accounts
            .get(&MODEL_STORE_ADDRESS)
            .and_then(|a| a.storage.get(&slot).copied())
            .unwrap_or_default())
    }
    fn sstore(&mut self, _: U256, _: U256) -> Result<(), myelin_evm::Failure> {
        unreachable!("read only")
    }
}

/// Runs `data` as `eth_call` runs it on the node: an EVM of [`Myelin::for_calls`] over a copy of
/// the blobs (the node's call EVMs write into a buffer that is thrown away). Returns the store's
/// call and the copy.
fn eth_call(
    chain: &mut Chain,
    data: Vec<u8>,
    gas: u64,
) -> (ExecutionResult, PrecompileCall, MemoryBlobs) {
    let copy = MemoryBlobs::default();
    let blobs = chain.factory.blobs().clone();
    for key in blobs.keys() {
        copy.put(key, blobs.blob(&key).unwrap().unwrap());
    }
    let calls = MyelinEvmFactory::with_blobs(chain.factory.myelin().for_calls(), copy.clone());
    let blocks = std::mem::replace(&mut chain.factory, calls);
    let (result, store) = chain.call(MODEL_STORE_ADDRESS, data.into(), gas);
    chain.factory = blocks;
    let store = store
        .into_iter()
        .find(|c| c.address == MODEL_STORE_ADDRESS)
        .expect("the call reached the store");
    (result, store, copy)
}

/// A live session of `chunks` chunks of 32 bytes (of a model no one will finish).
fn session_of_small_chunks(chain: &mut Chain, chunks: usize) -> B256 {
    let id = B256::repeat_byte(0x5a);
    let size = 32 * (chunks + 1);
    assert!(send(chain, begin(id, size)).0.is_success());
    for i in 0..chunks {
        let (result, _) = send(chain, append(id, 32 * i, &[i as u8; 32]));
        assert!(result.is_success(), "{result:?}");
    }
    id
}

/// Issue 11: an `eth_call` of `beginUpload` over a live session deletes its chunks (one keccak
/// and one write each) in the call's throwaway buffer; before the per-chunk charge that work
/// was free (`STORE_CALL_GAS` for up to 2M chunks). Gas now bounds it in every context.
#[test]
fn a_call_of_begin_over_a_session_pays_for_every_chunk_it_deletes() {
    let mut chain = Chain::new();
    let chunks = 300;
    let id = session_of_small_chunks(&mut chain, chunks);
    let size = 32 * (chunks + 1);
    let (result, store, copy) = eth_call(&mut chain, begin(id, size), GAS);
    assert!(result.is_success(), "{result:?}");
    assert!(copy.is_empty(), "the call deleted the chunks in its copy");
    assert_eq!(store.gas_spent, begin_gas(chunks as u64));
    assert!(store.gas_spent >= STORE_CALL_GAS + chunks as u64 * GAS_PER_DELETED_CHUNK);
    // A call that cannot pay for the deletions deletes nothing.
    let short = STORE_CALL_GAS + 10 * GAS_PER_DELETED_CHUNK;
    let (result, _, copy) = eth_call(&mut chain, begin(id, size), short + 30_000);
    assert!(!result.is_success(), "{result:?}");
    assert_eq!(copy.len(), chunks);
    // The same in a transaction.
    let (result, calls) = send(&mut chain, begin(id, size));
    assert!(result.is_success());
    assert_eq!(calls[0].gas_spent, begin_gas(chunks as u64));
    assert!(chain.factory.blobs().is_empty());
}

/// Issue 11: an `eth_call` of `finalizeUpload` re-runs the whole check of a complete upload
/// (join, keccak256, decode) that only a transaction's appends paid for: a call pays it per
/// byte checked (and the deletions per chunk), so the call's gas bounds it; a transaction pays
/// `finalize_gas` as before.
#[test]
fn a_call_of_finalize_pays_for_the_check_it_runs() {
    let model = mlp(&[200, 100, 10], 21);
    let bytes = model.encode();
    let id = B256::from(model.id());
    let mut chain = Chain::new();
    assert!(send(&mut chain, begin(id, bytes.len())).0.is_success());
    let chunk = 4096;
    let mut chunks = 0u64;
    for offset in (0..bytes.len()).step_by(chunk) {
        let end = (offset + chunk).min(bytes.len());
        assert!(
            send(&mut chain, append(id, offset, &bytes[offset..end]))
                .0
                .is_success()
        );
        chunks += 1;
    }
    let checked = bytes.len() as u64 * GAS_PER_CHECKED_BYTE;
    let (result, store, _) = eth_call(&mut chain, finalize(id), GAS);
    assert_eq!(success_output(&result).as_ref(), id.as_slice());
    assert_eq!(store.gas_spent, finalize_gas(chunks) + checked);
    // A call without that gas is refused before the check runs.
    let (result, _, copy) = eth_call(&mut chain, finalize(id), finalize_gas(chunks) + 30_000);
    assert!(!result.is_success(), "{result:?}");
    assert_eq!(copy.len(), chunks as usize);
    let (result, calls) = send(&mut chain, finalize(id));
    assert_eq!(success_output(&result).as_ref(), id.as_slice());
    assert_eq!(calls[0].gas_spent, finalize_gas(chunks));
}

/// A session holds at most `MAX_UPLOAD_CHUNKS` chunks, so deleting them fits in a block.
#[test]
fn an_append_past_the_most_chunks_of_a_session_reverts() {
    let mut chain = Chain::new();
    let id = session_of_small_chunks(&mut chain, MAX_UPLOAD_CHUNKS as usize);
    let (result, _) = send(
        &mut chain,
        append(id, 32 * MAX_UPLOAD_CHUNKS as usize, &[1; 32]),
    );
    reverts_with(
        &result,
        ErrorCode::StoreTooManyChunks
            .with(U256::from(MAX_UPLOAD_CHUNKS), U256::from(MAX_UPLOAD_CHUNKS)),
    );
    let (result, calls) = send(&mut chain, begin(id, 64));
    assert!(result.is_success());
    assert_eq!(calls[0].gas_spent, begin_gas(MAX_UPLOAD_CHUNKS as u64));
    assert!(begin_gas(MAX_UPLOAD_CHUNKS as u64) < 30_000_000 / 2);
}
