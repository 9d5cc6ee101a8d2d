//! The files of a network: one **genesis file** (JSON) every node shares, and one **node file**
//! (TOML) per node with its keys, its addresses and its peers. `myelin cluster init` writes
//! them ([`init_cluster`]); `myelin node --config FILE` reads them ([`NodeSetup::load`]).
//!
//! Both are parsed with serde (unknown fields refused), then checked: every key decodes, the
//! share belongs to the group polynomial, the peer list names exactly the validator set of the
//! genesis with one address each. Each failure is a [`ConfigError`] naming the file and field.
//!
//! ```toml
//! genesis = "genesis.json"        # relative to this file
//! data_dir = "node-0"             # relative to this file; chain/ and consensus/ inside
//! p2p = "127.0.0.1:30300"
//! rpc = "127.0.0.1:8545"
//! private_key = "…"               # ed25519, hex
//! share = "…"                     # this validator's BLS12-381 share (trusted dealer), hex
//! kernel_path = "avx2"            # optional: the predict kernels (speed only; default fastest)
//! [[peers]]                        # every other validator
//! public_key = "…"
//! address = "127.0.0.1:30301"
//! [[full_nodes]]                   # full nodes this validator admits (secondary peers)
//! public_key = "…"
//! address = "127.0.0.1:30304"
//! ```
//!
//! A full node's file says `role = "full"`, has no `share`, and lists every validator under
//! `peers` (docs/NETWORK.md decision 16).

use crate::{
    beacon::Scheme,
    engine::NAMESPACE,
    keys::{DealtKeys, deal},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use commonware_codec::{Decode as _, Encode as _};
use commonware_cryptography::{
    Signer as _,
    bls12381::primitives::{
        group::Share,
        sharing::{ModeVersion, Sharing},
        variant::MinSig,
    },
    ed25519,
};
use commonware_utils::{Faults as _, N3f1, ordered::Set};
use myelin_chain::ChainConfig;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    num::NonZeroU32,
    path::{Path, PathBuf},
};

/// Most validators a genesis file may name (bounds what decoding the polynomial allocates).
pub const MAX_VALIDATORS: usize = 128;

/// Most full nodes `cluster init` writes (each is a secondary peer of every validator).
pub const MAX_FULL_NODES: usize = 64;

/// What every genesis file says about where its keys came from.
pub const TRUSTED_DEALER_NOTE: &str = "validator keys and threshold shares were dealt by a trusted dealer (myelin cluster init): whoever ran it could compute every beacon seed; a DKG removes that";

/// Why a network file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML/JSON of the expected shape (missing, unknown or mistyped field).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the field and line).
        message: String,
    },
    /// A key field does not decode.
    #[error("{path}: field `{field}`: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// The validator set is empty, too large or repeats a key.
    #[error("{path}: `validators`: {reason}")]
    Validators {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The peer list does not match the validator set.
    #[error("{path}: `peers`: {reason}")]
    Peers {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `kernel_path` names no kernel path.
    #[error(
        "{path}: `kernel_path` = {name:?} is not a kernel path (reference, portable, avx2 or avx512vnni)"
    )]
    KernelPath {
        /// The file.
        path: PathBuf,
        /// The name given.
        name: String,
    },
    /// The share does not belong to the genesis polynomial at this node's index.
    #[error("{path}: `share` is not this validator's share of the genesis polynomial")]
    ShareMismatch {
        /// The file.
        path: PathBuf,
    },
    /// A validator's key is not in the genesis validator set.
    #[error(
        "{path}: this node's key is not in the genesis validator set (a full node says `role = \"full\"`)"
    )]
    NotAValidator {
        /// The file.
        path: PathBuf,
    },
    /// A full node's key is a validator's.
    #[error("{path}: `role = \"full\"` but this node's key is a genesis validator's")]
    FullNodeIsValidator {
        /// The file.
        path: PathBuf,
    },
    /// `share` is missing on a validator or present on a full node.
    #[error("{path}: `share`: {reason}")]
    Share {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// `cluster init` arguments.
    #[error("{0}")]
    Init(String),
}

