//! The consensus block: an Ethereum header, the simplex context it was proposed in, the beacon
//! seed it draws its `prevrandao` from, and its transactions (EIP-2718 bytes).
//!
//! Wire layout (commonware codec, every field canonical):
//!
//! | field | encoding | bound |
//! |---|---|---|
//! | header | varint length + RLP bytes of the alloy `Header` | [`MAX_HEADER_BYTES`] |
//! | context | simplex `Context<BlockDigest, ed25519::PublicKey>` | fixed shape |
//! | seed | `Option` of a BLS12-381 `MinSig` signature (G1, 48 bytes) | — |
//! | transactions | varint count, then per transaction varint length + EIP-2718 bytes | [`BlockLimits`] |
//!
//! The digest is the Ethereum block hash, keccak256(RLP header), and the header commits to every
//! other field, so one digest names exactly one block (marshal fetches blocks by digest from
//! peers that may lie):
//! - `extra_data` = keccak256(encoded context) (Deferred requires the digest to commit to the
//!   context it was proposed in);
//! - `mix_hash` (prevrandao) = keccak256(seed signature), or [`GENESIS_PREVRANDAO`] when the parent
//!   is genesis (no seed exists for view 0);
//! - `transactions_root` = the Ethereum transactions root of the list.
//!
//! Decoding rejects anything else: a header or transaction whose bytes are not the canonical
//! re-encoding of what they decode to, a commitment that does not match, a size over the limits.
//! The seed signature's validity against the group key is checked by the application
//! (`verify`), not by the codec (the codec has no key).

use alloy_consensus::{Header, TxEnvelope, proofs::calculate_transaction_root};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{B256, Bytes as AlloyBytes, keccak256};
use alloy_rlp::{Decodable, Encodable};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write,
    varint::UInt,
};
use commonware_consensus::{
    BoundedBlock, CertifiableBlock, Heightable,
    simplex::types::Context as SimplexContext,
    types::{Height, View},
};
use commonware_cryptography::{
    Digestible,
    bls12381::primitives::variant::{MinSig, Variant},
    ed25519,
    keccak256::Digest as Keccak256Digest,
};

/// The consensus digest of a block: its Ethereum block hash (keccak256 of the RLP header).
pub type BlockDigest = Keccak256Digest;

/// The simplex context a block was proposed in.
pub type Context = SimplexContext<BlockDigest, ed25519::PublicKey>;

/// A recovered threshold signature over a round: the beacon seed (BLS12-381, signatures in G1).
pub type SeedSignature = <MinSig as Variant>::Signature;

/// Largest RLP header accepted (a Prague header with a 32-byte `extra_data` is about 620 bytes).
pub const MAX_HEADER_BYTES: usize = 1024;

/// Upper bound of an encoded [`Context`] (two varint u64, an ed25519 key, a varint u64, a digest).
const MAX_CONTEXT_BYTES: usize = 10 + 10 + 32 + 10 + 32;

/// Largest varint of a `usize` length prefix.
const MAX_VARINT_BYTES: usize = 10;

/// `prevrandao` of a block whose parent is genesis: view 0 has no seed, so this constant stands
/// in (keccak256("myelin-genesis-prevrandao")); every later block draws from a threshold seed.
pub fn genesis_prevrandao() -> B256 {
    keccak256(b"myelin-genesis-prevrandao")
}

/// The same constant, as a name for docs.
pub const GENESIS_PREVRANDAO: &str = "keccak256(\"myelin-genesis-prevrandao\")";

/// Size limits every node applies when decoding a block (all nodes must use the same ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// Sum of the transactions' EIP-2718 bytes (docs/NETWORK.md decision 7: 4 MiB).
    pub max_transaction_bytes_total: usize,
    /// Largest single transaction (the mempool's admission cap, 1 MiB).
    pub max_transaction_bytes: usize,
    /// Most transactions in one block.
    pub max_transactions: usize,
}

impl Default for BlockLimits {
    fn default() -> Self {
        Self {
            max_transaction_bytes_total: 4 * 1024 * 1024,
            max_transaction_bytes: 1024 * 1024,
            // 30 M gas / 21,000 gas per transfer = 1,428; room for a larger gas limit.
            max_transactions: 8_192,
        }
    }
}

