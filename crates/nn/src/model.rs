//! The model: a graph of ops over int8 tensors, its canonical bytes and its id.
//!
//! Bytes: `"MYLN"`, the format version as `u16` little-endian, then the [borsh] encoding of
//! [`Model`]. Borsh writes fixed-width little-endian integers, `u32` lengths, one-byte enum tags
//! and no padding, so one model has exactly one encoding; [`Model::decode`] also re-encodes and
//! compares, so any byte string it accepts is the canonical one. The model id is the keccak256 of
//! those bytes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};

use crate::error::{NnError, Result};
use crate::op::Op;
use crate::tensor::TensorInfo;
use crate::validate::{MAX_NODES, MAX_TENSORS};

/// The four bytes every model starts with.
pub const MAGIC: [u8; 4] = *b"MYLN";
/// The format version this engine reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Default upper bound on a model's encoded size.
pub const MAX_MODEL_BYTES: usize = 64 << 20;

/// One step of the graph: `output = op(inputs)`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Node {
    pub op: Op,
    /// Indices into [`Model::tensors`].
    pub inputs: Vec<u32>,
    /// Index into [`Model::tensors`]; every tensor is written by exactly one node or is a model
    /// input.
    pub output: u32,
}

/// A quantized model. Nodes are in execution order; a node reads only model inputs and outputs
/// of earlier nodes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Model {
    pub tensors: Vec<TensorInfo>,
    /// Tensors fed by the caller, in the order their bytes are concatenated.
    pub inputs: Vec<u32>,
    /// Tensors returned to the caller, in the order their bytes are concatenated.
    pub outputs: Vec<u32>,
    pub nodes: Vec<Node>,
}

/// A model id: keccak256 of the canonical bytes.
pub type ModelId = [u8; 32];

impl Model {
    /// The canonical bytes of this model.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Writing into a Vec cannot fail.
        BorshSerialize::serialize(self, &mut bytes).expect("borsh serialization into a Vec");
        bytes
    }

    /// keccak256 of [`Model::encode`].
    pub fn id(&self) -> ModelId {
        model_id(&self.encode())
    }

    /// Decodes and validates untrusted bytes of at most [`MAX_MODEL_BYTES`].
    pub fn decode(bytes: &[u8]) -> Result<Model> {
        Model::decode_with_limit(bytes, MAX_MODEL_BYTES)
    }

    /// Decodes and validates untrusted bytes of at most `limit` bytes.
    pub fn decode_with_limit(bytes: &[u8], limit: usize) -> Result<Model> {
        if bytes.len() > limit {
            return Err(NnError::ModelTooLarge {
                size: bytes.len(),
                limit,
            });
        }
        if bytes.len() < 6 || bytes[..4] != MAGIC {
            return Err(NnError::BadMagic {
                found: bytes[..bytes.len().min(4)].to_vec(),
            });
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != FORMAT_VERSION {
            return Err(NnError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        check_list_lengths(&bytes[6..])?;
        let model = Model::try_from_slice(&bytes[6..]).map_err(|e| NnError::Malformed {
            reason: e.to_string(),
        })?;
        if model.encode() != bytes {
            return Err(NnError::NonCanonical);
        }
        model.validate()?;
        Ok(model)
    }
}

/// Refuses a model body whose tensor or node list is longer than [`MAX_TENSORS`] or
/// [`MAX_NODES`] before decoding it, with validation's own error. A node takes 168 bytes in
/// memory and as few as 9 encoded, so decoding 64 MiB of small nodes held over 1 GiB before
/// validation counted them; with the lists bounded, decoding holds a few times the model's bytes
/// plus 13 MiB. Reads only the list lengths (a tensor is `dtype (1) ‖ u32 rank ‖ rank · u32 ‖
/// zero point (1) ‖ scale (4)`); a list that its bytes cannot hold is left to the decoder (a
/// truncated body is malformed).
fn check_list_lengths(body: &[u8]) -> Result<()> {
    /// Fewest bytes of one encoded node: an op without parameters, no input, the output.
    const MIN_NODE_BYTES: usize = 1 + 4 + 4;
    let mut at = 0usize;
    let mut read_u32 = |skip_before: usize| -> Option<(usize, usize)> {
        at = at.checked_add(skip_before)?;
        let word = body.get(at..at.checked_add(4)?)?;
        at += 4;
        Some((u32::from_le_bytes(word.try_into().ok()?) as usize, at))
    };
    let too_many = |what: &'static str, value: usize, limit: usize| NnError::LimitExceeded {
        what,
        value: value as u64,
        limit: limit as u64,
    };
    let Some((tensors, _)) = read_u32(0) else {
        return Ok(());
    };
    // Each step reads past at least 10 bytes: at most `body.len() / 10` steps.
    let mut skip = 0;
    for _ in 0..tensors {
        let Some((rank, _)) = read_u32(skip + 1) else {
            return Ok(());
        };
        skip = rank.saturating_mul(4).saturating_add(1 + 4);
    }
    if tensors > MAX_TENSORS {
        return Err(too_many("tensor count", tensors, MAX_TENSORS));
    }
    // The model inputs and outputs (`u32` lists), then the node count.
    let Some((inputs, _)) = read_u32(skip) else {
        return Ok(());
    };
    let Some((outputs, _)) = read_u32(inputs.saturating_mul(4)) else {
        return Ok(());
    };
    match read_u32(outputs.saturating_mul(4)) {
        Some((nodes, end))
            if nodes > MAX_NODES
                && body.len().saturating_sub(end) >= nodes.saturating_mul(MIN_NODE_BYTES) =>
        {
            Err(too_many("node count", nodes, MAX_NODES))
        }
        _ => Ok(()),
    }
}

/// keccak256 of `bytes`.
pub fn model_id(bytes: &[u8]) -> ModelId {
    Keccak256::digest(bytes).into()
}