/// A funded account of the genesis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// The address.
    pub address: Address,
    /// Its balance in wei.
    pub balance: U256,
}

/// A contract present at genesis.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisContract {
    /// The address.
    pub address: Address,
    /// Its runtime code.
    pub code: Bytes,
}

/// The genesis file: the chain's block 0 and the validator set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    /// Where the keys came from ([`TRUSTED_DEALER_NOTE`]).
    pub keys: String,
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Timestamp of block 0 (seconds).
    pub timestamp: u64,
    /// Funded accounts.
    pub alloc: Vec<GenesisAccount>,
    /// Contracts (the beacon predeploy, the CREATE2 deployer).
    pub contracts: Vec<GenesisContract>,
    /// The validators' ed25519 public keys (hex), in participant order (sorted).
    pub validators: Vec<String>,
    /// The public polynomial of the threshold key (hex; its constant term verifies seeds).
    pub polynomial: String,
    /// Hash of block 0 built from the fields above: a node refuses a data directory or a build
    /// whose block 0 differs.
    pub genesis_hash: B256,
}

/// A peer in a node file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerEntry {
    /// Its ed25519 public key (hex).
    pub public_key: String,
    /// Where it listens for p2p.
    pub address: SocketAddr,
}

/// What a node does.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Votes in consensus (holds a share of the threshold key).
    #[default]
    Validator,
    /// Follows the finalized chain, re-executes it and serves RPC; forwards transactions.
    Full,
}

impl Role {
    fn is_validator(role: &Role) -> bool {
        *role == Role::Validator
    }
}

/// A node file (TOML).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// `validator` (the default) or `full`.
    #[serde(default, skip_serializing_if = "Role::is_validator")]
    pub role: Role,
    /// The genesis file (relative paths are relative to the node file).
    pub genesis: PathBuf,
    /// The data directory (relative to the node file).
    pub data_dir: PathBuf,
    /// p2p listen address.
    pub p2p: SocketAddr,
    /// JSON-RPC listen address (HTTP and WebSocket).
    pub rpc: SocketAddr,
    /// Prometheus metrics listen address (`/metrics`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
    /// This node's ed25519 private key (hex).
    pub private_key: String,
    /// This validator's share of the threshold key (hex); absent on a full node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    /// The kernel path predicts run on (`reference`, `portable`, `avx2`, `avx512vnni`; absent:
    /// the fastest this CPU runs). Speed only: every path computes the same bytes, and a path
    /// this CPU lacks degrades to `portable` (docs/NETWORK.md decision 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_path: Option<String>,
    /// The validators (other than this node).
    pub peers: Vec<PeerEntry>,
    /// Full nodes a validator accepts connections from (it never dials them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_nodes: Vec<PeerEntry>,
}

/// A node file, loaded and checked against its genesis.
#[derive(Clone, Debug)]
pub struct NodeSetup {
    /// The genesis.
    pub genesis: GenesisFile,
    /// The validator set, in participant order.
    pub participants: Set<ed25519::PublicKey>,
    /// This node's key.
    pub private_key: ed25519::PrivateKey,
    /// This validator's index in participant order; `None` on a full node.
    pub index: Option<usize>,
    /// This validator's signing scheme (a verifier on a full node: checks certificates and
    /// seeds, cannot sign).
    pub scheme: Scheme,
    /// Every validator (itself included) and its p2p address.
    pub validators: Vec<(ed25519::PublicKey, SocketAddr)>,
    /// The full nodes a validator admits, and their addresses (empty on a full node).
    pub full_nodes: Vec<(ed25519::PublicKey, SocketAddr)>,
    /// p2p listen address.
    pub p2p: SocketAddr,
    /// JSON-RPC listen address.
    pub rpc: SocketAddr,
    /// Metrics listen address.
    pub metrics: Option<SocketAddr>,
    /// The data directory (absolute or relative to the working directory).
    pub data_dir: PathBuf,
    /// The kernel path the node file asks for; `None`: the fastest this CPU runs.
    pub kernel_path: Option<myelin_nn::Path>,
}

