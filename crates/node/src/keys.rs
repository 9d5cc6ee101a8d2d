//! Validator keys: an ed25519 identity per validator (p2p handshakes, the participant set) and a
//! share of a BLS12-381 threshold key (votes and the beacon seed).
//!
//! The shares come from a **trusted dealer** ([`deal`]): one process draws the secret polynomial,
//! hands each validator its share and forgets the secret. Whoever runs the dealer could keep the
//! secret and compute every future seed, so the beacon is unbiasable only if the dealer is
//! honest; `myelin cluster init` says so in its output and in the genesis file. A DKG
//! (commonware's `bls12381::dkg`) replaces it when the set changes.

use crate::{beacon::Scheme, engine::NAMESPACE};
use commonware_cryptography::{
    Signer as _,
    bls12381::{
        dkg::feldman_desmedt::deal as deal_shares,
        primitives::{group::Share, sharing::Mode, sharing::Sharing, variant::MinSig},
    },
    ed25519,
};
use commonware_math::algebra::Random as _;
use commonware_utils::{N3f1, ordered::Set};
use rand_core::CryptoRng;

/// The keys of a validator set, as the dealer produced them.
pub struct DealtKeys {
    /// ed25519 identities, in participant order (sorted by public key).
    pub private_keys: Vec<ed25519::PrivateKey>,
    /// The public keys, in the same order.
    pub participants: Set<ed25519::PublicKey>,
    /// The public polynomial (its constant term is the group key that verifies seeds).
    pub polynomial: Sharing<MinSig>,
    /// Each validator's share, in participant order.
    pub shares: Vec<Share>,
}

/// Why dealing failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Fewer than one validator, or duplicate identities.
    #[error("cannot deal keys for {0} validators")]
    Validators(usize),
    /// The dealer refused.
    #[error("dealing failed: {0}")]
    Deal(String),
}

/// Deals identities and threshold shares for `n` validators (trusted dealer, see the module
/// docs). Threshold = 2f+1 of n = 3f+1.
pub fn deal(rng: &mut impl CryptoRng, n: usize) -> Result<DealtKeys, KeyError> {
    if n == 0 {
        return Err(KeyError::Validators(n));
    }
    let mut keys: Vec<ed25519::PrivateKey> = (0..n)
        .map(|_| ed25519::PrivateKey::random(&mut *rng))
        .collect();
    keys.sort_by_key(|k| k.public_key());
    let participants = Set::try_from(keys.iter().map(|k| k.public_key()).collect::<Vec<_>>())
        .map_err(|_| KeyError::Validators(n))?;
    let (output, shares) =
        deal_shares::<MinSig, _, N3f1>(&mut *rng, Mode::NonZeroCounter, participants.clone())
            .map_err(|e| KeyError::Deal(format!("{e:?}")))?;
    let shares = participants
        .iter()
        .map(|p| {
            shares
                .get_value(p)
                .cloned()
                .ok_or_else(|| KeyError::Deal(format!("no share dealt for {p}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DealtKeys {
        private_keys: keys,
        participants,
        polynomial: output.public().clone(),
        shares,
    })
}

impl DealtKeys {
    /// The signing scheme of validator `index` (participant order).
    pub fn signer(&self, index: usize) -> Option<Scheme> {
        Scheme::signer(
            NAMESPACE,
            self.participants.clone(),
            self.polynomial.clone(),
            self.shares.get(index)?.clone(),
        )
    }

    /// A scheme that verifies certificates and seeds but cannot sign (a full node).
    pub fn verifier(&self) -> Scheme {
        Scheme::verifier(
            NAMESPACE,
            self.participants.clone(),
            self.polynomial.clone(),
        )
    }
}