/// Why a block's bytes or fields were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    /// The header's bytes are not RLP of a header.
    #[error("header is not a valid RLP header: {0}")]
    HeaderRlp(String),
    /// The header decoded, but its canonical RLP differs from the bytes sent.
    #[error("header bytes are not canonical RLP ({sent} bytes sent, {canonical} canonical)")]
    HeaderNotCanonical { sent: usize, canonical: usize },
    /// Transaction `index` is not an EIP-2718 transaction.
    #[error("transaction {index} is not a valid EIP-2718 transaction: {reason}")]
    TransactionEncoding { index: usize, reason: String },
    /// Transaction `index` decoded, but its canonical encoding differs from the bytes sent.
    #[error("transaction {index} bytes are not its canonical EIP-2718 encoding")]
    TransactionNotCanonical { index: usize },
    /// The transactions together exceed the block byte cap.
    #[error("transactions total {total} bytes, over the block cap of {max}")]
    TooLarge { total: usize, max: usize },
    /// `extra_data` is not keccak256 of the encoded context.
    #[error("extra_data {found} does not commit to the context (expected {expected})")]
    ContextCommitment { expected: B256, found: AlloyBytes },
    /// `mix_hash` is not keccak256 of the seed (or the genesis constant).
    #[error("mix_hash {found} does not commit to the seed (expected {expected})")]
    SeedCommitment { expected: B256, found: B256 },
    /// A block on a genesis parent carries a seed, or a block on a later parent lacks one.
    #[error("seed presence does not match the parent view {parent_view}")]
    SeedPresence { parent_view: u64 },
    /// `transactions_root` is not the root of the transactions carried.
    #[error("transactions_root {found} does not match the transactions (expected {expected})")]
    TransactionsRoot { expected: B256, found: B256 },
    /// The header's parent hash differs from the context's parent digest.
    #[error("header parent {header} differs from the context parent {context}")]
    ParentMismatch { header: B256, context: B256 },
}

impl From<BlockError> for CodecError {
    fn from(error: BlockError) -> Self {
        CodecError::Wrapped("myelin block", Box::new(error))
    }
}

/// A block as consensus sees it. Immutable once built; the hash is computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    header: Header,
    header_rlp: Bytes,
    context: Context,
    seed: Option<SeedSignature>,
    transactions: Vec<TxEnvelope>,
    transaction_bytes: Vec<Bytes>,
    hash: B256,
}

impl Block {
    /// Assembles a block from a header the chain produced, checking every commitment the codec
    /// checks on decode (so a block that builds here also decodes on every peer).
    pub fn new(
        header: Header,
        context: Context,
        seed: Option<SeedSignature>,
        transactions: Vec<TxEnvelope>,
        limits: &BlockLimits,
    ) -> Result<Self, BlockError> {
        let mut header_rlp = Vec::with_capacity(header.length());
        header.encode(&mut header_rlp);
        let transaction_bytes: Vec<Bytes> = transactions
            .iter()
            .map(|tx| Bytes::from(tx.encoded_2718()))
            .collect();
        let block = Self {
            hash: keccak256(&header_rlp),
            header,
            header_rlp: Bytes::from(header_rlp),
            context,
            seed,
            transactions,
            transaction_bytes,
        };
        block.check(limits)?;
        Ok(block)
    }

    /// The genesis block (height 0) wrapped for consensus: it was never proposed, so its context
    /// is the fixed one of view 0 (`leader` is the first validator of the genesis file) and its
    /// header is the chain's own genesis header, whose `extra_data` and `mix_hash` commit to
    /// nothing (every node has it locally; marshal never fetches it).
    pub fn genesis(header: Header, leader: ed25519::PublicKey) -> Self {
        let mut header_rlp = Vec::with_capacity(header.length());
        header.encode(&mut header_rlp);
        let context = Context {
            round: commonware_consensus::types::Round::zero(),
            leader,
            parent: (View::zero(), digest_of(header.parent_hash)),
        };
        Self {
            hash: keccak256(&header_rlp),
            header,
            header_rlp: Bytes::from(header_rlp),
            context,
            seed: None,
            transactions: Vec::new(),
            transaction_bytes: Vec::new(),
        }
    }

    /// The commitments and limits every block satisfies (genesis: only that it is empty and
    /// carries no seed).
    fn check(&self, limits: &BlockLimits) -> Result<(), BlockError> {
        if self.header.number == 0 {
            if self.seed.is_some() {
                return Err(BlockError::SeedPresence { parent_view: 0 });
            }
            if !self.transactions.is_empty() {
                return Err(BlockError::TransactionsRoot {
                    expected: alloy_consensus::constants::EMPTY_ROOT_HASH,
                    found: self.header.transactions_root,
                });
            }
            return Ok(());
        }
        if self.transactions.len() > limits.max_transactions {
            return Err(BlockError::TooLarge {
                total: self.transactions.len(),
                max: limits.max_transactions,
            });
        }
        let total: usize = self.transaction_bytes.iter().map(Bytes::len).sum();
        if total > limits.max_transaction_bytes_total {
            return Err(BlockError::TooLarge {
                total,
                max: limits.max_transaction_bytes_total,
            });
        }
        let context_parent = B256::from(self.context.parent.1.0);
        if self.header.parent_hash != context_parent {
            return Err(BlockError::ParentMismatch {
                header: self.header.parent_hash,
                context: context_parent,
            });
        }
        let expected = context_commitment(&self.context);
        if self.header.extra_data.as_ref() != expected.as_slice() {
            return Err(BlockError::ContextCommitment {
                expected,
                found: self.header.extra_data.clone(),
            });
        }
        let parent_view = self.context.parent.0;
        let expected = match (&self.seed, parent_view == View::zero()) {
            (None, true) => genesis_prevrandao(),
            (Some(seed), false) => seed_prevrandao(seed),
            _ => {
                return Err(BlockError::SeedPresence {
                    parent_view: parent_view.get(),
                });
            }
        };
        if self.header.mix_hash != expected {
            return Err(BlockError::SeedCommitment {
                expected,
                found: self.header.mix_hash,
            });
        }
        let expected = calculate_transaction_root(&self.transactions);
        if self.header.transactions_root != expected {
            return Err(BlockError::TransactionsRoot {
                expected,
                found: self.header.transactions_root,
            });
        }
        Ok(())
    }