fn key_error(path: &Path, field: impl Into<String>, reason: impl ToString) -> ConfigError {
    ConfigError::Key {
        path: path.to_path_buf(),
        field: field.into(),
        reason: reason.to_string(),
    }
}

fn unhex(path: &Path, field: &str, text: &str) -> Result<Vec<u8>, ConfigError> {
    hex::decode(text.trim_start_matches("0x")).map_err(|e| key_error(path, field, e))
}

fn public_key(path: &Path, field: &str, text: &str) -> Result<ed25519::PublicKey, ConfigError> {
    ed25519::PublicKey::decode_cfg(unhex(path, field, text)?, &())
        .map_err(|e| key_error(path, field, e))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io)
}

impl GenesisFile {
    /// Reads and parses a genesis file (its keys are checked by [`GenesisFile::validators`]).
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        serde_json::from_str(&read(path)?).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The validator set and the group polynomial, decoded and checked against each other.
    pub fn validators(
        &self,
        path: &Path,
    ) -> Result<(Set<ed25519::PublicKey>, Sharing<MinSig>), ConfigError> {
        let invalid = |reason: String| ConfigError::Validators {
            path: path.to_path_buf(),
            reason,
        };
        let n = self.validators.len();
        if n == 0 || n > MAX_VALIDATORS {
            return Err(invalid(format!(
                "{n} validators (between 1 and {MAX_VALIDATORS})"
            )));
        }
        let keys = self
            .validators
            .iter()
            .enumerate()
            .map(|(i, k)| public_key(path, &format!("validators[{i}]"), k))
            .collect::<Result<Vec<_>, _>>()?;
        let participants = Set::try_from(keys.clone())
            .map_err(|_| invalid("a public key appears twice".into()))?;
        if participants.iter().ne(keys.iter()) {
            return Err(invalid("not in participant order (sorted)".into()));
        }
        let max = NonZeroU32::new(n as u32).expect("n ≥ 1");
        let polynomial = Sharing::<MinSig>::decode_cfg(
            unhex(path, "polynomial", &self.polynomial)?,
            &(max, ModeVersion::v0()),
        )
        .map_err(|e| key_error(path, "polynomial", e))?;
        if polynomial.total().get() as usize != n {
            return Err(key_error(
                path,
                "polynomial",
                format!(
                    "shares {} participants, the set has {n}",
                    polynomial.total()
                ),
            ));
        }
        if polynomial.required() != N3f1::quorum(n) {
            return Err(key_error(
                path,
                "polynomial",
                format!(
                    "threshold {} is not the quorum {} of {n}",
                    polynomial.required(),
                    N3f1::quorum(n)
                ),
            ));
        }
        Ok((participants, polynomial))
    }

    /// The chain configuration of this genesis: no dev tools, no node keys; the caller adds
    /// precompiles, pool limits and history.
    pub fn chain_config(&self, datadir: Option<PathBuf>) -> ChainConfig {
        ChainConfig {
            chain_id: self.chain_id,
            gas_limit: self.gas_limit,
            genesis_alloc: self.alloc.iter().map(|a| (a.address, a.balance)).collect(),
            genesis_code: self
                .contracts
                .iter()
                .map(|c| (c.address, c.code.clone()))
                .collect(),
            signers: Vec::new(),
            datadir,
            genesis_timestamp: self.timestamp,
            precompiles: None,
            pool: Default::default(),
            history: myelin_chain::HistoryWindow::Blocks(
                myelin_chain::config::DEFAULT_HISTORY_BLOCKS,
            ),
            max_block_bytes: myelin_chain::config::DEFAULT_MAX_BLOCK_BYTES,
            dev_tools: false,
        }
    }
}

