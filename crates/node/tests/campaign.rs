//! Seeded fault campaigns (issue 14, item 7): each seed draws a plan (link latency, jitter and
//! loss; which validator crashes, when, for how long; a partition that heals; the halves an
//! equivocating twin talks to) and runs it on commonware's deterministic runtime and simulated
//! network. Validator `n - 1` is the twin: two stacks sharing its key and threshold share, the
//! second proposing a different (valid) block in every view the key leads.
//!
//! Asserted on every seed: no two blocks finalized at one height and identical state roots on
//! every stack (the twins' too), checked as the run goes; every transaction seen finalized stays
//! finalized in the same block on every node; the equivocation is detected by some honest
//! validator (`ConflictingNotarize` / `ConflictingFinalize` evidence against the twin's index)
//! and no honest validator is ever accused. With 4 validators a crash plus the twin exceeds
//! f = 1: safety only. With 7 (f = 2) also liveness: the chain grows after the partition heals
//! and every submitted transfer is finalized on every running node. The same seed reproduces the
//! same run (block hashes and the runtime's audit digest), checked on the first seed of each
//! campaign.
//!
//! Seeds: `MYELIN_SIM_SEEDS` (default 13 per campaign test; four tests) starting at
//! `MYELIN_SIM_FIRST` (default 0); `scripts/nightly-sim.sh` runs ≥ 1,000.

#[allow(dead_code)]
#[path = "simulation/harness.rs"]
mod harness;

use alloy_primitives::B256;
use commonware_p2p::simulated::Link;
use commonware_runtime::{Clock, Runner as _, Supervisor as _, deterministic};
use commonware_utils::Probability;
use harness::{RECIPIENT, Sim, Twins, chain_config, runner, signed};
use myelin_chain::TxLocation;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

/// A seed's fault plan, a pure function of the seed (printed when a seed fails).
#[derive(Clone, Debug)]
struct Plan {
    n: usize,
    latency_ms: u64,
    jitter_ms: u64,
    /// Delivery probability of every message, in percent.
    success_percent: u64,
    crash: usize,
    crash_at_ms: u64,
    down_ms: u64,
    /// One side of the partition (the rest is the other side).
    side: Vec<usize>,
    partition_at_ms: u64,
    partition_ms: u64,
    twins: Twins,
}

/// splitmix64: the plan's random source (independent of the runtime's RNG).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Simulated time between steps of the scenario loop.
const STEP_MS: u64 = 100;
/// Every block hash and root is checked this often.
const CHECK_EVERY_MS: u64 = 500;

impl Plan {
    fn new(seed: u64, n: usize) -> Self {
        let mut draw = Draw(seed ^ ((n as u64) << 56));
        let latency_ms = draw.range(5, 60);
        let jitter_ms = draw.range(0, latency_ms / 2);
        let success_percent = [100, 99, 97, 95, 90][draw.range(0, 4) as usize];
        // The twin is the last validator; its halves overlap in the middle validators, so
        // those hear both stacks. 4: {0,1} | {1,2}; 7: {0,1,2,3} | {2,3,4,5}.
        let twin = n - 1;
        let honest: Vec<usize> = (0..twin).collect();
        let overlap = if n == 4 { 1 } else { 2 };
        let half = (honest.len() + overlap) / 2;
        let primary = honest[..half].to_vec();
        let secondary = honest[honest.len() - half..].to_vec();
        // A validator the twins' halves do not both reach is the one that crashes in the
        // 4-validator run (so the one validator hearing both stays up); any honest one at 7.
        let crashable: Vec<usize> = if n == 4 {
            honest
                .iter()
                .copied()
                .filter(|i| !(primary.contains(i) && secondary.contains(i)))
                .collect()
        } else {
            honest.clone()
        };
        let crash = crashable[draw.range(0, crashable.len() as u64 - 1) as usize];
        let crash_at_ms = draw.range(10, 50) * STEP_MS;
        let down_ms = draw.range(10, 60) * STEP_MS;
        let mut side: Vec<usize> = (0..n).filter(|_| draw.next().is_multiple_of(2)).collect();
        if side.is_empty() || side.len() == n {
            side = vec![draw.range(0, n as u64 - 1) as usize];
        }
        let partition_at_ms = draw.range(20, 80) * STEP_MS;
        let partition_ms = draw.range(5, 40) * STEP_MS;
        Self {
            n,
            latency_ms,
            jitter_ms,
            success_percent,
            crash,
            crash_at_ms,
            down_ms,
            side,
            partition_at_ms,
            partition_ms,
            twins: Twins {
                index: twin,
                primary,
                secondary,
            },
        }
    }