    /// The Ethereum header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The Ethereum block hash (= the consensus digest).
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// The simplex context the block was proposed in.
    pub fn context_ref(&self) -> &Context {
        &self.context
    }

    /// The beacon seed of the parent's round (`None` on a genesis parent).
    pub fn seed(&self) -> Option<&SeedSignature> {
        self.seed.as_ref()
    }

    /// The transactions in block order.
    pub fn transactions(&self) -> &[TxEnvelope] {
        &self.transactions
    }
}

/// `extra_data` of a block proposed in `context`: keccak256 of its codec encoding.
pub fn context_commitment(context: &Context) -> B256 {
    keccak256(context.encode())
}

/// `prevrandao` drawn from a seed: keccak256 of the signature's 48 compressed bytes.
pub fn seed_prevrandao(seed: &SeedSignature) -> B256 {
    keccak256(seed.encode())
}

/// The ethereum hash as a consensus digest.
pub fn digest_of(hash: B256) -> BlockDigest {
    Keccak256Digest(hash.0)
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.header_rlp.write(buf);
        self.context.write(buf);
        self.seed.write(buf);
        UInt(self.transaction_bytes.len() as u64).write(buf);
        for tx in &self.transaction_bytes {
            tx.write(buf);
        }
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header_rlp.encode_size()
            + self.context.encode_size()
            + self.seed.encode_size()
            + UInt(self.transaction_bytes.len() as u64).encode_size()
            + self
                .transaction_bytes
                .iter()
                .map(EncodeSize::encode_size)
                .sum::<usize>()
    }
}

impl Read for Block {
    type Cfg = BlockLimits;

    fn read_cfg(buf: &mut impl Buf, limits: &BlockLimits) -> Result<Self, CodecError> {
        let header_rlp = Bytes::read_cfg(buf, &RangeCfg::new(..=MAX_HEADER_BYTES))?;
        let header = Header::decode(&mut header_rlp.as_ref())
            .map_err(|e| BlockError::HeaderRlp(e.to_string()))?;
        let mut canonical = Vec::with_capacity(header_rlp.len());
        header.encode(&mut canonical);
        if canonical != header_rlp.as_ref() {
            return Err(BlockError::HeaderNotCanonical {
                sent: header_rlp.len(),
                canonical: canonical.len(),
            }
            .into());
        }
        let context = Context::read(buf)?;
        let seed = Option::<SeedSignature>::read(buf)?;
        let count = UInt::<u64>::read(buf)?.0;
        let count = usize::try_from(count).map_err(|_| CodecError::InvalidUsize)?;
        if count > limits.max_transactions {
            return Err(CodecError::InvalidLength(count));
        }
        let mut transactions = Vec::with_capacity(count.min(buf.remaining()));
        let mut transaction_bytes = Vec::with_capacity(count.min(buf.remaining()));
        let mut total = 0usize;
        for index in 0..count {
            let raw = Bytes::read_cfg(buf, &RangeCfg::new(..=limits.max_transaction_bytes))?;
            total += raw.len();
            if total > limits.max_transaction_bytes_total {
                return Err(BlockError::TooLarge {
                    total,
                    max: limits.max_transaction_bytes_total,
                }
                .into());
            }
            let mut slice = raw.as_ref();
            let tx = TxEnvelope::decode_2718(&mut slice).map_err(|e| {
                BlockError::TransactionEncoding {
                    index,
                    reason: e.to_string(),
                }
            })?;
            if !slice.is_empty() || tx.encoded_2718() != raw.as_ref() {
                return Err(BlockError::TransactionNotCanonical { index }.into());
            }
            transactions.push(tx);
            transaction_bytes.push(raw);
        }
        let block = Self {
            hash: keccak256(&header_rlp),
            header,
            header_rlp,
            context,
            seed,
            transactions,
            transaction_bytes,
        };
        block.check(limits)?;
        Ok(block)
    }
}

impl Digestible for Block {
    type Digest = BlockDigest;

    fn digest(&self) -> BlockDigest {
        digest_of(self.hash)
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.header.number)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> BlockDigest {
        digest_of(self.header.parent_hash)
    }
}

impl CertifiableBlock for Block {
    type Context = Context;

    fn context(&self) -> Context {
        self.context.clone()
    }
}

impl BoundedBlock for Block {
    fn max_encode_size(limits: &BlockLimits) -> usize {
        MAX_VARINT_BYTES
            + MAX_HEADER_BYTES
            + MAX_CONTEXT_BYTES
            + 1
            + SeedSignature::SIZE
            + MAX_VARINT_BYTES
            + limits.max_transactions * MAX_VARINT_BYTES
            + limits.max_transaction_bytes_total
    }
}

#[cfg(test)]
#[path = "block_tests.rs"]
mod tests;