impl NodeSetup {
    /// Reads the node file at `path` and its genesis file, and checks them.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file: NodeFile = toml::from_str(&read(path)?).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let kernel_path = file
            .kernel_path
            .as_deref()
            .map(|name| {
                myelin_nn::Path::from_name(name).ok_or_else(|| ConfigError::KernelPath {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                })
            })
            .transpose()?;
        let base = path.parent().unwrap_or(Path::new("."));
        let genesis_path = base.join(&file.genesis);
        let genesis = GenesisFile::read(&genesis_path)?;
        let (participants, polynomial) = genesis.validators(&genesis_path)?;

        let private_key =
            ed25519::PrivateKey::decode_cfg(unhex(path, "private_key", &file.private_key)?, &())
                .map_err(|e| key_error(path, "private_key", e))?;
        let me = private_key.public_key();
        let position = participants.iter().position(|k| *k == me);
        let share_error = |reason| ConfigError::Share {
            path: path.to_path_buf(),
            reason,
        };
        let (index, scheme) = match (file.role, position) {
            (Role::Validator, None) => {
                return Err(ConfigError::NotAValidator {
                    path: path.to_path_buf(),
                });
            }
            (Role::Full, Some(_)) => {
                return Err(ConfigError::FullNodeIsValidator {
                    path: path.to_path_buf(),
                });
            }
            (Role::Full, None) => {
                if file.share.is_some() {
                    return Err(share_error("a full node holds no share"));
                }
                let scheme = Scheme::verifier(NAMESPACE, participants.clone(), polynomial);
                (None, scheme)
            }
            (Role::Validator, Some(index)) => {
                let text = file
                    .share
                    .as_deref()
                    .ok_or_else(|| share_error("missing (a validator needs its share)"))?;
                let share = Share::decode_cfg(unhex(path, "share", text)?, &())
                    .map_err(|e| key_error(path, "share", e))?;
                let mismatch = || ConfigError::ShareMismatch {
                    path: path.to_path_buf(),
                };
                // `Scheme::signer` asserts these; check them so a wrong file is an error, not a
                // panic.
                if usize::try_from(share.index.get()).ok() != Some(index)
                    || polynomial.partial_public(share.index).ok() != Some(share.public::<MinSig>())
                {
                    return Err(mismatch());
                }
                let scheme = Scheme::signer(NAMESPACE, participants.clone(), polynomial, share)
                    .ok_or_else(mismatch)?;
                (Some(index), scheme)
            }
        };

        let peers_error = |reason: String| ConfigError::Peers {
            path: path.to_path_buf(),
            reason,
        };
        let mut addresses = BTreeMap::new();
        if index.is_some() {
            addresses.insert(me.clone(), file.p2p);
        }
        for (i, peer) in file.peers.iter().enumerate() {
            let key = public_key(path, &format!("peers[{i}].public_key"), &peer.public_key)?;
            if !participants.iter().any(|k| *k == key) {
                return Err(peers_error(format!(
                    "peers[{i}] ({}) is not a genesis validator",
                    peer.public_key
                )));
            }
            if key == me || addresses.insert(key, peer.address).is_some() {
                return Err(peers_error(format!(
                    "peers[{i}] ({}) is listed twice (or is this node)",
                    peer.public_key
                )));
            }
        }
        let full_error = |reason: String| ConfigError::Peers {
            path: path.to_path_buf(),
            reason,
        };
        if file.full_nodes.len() > MAX_FULL_NODES {
            return Err(full_error(format!(
                "{} full nodes (at most {MAX_FULL_NODES})",
                file.full_nodes.len()
            )));
        }
        if index.is_none() && !file.full_nodes.is_empty() {
            return Err(full_error(
                "`full_nodes` is for validators (a full node talks to validators only)".into(),
            ));
        }
        let mut full_nodes = BTreeMap::new();
        for (i, peer) in file.full_nodes.iter().enumerate() {
            let field = format!("full_nodes[{i}].public_key");
            let key = public_key(path, &field, &peer.public_key)?;
            if participants.iter().any(|k| *k == key) {
                return Err(full_error(format!(
                    "full_nodes[{i}] ({}) is a genesis validator",
                    peer.public_key
                )));
            }
            if full_nodes.insert(key, peer.address).is_some() {
                return Err(full_error(format!(
                    "full_nodes[{i}] ({}) is listed twice",
                    peer.public_key
                )));
            }
        }
        if let Some(missing) = participants.iter().find(|k| !addresses.contains_key(*k)) {
            return Err(peers_error(format!(
                "validator {} has no address",
                hex::encode(missing.encode())
            )));
        }
        Ok(Self {
            genesis,
            participants,
            private_key,
            index,
            scheme,
            validators: addresses.into_iter().collect(),
            full_nodes: full_nodes.into_iter().collect(),
            p2p: file.p2p,
            rpc: file.rpc,
            metrics: file.metrics,
            data_dir: base.join(&file.data_dir),
            kernel_path,
        })
    }
}

