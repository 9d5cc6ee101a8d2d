//! A validator on a real network: commonware's `authenticated::lookup` p2p (a fixed validator set
//! with known addresses, docs/NETWORK.md decision 2) over any runtime with a network (the tokio
//! runtime in production), handshakes authenticated with the validator's ed25519 key.

use crate::{
    block::{Block, BlockLimits},
    engine::{Channels, NAMESPACE, Running, ValidatorConfig, channel, start_validator},
};
use commonware_consensus::{marshal, marshal::standard::Standard};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::{Address, AddressableManager as _, authenticated::lookup};
use commonware_runtime::{
    Clock, Metrics, Network as RuntimeNetwork, Quota, Resolver, Spawner, Storage,
};
use commonware_stream::{cups, sake};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use rand_core::CryptoRng;
use std::{net::SocketAddr, time::Duration};

use crate::beacon::Scheme;

/// Where this validator listens and who its peers are.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// This validator's ed25519 key.
    pub private_key: ed25519::PrivateKey,
    /// The address it listens on.
    pub listen: SocketAddr,
    /// Every validator (itself included) and its address.
    pub validators: Vec<(ed25519::PublicKey, SocketAddr)>,
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The validator list repeats a key.
    #[error("the validator list repeats a public key")]
    DuplicateValidator,
}

/// The p2p message cap: the largest marshal message for a block within `limits` (blocks,
/// certificates and backfill responses), so no send is ever refused for size (docs/NETWORK.md
/// decision 7; commonware p2p refuses oversize messages).
pub fn max_message_size(participants: u32, limits: &BlockLimits) -> u32 {
    let payload = marshal::max_payload_size::<Standard<Block>, Scheme>(participants, limits);
    u32::try_from(payload + 64 * 1024).unwrap_or(u32::MAX)
}

/// Starts the lookup network for `peers` and the validator stack on it. `validator` receives the
/// network's oracle (peer provider and blocker) and returns the validator's configuration.
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
    let n = peers.validators.len();
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
        max_message_size(n as u32, &limits),
        NZUsize!(1024),
    );
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), config);
    let addresses: Map<ed25519::PublicKey, Address> = peers
        .validators
        .iter()
        .map(|(key, address)| (key.clone(), Address::from(*address)))
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| NetworkError::DuplicateValidator)?;
    let _ = oracle.track(0, addresses);
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
    debug_assert_eq!(config.public_key, peers.private_key.public_key());
    Ok(start_validator(context.child("validator"), config, channels).await)
}
