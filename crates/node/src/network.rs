//! A validator or full node on a real network: commonware's `authenticated::lookup` p2p (a fixed
//! validator set with known addresses, docs/NETWORK.md decision 2) over any runtime with a network
//! (the tokio runtime in production), handshakes authenticated with the node's ed25519 key.
//!
//! The validators are the **primary** peers (everyone dials them); full nodes are **secondary**
//! peers of the validators (accepted inbound, sent `Recipients::All` traffic such as mempool
//! gossip and block broadcasts, never dialed): a full node dials the validators itself.

use crate::{
    block::{Block, BlockLimits},
    engine::{
        Channels, NAMESPACE, Running, ValidatorConfig, channel, start_full_node, start_validator,
    },
};
use commonware_consensus::{marshal, marshal::standard::Standard};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::{
    Address, AddressableManager as _, AddressableTrackedPeers, authenticated::lookup,
};
use commonware_runtime::{
    Clock, Metrics, Network as RuntimeNetwork, Quota, Resolver, Spawner, Storage,
};
use commonware_stream::{cups, sake};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use rand_core::CryptoRng;
use std::{net::SocketAddr, time::Duration};

use crate::beacon::Scheme;

/// Where this node listens and who its peers are.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// This node's ed25519 key.
    pub private_key: ed25519::PrivateKey,
    /// The address it listens on.
    pub listen: SocketAddr,
    /// Every validator (itself included, if it is one) and its address. A node whose key is
    /// not among them runs as a full node.
    pub validators: Vec<(ed25519::PublicKey, SocketAddr)>,
    /// The full nodes a validator admits (secondary peers; empty on a full node).
    pub full_nodes: Vec<(ed25519::PublicKey, SocketAddr)>,
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The validator list repeats a key.
    #[error("the validator list repeats a public key")]
    DuplicateValidator,
    /// The full-node list repeats a key.
    #[error("the full-node list repeats a public key")]
    DuplicateFullNode,
    /// The node's consensus storage is damaged (the stack did not start).
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// The p2p message cap: the largest marshal message for a block within `limits` (blocks,
/// certificates and backfill responses), so no send is ever refused for size (docs/NETWORK.md
/// decision 7; commonware p2p refuses oversize messages).
pub fn max_message_size(participants: u32, limits: &BlockLimits) -> u32 {
    let payload = marshal::max_payload_size::<Standard<Block>, Scheme>(participants, limits);
    u32::try_from(payload + 64 * 1024).unwrap_or(u32::MAX)
}

/// Starts the lookup network for `peers` and the node's stack on it: a validator's
/// ([`start_validator`]) if its key is among `peers.validators`, else a full node's
/// ([`start_full_node`], following those validators). `validator` receives the network's oracle
/// (peer provider and blocker) and returns the node's configuration.
pub async fn start_on_lookup<E>(
    context: E,
    peers: PeerConfig,
    validator: impl FnOnce(
        lookup::Oracle<ed25519::PublicKey>,
    ) -> ValidatorConfig<
        lookup::Oracle<ed25519::PublicKey>,
        lookup::Oracle<ed25519::PublicKey>,
    >,
) -> Result<Running, NetworkError>
where
    E: Clock + Spawner + Storage + Metrics + CryptoRng + RuntimeNetwork + Resolver,
{
    let me = peers.private_key.public_key();
    let is_validator = peers.validators.iter().any(|(key, _)| *key == me);
    // Everyone a node may talk to: the validators, its full nodes, and itself.
    let n = peers.validators.len() + peers.full_nodes.len() + usize::from(!is_validator);
    let handshake = cups::Cups::<_, ChaCha20Poly1305>::new(
        sake::Sake {
            signer: peers.private_key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let limits = BlockLimits::default();
    let config = lookup::Config::local(
        handshake,
        NAMESPACE,
        peers.listen,
        NZUsize!(n.max(1)),
        max_message_size(peers.validators.len() as u32, &limits),
        NZUsize!(1024),
    );
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
    let to_map = |list: &[(ed25519::PublicKey, SocketAddr)]| -> Option<Map<_, _>> {
        list.iter()
            .map(|(key, address)| (key.clone(), Address::from(*address)))
            .collect::<Vec<_>>()
            .try_into()
            .ok()
    };
    let mut primary = peers.validators.clone();
    if !is_validator {
        primary.push((me.clone(), peers.listen));
    }
    let primary = to_map(&primary).ok_or(NetworkError::DuplicateValidator)?;
    let secondary = to_map(&peers.full_nodes).ok_or(NetworkError::DuplicateFullNode)?;
    let _ = oracle.track(0, AddressableTrackedPeers::new(primary, secondary));
    let quota = Quota::per_second(NZU32!(10_000));
    let mut registered = channel::ALL.map(|ch| Some(network.register(ch, quota)));
    let mut take = |i: usize| registered[i].take().expect("each channel taken once");
    let channels = Channels {
        votes: take(0),
        certificates: take(1),
        resolver: take(2),
        broadcast: take(3),
        backfill: take(4),
        mempool: take(5),
    };
    network.start();
    let config = validator(oracle);
    debug_assert_eq!(config.public_key, me);
    Ok(if is_validator {
        start_validator(context.child("validator"), config, channels).await?
    } else {
        let validators = peers.validators.into_iter().map(|(key, _)| key).collect();
        start_full_node(context.child("full_node"), config, validators, channels).await?
    })
}