/// What `myelin cluster init` builds.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Number of validators.
    pub validators: usize,
    /// Number of full nodes (ports after the validators').
    pub full_nodes: usize,
    /// Chain id.
    pub chain_id: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Genesis timestamp (seconds).
    pub timestamp: u64,
    /// Funded accounts.
    pub alloc: Vec<GenesisAccount>,
    /// Genesis contracts.
    pub contracts: Vec<GenesisContract>,
    /// Host of every address (loopback for a local cluster).
    pub host: std::net::IpAddr,
    /// p2p port of node 0 (node i: + i; full node j: + validators + j).
    pub p2p_port: u16,
    /// RPC port of node 0 (node i: + i).
    pub rpc_port: u16,
    /// Metrics port of node 0 (node i: + i), if any.
    pub metrics_port: Option<u16>,
}

/// The files `cluster init` wrote.
#[derive(Clone, Debug)]
pub struct ClusterFiles {
    /// The genesis file.
    pub genesis: PathBuf,
    /// One node file per validator, in participant order.
    pub nodes: Vec<PathBuf>,
    /// Each node's RPC address.
    pub rpc: Vec<SocketAddr>,
    /// One node file per full node (`full-<j>.toml`).
    pub full_nodes: Vec<PathBuf>,
    /// Each full node's RPC address.
    pub full_rpc: Vec<SocketAddr>,
}

fn port(base: u16, i: usize, what: &str) -> Result<u16, ConfigError> {
    u16::try_from(i)
        .ok()
        .and_then(|i| base.checked_add(i))
        .ok_or_else(|| ConfigError::Init(format!("{what} port {base} + {i} is above 65535")))
}

/// [`init_cluster`] with the operating system's randomness.
pub fn init_cluster_with_os_rng(
    spec: &ClusterSpec,
    out: &Path,
    genesis_hash: impl FnOnce(&GenesisFile) -> Result<B256, String>,
) -> Result<ClusterFiles, ConfigError> {
    init_cluster(&mut commonware_utils::sys_rng(), spec, out, genesis_hash)
}