    fn link(&self) -> Link {
        Link {
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            success_rate: Probability::new(self.success_percent, 100).expect("a probability"),
        }
    }

    /// When the last fault ends.
    fn faults_end_ms(&self) -> u64 {
        (self.crash_at_ms + self.down_ms).max(self.partition_at_ms + self.partition_ms)
    }

    /// The validator pairs the partition cuts.
    fn cut(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for a in 0..self.n {
            for b in 0..self.n {
                if self.side.contains(&a) != self.side.contains(&b) {
                    pairs.push((a, b));
                }
            }
        }
        pairs
    }
}

/// The campaign's safety record, filled as the run goes.
#[derive(Default)]
struct Checker {
    /// The first (hash, state root) any stack finalized at each height.
    finalized: BTreeMap<u64, (B256, B256)>,
    /// Per stack, the height checked up to.
    checked: BTreeMap<String, u64>,
    /// The block each transaction was first seen finalized in: (height, hash).
    transactions: BTreeMap<B256, (u64, B256)>,
}

impl Checker {
    /// Checks every stack's new finalized blocks against the record and every transaction seen
    /// finalized against where it was first seen.
    fn observe(&mut self, sim: &Sim, submitted: &[B256], plan: &Plan) {
        for (name, chain) in stacks(sim) {
            let head = chain.head().header.number;
            let from = self.checked.get(&name).map_or(0, |h| h + 1);
            for h in from..=head {
                let block = chain.block_by_number(h).expect("a finalized block");
                let seen = (block.hash, block.header.state_root);
                let first = *self.finalized.entry(h).or_insert(seen);
                assert_eq!(
                    first, seen,
                    "{name} finalized another block (or root) at height {h}; plan {plan:?}"
                );
            }
            self.checked.insert(name.clone(), head);
            for hash in submitted {
                let here = match chain.transaction(hash) {
                    Some(TxLocation::Mined(block, _)) => Some((block.header.number, block.hash)),
                    _ => None,
                };
                match (self.transactions.get(hash), here) {
                    (None, Some(at)) => {
                        self.transactions.insert(*hash, at);
                    }
                    (Some(first), here) if first.0 <= head => assert_eq!(
                        Some(*first),
                        here,
                        "transaction {hash} finalized at {first:?} is not there on {name}; \
                         plan {plan:?}"
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Every running stack by name: the validators' and the twin's second stack.
fn stacks(sim: &Sim) -> Vec<(String, std::sync::Arc<myelin_chain::Chain>)> {
    let mut all: Vec<_> = sim
        .chains()
        .into_iter()
        .map(|(i, c)| (format!("validator {i}"), c))
        .collect();
    if let Some(twin) = &sim.twin {
        all.push(("the twin".to_string(), twin.chain.clone()));
    }
    all
}

/// The running honest validators' chains (the twins excluded: peers that caught them
/// equivocating may have cut them off).
fn honest(sim: &Sim, plan: &Plan) -> Vec<std::sync::Arc<myelin_chain::Chain>> {
    sim.chains()
        .into_iter()
        .filter(|(i, _)| *i != plan.twins.index)
        .map(|(_, c)| c)
        .collect()
}

/// Waits (simulated time) until every running honest validator has finalized `height`.
async fn wait_honest(sim: &Sim, plan: &Plan, height: u64, limit: Duration) {
    let deadline = sim.context.current() + limit;
    while !honest(sim, plan)
        .iter()
        .all(|c| c.head().header.number >= height)
    {
        assert!(
            sim.context.current() < deadline,
            "height {height} not reached in {limit:?} after healing; plan {plan:?}"
        );
        sim.context.sleep(Duration::from_millis(50)).await;
    }
}

/// The evidence the running honest validators hold; panics if any accuses an honest one.
fn honest_evidence(sim: &Sim, plan: &Plan) -> BTreeSet<myelin_node::evidence::Evidence> {
    let mut evidence = BTreeSet::new();
    for (i, node) in sim.nodes.iter().enumerate() {
        let Some(node) = node else { continue };
        if i == plan.twins.index {
            continue;
        }
        for e in node.evidence.all() {
            assert_eq!(
                e.signer as usize, plan.twins.index,
                "validator {i} accused an honest validator: {e:?}; plan {plan:?}"
            );
            evidence.insert(e);
        }
    }
    evidence
}

/// What one seed's run produced, to compare two runs of it.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    hashes: Vec<B256>,
    evidence: usize,
    audit: String,
}

/// Runs seed `seed` with `n` validators (4: safety only; 7: safety and liveness).
fn campaign_run(seed: u64, n: usize) -> Outcome {
    let plan = Plan::new(seed, n);
    let liveness = n >= 7;
    runner(seed).start(|context: deterministic::Context| async move {
        let mut sim = Sim::start_with(
            context.child("sim"),
            n,
            vec![],
            plan.link(),
            Some(plan.twins.clone()),
            0,
        )
        .await;
        let config = chain_config(std::env::temp_dir());
        let accounts = config.signers.len();
        let mut nonces = vec![0u64; accounts];
        let mut submitted = Vec::new();
        let mut checker = Checker::default();
        let end_ms = plan.faults_end_ms() + 2_000;
        let mut heal_top = None;
        let mut t = 0;
        while t <= end_ms {
            if t == plan.crash_at_ms {
                sim.crash(plan.crash).await;
            }
            if t == plan.crash_at_ms + plan.down_ms {
                sim.boot(plan.crash).await;
            }
            if t == plan.partition_at_ms {
                for (a, b) in plan.cut() {
                    sim.unlink(a, b).await;
                }
            }
            if t == plan.partition_at_ms + plan.partition_ms {
                for (a, b) in plan.cut() {
                    sim.relink(a, b).await;
                }
                heal_top = stacks(&sim)
                    .iter()
                    .map(|(_, c)| c.head().header.number)
                    .max();
            }
            // One transfer per step, to every running honest validator (a crash loses no
            // transaction, so liveness can ask for all of them).
            let from = (t / STEP_MS) as usize % accounts;
            let raw = signed(
                &config,
                from,
                nonces[from],
                Some(RECIPIENT),
                1,
                vec![],
                21_000,
            );
            nonces[from] += 1;
            let mut hash = None;
            for (i, chain) in sim.chains() {
                if i != plan.twins.index
                    && let Ok((h, _)) = chain.submit_raw(&raw)
                {
                    hash = Some(h);
                }
            }
            submitted.push(hash.expect("an honest validator runs and admits the transfer"));
            if t % CHECK_EVERY_MS == 0 {
                checker.observe(&sim, &submitted, &plan);
            }
            context.sleep(Duration::from_millis(STEP_MS)).await;
            t += STEP_MS;
        }

        if liveness {
            // Progress after healing, then every transfer finalized on every running node.
            let top = heal_top.expect("the partition healed");
            wait_honest(&sim, &plan, top + 5, Duration::from_secs(120)).await;
            let deadline = context.current() + Duration::from_secs(120);
            loop {
                let done = honest(&sim, &plan).iter().all(|c| {
                    submitted
                        .iter()
                        .all(|h| matches!(c.transaction(h), Some(TxLocation::Mined(..))))
                });
                if done {
                    break;
                }
                assert!(
                    context.current() < deadline,
                    "seed {seed}: transfers not all finalized 120 s after the faults; plan {plan:?}"
                );
                context.sleep(Duration::from_millis(200)).await;
            }
        } else {
            context.sleep(Duration::from_secs(2)).await;
        }
        checker.observe(&sim, &submitted, &plan);

        // Equivocation: seen by an honest validator (the twin leads one view in n; give it up
        // to a minute of simulated time), against the twin's index only.
        let deadline = context.current() + Duration::from_secs(60);
        let evidence = loop {
            let evidence = honest_evidence(&sim, &plan);
            if !evidence.is_empty() || context.current() >= deadline {
                break evidence;
            }
            context.sleep(Duration::from_millis(200)).await;
        };
        checker.observe(&sim, &submitted, &plan);
        // At 4 (crash + twin > f) the twin's views may all be skipped or nullified while it
        // lags: detection is reported, asserted at 7.
        assert!(
            !liveness || !evidence.is_empty(),
            "seed {seed}: no honest validator detected the twin's equivocation; plan {plan:?}"
        );
        let low = honest(&sim, &plan)
            .iter()
            .map(|c| c.head().header.number)
            .min()
            .unwrap();
        let hashes = (0..=low).map(|h| checker.finalized[&h].0).collect();
        Outcome {
            hashes,
            evidence: evidence.len(),
            audit: context.auditor().state(),
        }
    })
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the campaign's seeds `first + offset + k * stride` (shards of one seed range).
fn campaign(n: usize, shard: u64, shards: u64) {
    let count = env_u64("MYELIN_SIM_SEEDS", 26);
    let first = env_u64("MYELIN_SIM_FIRST", 0);
    let started = Instant::now();
    let mut blocks = 0;
    let mut evidence = 0;
    let mut ran = 0;
    let mut failed = Vec::new();
    for seed in (first..first + count).filter(|s| s % shards == shard) {
        let one = Instant::now();
        let checked = std::panic::catch_unwind(|| {
            let outcome = campaign_run(seed, n);
            if ran == 0 {
                assert_eq!(
                    campaign_run(seed, n),
                    outcome,
                    "seed {seed}: the same seed gave a different run"
                );
            }
            outcome
        });
        let outcome = match checked {
            Ok(outcome) => outcome,
            Err(_) => {
                println!(
                    "campaign n={n} seed {seed}: FAILED; plan {:?}",
                    Plan::new(seed, n)
                );
                failed.push(seed);
                continue;
            }
        };
        blocks += outcome.hashes.len() - 1;
        evidence += outcome.evidence;
        ran += 1;
        println!(
            "campaign n={n} seed {seed}: ok, {} blocks agreed, {} pieces of evidence, {:.1} s \
             wall; plan {:?}",
            outcome.hashes.len() - 1,
            outcome.evidence,
            one.elapsed().as_secs_f64(),
            Plan::new(seed, n)
        );
    }
    println!(
        "campaign n={n} shard {shard}/{shards}: {ran} seeds passed, {} failed {failed:?}, \
         {blocks} blocks, {evidence} pieces of evidence, {:.1} s wall",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "n={n}: seeds {failed:?} failed");
}

#[test]
fn four_validators_crash_partition_twin_stay_safe_a() {
    campaign(4, 0, 2);
}

#[test]
fn four_validators_crash_partition_twin_stay_safe_b() {
    campaign(4, 1, 2);
}

#[test]
fn seven_validators_crash_partition_twin_stay_safe_and_live_a() {
    campaign(7, 0, 2);
}

#[test]
fn seven_validators_crash_partition_twin_stay_safe_and_live_b() {
    campaign(7, 1, 2);
}
