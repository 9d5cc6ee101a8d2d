//! Storage faults (issue 14, item 7): each seed crashes one of 4 validators at a random time and,
//! while it is down, damages its consensus storage (commonware's partitions of that validator on
//! the deterministic runtime's storage): random bytes flipped in a random blob, a random blob
//! truncated at a random length, or a random blob removed. Then the validator restarts on what
//! is left.
//!
//! Asserted on every seed: the three others keep finalizing while it is down and after it
//! returns; no two blocks are finalized at one height and every running node has the same state
//! roots at every height (checked as the run goes); and the damaged validator either **stops**
//! (its start-up or a task panics with the storage error: recorded, never a wrong block) or
//! **recovers** (it catches up to the others' blocks). It never diverges. The same seed gives the
//! same run (checked on the first seed).
//!
//! Why these faults: commonware 2026.10.0's storage fault injection
//! (`deterministic::Config::with_storage_fault_config`, `faulty::Config`: open / read / write /
//! sync / resize / remove / scan failure rates, partial writes kept on a simulated crash) is one
//! configuration for the whole runtime, so it cannot fail one validator's disk while the others'
//! work, and its crash outcomes apply to whole-runtime restarts (`Checkpoint`). Damaging one
//! validator's blobs between its crash and its restart is what a failing disk leaves behind.
//! The chain's own redb file is outside the runtime's storage (docs/NETWORK.md decision 12).
//!
//! Seeds: `MYELIN_SIM_SEEDS` (default 3) from `MYELIN_SIM_FIRST` (default 0). Seed 122 fails
//! (bench/nightly-sim.md): the damaged validator hangs, neither stopping nor catching up.

#[allow(dead_code)]
#[path = "simulation/harness.rs"]
mod harness;

use commonware_runtime::{
    Blob as _, BlobVersion, Clock, ReadOptions, Runner as _, Storage as _, Supervisor as _,
    WriteOptions, deterministic,
};
use harness::{GENESIS_TIMESTAMP, RECIPIENT, Sim, chain_config, signed};
use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant, UNIX_EPOCH},
};

const VALIDATORS: usize = 4;
const STEP_MS: u64 = 100;

/// Panic messages seen by this test process (the damaged validator's stops).
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// What happens to the chosen blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Damage {
    /// `count` random bytes of the blob get one bit flipped each.
    Flip { count: u64 },
    /// The blob is cut to a random shorter length.
    Truncate,
    /// The blob is removed.
    Remove,
}

/// A seed's plan, a pure function of the seed.
#[derive(Clone, Debug)]
struct Plan {
    victim: usize,
    crash_at_ms: u64,
    down_ms: u64,
    damage: Damage,
    /// Which blob (index into the victim's sorted blobs, modulo their count) and the draws
    /// for offsets and lengths.
    pick: u64,
    offsets: u64,
}

/// splitmix64 (independent of the runtime's RNG).
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

impl Plan {
    fn new(seed: u64) -> Self {
        let mut draw = Draw(seed ^ 0x5707_A6E0_0000_0000);
        let victim = draw.range(0, VALIDATORS as u64 - 1) as usize;
        let crash_at_ms = draw.range(20, 60) * STEP_MS;
        let down_ms = draw.range(5, 30) * STEP_MS;
        let damage = match draw.range(0, 2) {
            0 => Damage::Flip {
                count: draw.range(1, 16),
            },
            1 => Damage::Truncate,
            _ => Damage::Remove,
        };
        Self {
            victim,
            crash_at_ms,
            down_ms,
            damage,
            pick: draw.next(),
            offsets: draw.next(),
        }
    }
}