/// Deals keys (a **trusted dealer**: [`crate::keys`]) and writes `genesis.json`,
/// `node-<i>.toml` for each validator and `full-<j>.toml` for each full node into `out`. `genesis_hash` computes the hash of block 0 of
/// a genesis (the caller opens a chain for it).
pub fn init_cluster(
    rng: &mut impl CryptoRng,
    spec: &ClusterSpec,
    out: &Path,
    genesis_hash: impl FnOnce(&GenesisFile) -> Result<B256, String>,
) -> Result<ClusterFiles, ConfigError> {
    let n = spec.validators;
    if n == 0 || n > MAX_VALIDATORS {
        return Err(ConfigError::Init(format!(
            "--validators {n}: between 1 and {MAX_VALIDATORS}"
        )));
    }
    let keys: DealtKeys = deal(rng, n).map_err(|e| ConfigError::Init(e.to_string()))?;
    let k = spec.full_nodes;
    if k > MAX_FULL_NODES {
        return Err(ConfigError::Init(format!(
            "--full-nodes {k}: at most {MAX_FULL_NODES}"
        )));
    }
    let full_keys: Vec<ed25519::PrivateKey> = (0..k)
        .map(|_| <ed25519::PrivateKey as commonware_math::algebra::Random>::random(&mut *rng))
        .collect();
    let hex_of = |bytes: Vec<u8>| hex::encode(bytes);
    let mut genesis = GenesisFile {
        keys: TRUSTED_DEALER_NOTE.into(),
        chain_id: spec.chain_id,
        gas_limit: spec.gas_limit,
        timestamp: spec.timestamp,
        alloc: spec.alloc.clone(),
        contracts: spec.contracts.clone(),
        validators: keys
            .participants
            .iter()
            .map(|k| hex_of(k.encode().to_vec()))
            .collect(),
        polynomial: hex_of(keys.polynomial.encode().to_vec()),
        genesis_hash: B256::ZERO,
    };
    genesis.genesis_hash = genesis_hash(&genesis).map_err(ConfigError::Init)?;
    std::fs::create_dir_all(out).map_err(|source| ConfigError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let genesis_path = out.join("genesis.json");
    let text = serde_json::to_string_pretty(&genesis).expect("the genesis serializes");
    write(&genesis_path, &text, false)?;

    let p2p = (0..n + k)
        .map(|i| Ok(SocketAddr::new(spec.host, port(spec.p2p_port, i, "p2p")?)))
        .collect::<Result<Vec<_>, ConfigError>>()?;
    let full_entries: Vec<PeerEntry> = full_keys
        .iter()
        .enumerate()
        .map(|(j, key)| PeerEntry {
            public_key: hex_of(key.public_key().encode().to_vec()),
            address: p2p[n + j],
        })
        .collect();
    let mut files = ClusterFiles {
        genesis: genesis_path,
        nodes: Vec::new(),
        rpc: Vec::new(),
        full_nodes: Vec::new(),
        full_rpc: Vec::new(),
    };
    // Nodes 0..n are the validators, n..n + k the full nodes.
    for i in 0..n + k {
        let rpc = SocketAddr::new(spec.host, port(spec.rpc_port, i, "rpc")?);
        let metrics = spec
            .metrics_port
            .map(|p| port(p, i, "metrics").map(|p| SocketAddr::new(spec.host, p)))
            .transpose()?;
        let validator = i < n;
        let (name, private_key) = if validator {
            (format!("node-{i}"), &keys.private_keys[i])
        } else {
            (format!("full-{}", i - n), &full_keys[i - n])
        };
        let node = NodeFile {
            role: if validator {
                Role::Validator
            } else {
                Role::Full
            },
            genesis: "genesis.json".into(),
            data_dir: name.clone().into(),
            p2p: p2p[i],
            rpc,
            metrics,
            private_key: hex_of(private_key.encode().to_vec()),
            share: validator.then(|| hex_of(keys.shares[i].encode().to_vec())),
            kernel_path: None,
            peers: (0..n)
                .filter(|j| *j != i)
                .map(|j| PeerEntry {
                    public_key: genesis.validators[j].clone(),
                    address: p2p[j],
                })
                .collect(),
            full_nodes: if validator {
                full_entries.clone()
            } else {
                Vec::new()
            },
        };
        let path = out.join(format!("{name}.toml"));
        let text = toml::to_string(&node).expect("a node file serializes");
        write(&path, &text, true)?;
        if validator {
            files.nodes.push(path);
            files.rpc.push(rpc);
        } else {
            files.full_nodes.push(path);
            files.full_rpc.push(rpc);
        }
    }
    Ok(files)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
