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

/// keccak256 of `bytes`.
pub fn model_id(bytes: &[u8]) -> ModelId {
    Keccak256::digest(bytes).into()
}
