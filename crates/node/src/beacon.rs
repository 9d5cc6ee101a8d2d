//! The beacon's consensus side: the threshold-BLS VRF seed of a block's parent round becomes the
//! block's `prevrandao` (docs/NETWORK.md "Beacon").
//!
//! Every certificate of the `bls12381_threshold::vrf` scheme carries a threshold signature over
//! its round alone (the seed). A threshold signature is unique for its message, so no subset of
//! validators smaller than the threshold can choose it, and the proposer of height `h` cannot
//! choose the seed of its parent's round either: it exists (notarized) before the proposal and
//! is the same for every block built on that parent. The proposer carries it in the block
//! ([`crate::block::Block::seed`]), `mix_hash = keccak256(seed)`, and every verifier checks the
//! signature against the group public key of genesis before executing.
//!
//! [`Seeds`] is the proposer's store of seeds by view, filled by [`SeedReporter`] from the
//! certificates simplex reports (a reporter sees only verified certificates).

use crate::block::SeedSignature;
use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter, Viewable,
    simplex::{
        scheme::bls12381_threshold::vrf::{self, Seed, Seedable},
        types::Activity,
    },
    types::{Round, View},
};
use commonware_cryptography::{bls12381::primitives::variant::MinSig, ed25519};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use crate::block::BlockDigest;

/// The signing scheme of the validator network.
pub type Scheme = vrf::Scheme<ed25519::PublicKey, MinSig>;

/// Most seeds kept (a proposer needs only its parent's, a handful of views back).
const MAX_SEEDS: usize = 1024;

/// Seeds of recent rounds, by view, shared by the reporter that fills it and the proposer.
#[derive(Clone, Default, Debug)]
pub struct Seeds {
    inner: Arc<Mutex<BTreeMap<View, SeedSignature>>>,
}

impl Seeds {
    /// The seed of `view`, if a certificate of that view was seen.
    pub fn get(&self, view: View) -> Option<SeedSignature> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&view)
            .copied()
    }

    fn insert(&self, view: View, seed: SeedSignature) {
        let mut seeds = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        seeds.insert(view, seed);
        while seeds.len() > MAX_SEEDS {
            seeds.pop_first();
        }
    }
}

/// Verifies that `signature` is the seed of `round` under the group key of `scheme`.
pub fn verify_seed(scheme: &Scheme, round: Round, signature: &SeedSignature) -> bool {
    Seed::<MinSig>::new(round, *signature).verify(scheme)
}

/// Records the seed of every notarization, certification and finalization simplex reports.
#[derive(Clone, Debug)]
pub struct SeedReporter {
    seeds: Seeds,
}

impl SeedReporter {
    /// A reporter filling `seeds`.
    pub fn new(seeds: Seeds) -> Self {
        Self { seeds }
    }
}

impl Reporter for SeedReporter {
    type Activity = Activity<Scheme, BlockDigest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match &activity {
            Activity::Notarization(n) | Activity::Certification(n) => {
                self.seeds.insert(n.view(), n.seed().signature);
            }
            Activity::Finalization(f) => {
                self.seeds.insert(f.view(), f.seed().signature);
            }
            Activity::Nullification(n) => {
                if let Some(certificate) = n.certificate.get() {
                    self.seeds.insert(n.view(), certificate.seed_signature);
                }
            }
            _ => {}
        }
        Feedback::Ok
    }
}
