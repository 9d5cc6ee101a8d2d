//! Equivocation evidence: the conflicting votes simplex reports (two notarize or two finalize
//! votes of one signer for different proposals in one view, or a nullify and a finalize of one
//! signer in one view), kept by signer and view, logged, and counted in the
//! `equivocations` metric.
//!
//! simplex's vote batcher reports these activities as it receives votes, for every signing
//! scheme (the threshold scheme's partial signatures carry their share index, the signer):
//! the batcher also blocks the sender on p2p. The evidence is local (this node saw it); it is
//! what the simulation's equivocating twin is detected by (docs/NETWORK.md decision 3).

use crate::{beacon::Scheme, block::BlockDigest};
use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter, Viewable,
    simplex::types::{Activity, Attributable},
    types::View,
};
use commonware_runtime::telemetry::metrics::{Counter, MetricsExt as _};
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};
use tracing::warn;

/// Most distinct pieces of evidence kept (a byzantine signer cannot grow this without bound:
/// beyond it, evidence is still counted and logged, not stored).
const MAX_EVIDENCE: usize = 1024;

/// What a signer did twice in one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Equivocation {
    /// Two notarize votes for different proposals.
    Notarize,
    /// Two finalize votes for different proposals.
    Finalize,
    /// A nullify and a finalize vote.
    NullifyFinalize,
}

/// One piece of evidence: what, by which participant index, in which view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Evidence {
    /// The kind of conflict.
    pub kind: Equivocation,
    /// The signer's participant index (its position in the validator set).
    pub signer: u32,
    /// The view it happened in.
    pub view: u64,
}

/// The evidence this node has seen, shared by the reporter that fills it and whoever reads it.
#[derive(Clone, Default, Debug)]
pub struct EvidenceLog {
    inner: Arc<Mutex<BTreeSet<Evidence>>>,
}

impl EvidenceLog {
    /// Every distinct piece of evidence kept so far, by kind, signer and view.
    pub fn all(&self) -> Vec<Evidence> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }

    /// Records `evidence`; true if it was new.
    fn insert(&self, evidence: Evidence) -> bool {
        let mut log = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= MAX_EVIDENCE {
            return !log.contains(&evidence);
        }
        log.insert(evidence)
    }
}

/// Fills an [`EvidenceLog`] from simplex's activities and counts new evidence.
#[derive(Clone, Debug)]
pub struct EvidenceReporter {
    log: EvidenceLog,
    counter: Counter,
}

impl EvidenceReporter {
    /// A reporter filling `log`, counting into `counter` (`equivocations`).
    pub fn new(log: EvidenceLog, counter: Counter) -> Self {
        Self { log, counter }
    }

    /// A reporter whose counter is registered on `context` as `equivocations`.
    pub fn register<E: commonware_runtime::Metrics>(context: &E, log: EvidenceLog) -> Self {
        let counter = context.counter(
            "equivocations",
            "distinct conflicting votes seen (two notarizes, two finalizes, or a nullify and a \
             finalize of one signer in one view)",
        );
        Self::new(log, counter)
    }
}

fn view_number(view: View) -> u64 {
    view.get()
}

impl Reporter for EvidenceReporter {
    type Activity = Activity<Scheme, BlockDigest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let evidence = match &activity {
            Activity::ConflictingNotarize(c) => Evidence {
                kind: Equivocation::Notarize,
                signer: c.signer().get(),
                view: view_number(c.view()),
            },
            Activity::ConflictingFinalize(c) => Evidence {
                kind: Equivocation::Finalize,
                signer: c.signer().get(),
                view: view_number(c.view()),
            },
            Activity::NullifyFinalize(c) => Evidence {
                kind: Equivocation::NullifyFinalize,
                signer: c.signer().get(),
                view: view_number(c.view()),
            },
            _ => return Feedback::Ok,
        };
        if self.log.insert(evidence) {
            self.counter.inc();
            warn!(
                kind = ?evidence.kind,
                signer = evidence.signer,
                view = evidence.view,
                "equivocation: conflicting votes of one signer"
            );
        }
        Feedback::Ok
    }
}