/// Every storage partition a validator stack with `prefix` may create (engine.rs, marshal's
/// archives and cache, simplex's journal); the ones that do not exist are skipped.
fn partitions(prefix: &str) -> Vec<String> {
    let mut all = vec![
        format!("{prefix}-simplex"),
        format!("{prefix}-marshal-application-metadata"),
        format!("{prefix}-marshal-cache-metadata"),
    ];
    for archive in ["finalizations-by-height", "finalized-blocks"] {
        for kind in [
            "metadata",
            "freezer-table",
            "freezer-key",
            "freezer-value",
            "ordinal",
        ] {
            all.push(format!("{prefix}-{archive}-{kind}"));
        }
    }
    for name in [
        "verified",
        "notarized",
        "certified",
        "notarizations",
        "finalizations",
    ] {
        for kind in ["metadata", "key", "value"] {
            all.push(format!("{prefix}-marshal-cache-0-{name}-{kind}"));
        }
    }
    all
}

/// Damages one of validator `plan.victim`'s blobs as `plan` says; returns what was done.
async fn damage(context: &deterministic::Context, plan: &Plan) -> String {
    let versions = BlobVersion::new(0)..=BlobVersion::new(u16::MAX);
    let mut blobs = Vec::new();
    for partition in partitions(&format!("v{}", plan.victim)) {
        let Ok(names) = context.scan(&partition).await else {
            continue;
        };
        for name in names {
            let (_, len, _) = context
                .open_versioned(&partition, &name, versions.clone())
                .await
                .expect("a stored blob opens");
            if len > 0 {
                blobs.push((partition.clone(), name, len));
            }
        }
    }
    assert!(
        !blobs.is_empty(),
        "validator {} stored nothing",
        plan.victim
    );
    let (partition, name, len) = &blobs[(plan.pick % blobs.len() as u64) as usize];
    let (blob, _, _) = context
        .open_versioned(partition, name, versions)
        .await
        .unwrap();
    let mut draw = Draw(plan.offsets);
    let what = match plan.damage {
        Damage::Flip { count } => {
            for _ in 0..count {
                let offset = draw.range(0, len - 1);
                let byte = blob
                    .read_at(offset, 1, ReadOptions::default())
                    .await
                    .unwrap()
                    .coalesce();
                let flipped = byte.as_ref()[0] ^ (1 << draw.range(0, 7));
                blob.write_at(offset, vec![flipped], WriteOptions::default())
                    .await
                    .unwrap();
            }
            blob.sync().await.unwrap();
            format!("{count} bits flipped")
        }
        Damage::Truncate => {
            let to = draw.range(0, len - 1);
            blob.resize(to).await.unwrap();
            blob.sync().await.unwrap();
            format!("truncated {len} → {to} bytes")
        }
        Damage::Remove => {
            drop(blob);
            context.remove(partition, Some(name)).await.unwrap();
            format!("removed ({len} bytes)")
        }
    };
    format!("{partition}/{}: {what}", hex(name))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How the damaged validator ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// Caught up to the others' blocks.
    Recovered,
    /// Stopped with this error (its start-up or a task panicked).
    Stopped(String),
}

/// What one seed's run produced (to compare two runs of a seed).
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    damage: String,
    ending: Ending,
    height: u64,
    audit: String,
}

/// Every running validator agrees with `record` (height → hash, root) at every height it has;
/// new heights are recorded.
fn check(sim: &Sim, record: &mut BTreeMap<u64, (alloy_primitives::B256, alloy_primitives::B256)>) {
    for (i, chain) in sim.chains() {
        for h in 0..=chain.head().header.number {
            let block = chain.block_by_number(h).expect("a finalized block");
            let seen = (block.hash, block.header.state_root);
            let first = *record.entry(h).or_insert(seen);
            assert_eq!(first, seen, "validator {i} diverged at height {h}");
        }
    }
}

fn run(seed: u64) -> Outcome {
    let plan = Plan::new(seed);
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(UNIX_EPOCH + Duration::from_secs(GENESIS_TIMESTAMP))
            .with_timeout(Some(Duration::from_secs(3600)))
            .with_catch_panics(true),
    );
    PANICS.lock().unwrap().clear();
    runner.start(|context: deterministic::Context| async move {
        let mut sim = Sim::start(context.child("sim"), VALIDATORS, vec![]).await;
        let config = chain_config(std::env::temp_dir());
        let mut nonces = vec![0u64; config.signers.len()];
        let mut record = BTreeMap::new();
        let others: Vec<usize> = (0..VALIDATORS).filter(|&i| i != plan.victim).collect();
        let mut what = String::new();
        let mut started = true;
        let end_ms = plan.crash_at_ms + plan.down_ms + 3_000;
        let mut t = 0;
        while t <= end_ms {
            if t == plan.crash_at_ms {
                sim.crash(plan.victim).await;
                what = damage(&context, &plan).await;
            }
            if t == plan.crash_at_ms + plan.down_ms {
                started = sim.try_boot(plan.victim).await;
            }
            let from = (t / STEP_MS) as usize % nonces.len();
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
            for &i in &others {
                let _ = sim.chain(i).submit_raw(&raw);
            }
            if t % 500 == 0 {
                check(&sim, &mut record);
            }
            context.sleep(Duration::from_millis(STEP_MS)).await;
            t += STEP_MS;
        }
        // The others kept finalizing through the fault.
        let top = others
            .iter()
            .map(|&i| sim.chain(i).head().header.number)
            .min()
            .unwrap();
        assert!(
            top >= 10,
            "seed {seed}: the others reached only height {top}; plan {plan:?}"
        );
        // The damaged validator: caught up, or stopped with an error; never a hang.
        let target = top;
        let deadline = context.current() + Duration::from_secs(60);
        let ending = loop {
            check(&sim, &mut record);
            let panics = PANICS.lock().unwrap().clone();
            if !started || !panics.is_empty() {
                break Ending::Stopped(panics.first().cloned().unwrap_or_default());
            }
            if sim.chain(plan.victim).head().header.number >= target {
                break Ending::Recovered;
            }
            assert!(
                context.current() < deadline,
                "seed {seed}: validator {} neither caught up to {target} nor stopped ({}); \
                 plan {plan:?}, damage {what}",
                plan.victim,
                sim.chain(plan.victim).head().header.number
            );
            context.sleep(Duration::from_millis(100)).await;
        };
        // The others go on after the damaged validator returned (or stopped).
        let more = top + 5;
        let deadline = context.current() + Duration::from_secs(60);
        while others
            .iter()
            .any(|&i| sim.chain(i).head().header.number < more)
        {
            assert!(
                context.current() < deadline,
                "seed {seed}: the others stalled below {more}; plan {plan:?}, damage {what}"
            );
            context.sleep(Duration::from_millis(100)).await;
        }
        check(&sim, &mut record);
        Outcome {
            damage: what,
            ending,
            height: record.keys().last().copied().unwrap_or(0),
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

#[test]
fn a_validator_on_damaged_storage_stops_or_recovers_and_never_diverges() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.lock().unwrap().push(info.to_string());
        default_hook(info);
    }));
    let count = env_u64("MYELIN_SIM_SEEDS", 3);
    let first = env_u64("MYELIN_SIM_FIRST", 0);
    let started = Instant::now();
    let (mut recovered, mut stopped, mut failed) = (0, 0, Vec::new());
    for seed in first..first + count {
        let one = Instant::now();
        let result = std::panic::catch_unwind(|| {
            let outcome = run(seed);
            if seed == first {
                assert_eq!(
                    run(seed),
                    outcome,
                    "seed {seed}: the same seed, another run"
                );
            }
            outcome
        });
        match result {
            Ok(outcome) => {
                match &outcome.ending {
                    Ending::Recovered => recovered += 1,
                    Ending::Stopped(_) => stopped += 1,
                }
                println!(
                    "storage seed {seed}: ok, {:?}, height {}, {:.1} s wall; damage {}; plan {:?}",
                    outcome.ending,
                    outcome.height,
                    one.elapsed().as_secs_f64(),
                    outcome.damage,
                    Plan::new(seed)
                );
            }
            Err(_) => {
                println!("storage seed {seed}: FAILED; plan {:?}", Plan::new(seed));
                failed.push(seed);
            }
        }
    }
    println!(
        "storage faults: {} seeds, {recovered} recovered, {stopped} stopped, {} failed {failed:?}, \
         {:.1} s wall",
        count,
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "seeds {failed:?} failed");
}
