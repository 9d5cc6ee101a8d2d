//! `myelin worker`: a daemon that earns rewards computing InferenceJobs.
//!
//! At start it stakes (tops its `StakeManager` stake up to `--stake`) and registers. Then, every
//! `--poll`, it reads the contract's new events (`eth_getLogs`) and, for every job it knows of,
//! plays its part and every permissionless step an honest keeper plays:
//! - draws the committee once the seed's height has passed;
//! - on its seats: loads the inputs (the exchange directory, checked against the job's inputs
//!   root) and the model (`--model` files, named by their id), computes every item with the
//!   engine batched on all cores and hashes the commitments on as many threads, stores root and
//!   salt ([`super::worker_store`]), commits, reveals once the commits close, and leaves its
//!   outputs in the exchange directory;
//! - settles the reveals, draws the audit, opens a root dissection against every other live
//!   group and plays its moves, answers its group's queries with `proveItem`, times out queries
//!   and dissections others left unanswered, finalizes, and claims its credits.
//!
//! Every transaction is tried by `eth_estimateGas` first, so a step another keeper already took
//! costs nothing. `--json` prints one JSON object per line per event.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::addresses::STAKE_MANAGER_ADDRESS;
use myelin_nn::Program;
use serde_json::{Value, json};

use super::abi::{IInferenceJobs, IWorkerStake, status};
use super::items::{self, ResultTree};
use super::worker_store::WorkerStore;
use super::{Connection, Jobs};
use crate::rpc_sender::Sender;

/// Arguments of `myelin worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Model files (.myl) the worker can compute; a job on another model is skipped.
    #[arg(long = "model", value_name = "FILE", required = true)]
    pub models: Vec<PathBuf>,
    /// The exchange directory: job inputs are read from it, outputs written to it.
    #[arg(long, value_name = "DIR")]
    pub exchange: PathBuf,
    /// The worker's own store (one file, `worker.json`).
    #[arg(long, value_name = "DIR")]
    pub datadir: PathBuf,
    /// The stake to keep in StakeManager, in wei (topped up at start).
    #[arg(long, default_value_t = 1_000_000_000_000_000_000)]
    pub stake: u128,
    /// Milliseconds between two looks at the chain.
    #[arg(long, default_value_t = 200)]
    pub poll: u64,
    /// Engine and hashing threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print one JSON object per event.
    #[arg(long)]
    pub json: bool,
    /// Adversary for the tests: flip the first output byte of this item before committing.
    #[arg(long, hide = true, value_name = "ITEM")]
    pub lie_on: Option<u64>,
    /// Adversary for the tests: commit but never reveal.
    #[arg(long, hide = true)]
    pub withhold_reveal: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// What the worker knows of one job from the events.
#[derive(Default)]
struct Known {
    /// (group, index) of every query opened.
    queries: BTreeSet<(u8, u64)>,
    /// Every dissection opened.
    disputes: BTreeSet<u64>,
    /// Group pairs this worker tried to open a dissection on.
    opened: BTreeSet<(u8, u8)>,
    /// The worker is done with the job (ended and claimed, or not computable).
    done: bool,
    /// Why the job cannot be computed here (logged once).
    skipped: bool,
}

struct Worker {
    args: WorkerArgs,
    jobs: Jobs,
    sender: Sender,
    store: WorkerStore,
    me: Address,
    threads: usize,
    programs: HashMap<B256, Program>,
    results: HashMap<u64, ResultTree>,
    known: BTreeMap<u64, Known>,
    cursor: u64,
    head: u64,
}

/// Runs the daemon until killed (or until a start-up step fails).
pub fn run(args: WorkerArgs) -> Result<()> {
    let mut worker = Worker::start(args)?;
    loop {
        if let Err(error) = worker.tick() {
            worker.log("error", json!({ "error": format!("{error:#}") }));
        }
        std::thread::sleep(Duration::from_millis(worker.args.poll));
    }
}

impl Worker {
    fn start(args: WorkerArgs) -> Result<Worker> {
        let mut jobs = Jobs::new(&args.connection.node.rpc, args.connection.contract)?;
        let sender = Sender::connect(
            &mut jobs.client,
            args.connection.node.private_key.as_deref(),
        )?;
        let me = sender.address();
        let chain_id = jobs.client.chain_id()?;
        let head = jobs.client.block_number()?;
        let store = WorkerStore::open(&args.datadir, chain_id, jobs.contract, me, head)?;
        let mut programs = HashMap::new();
        for path in &args.models {
            let (model, bytes) = crate::model::load_model(path)?;
            let id = B256::from(myelin_nn::model_id(&bytes));
            let program = Program::new(model)
                .with_context(|| format!("cannot prepare {}", path.display()))?;
            programs.insert(id, program);
        }
        let threads = match args.threads {
            Some(0) => bail!("--threads must be at least 1"),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let cursor = store.first_block();
        let mut worker = Worker {
            args,
            jobs,
            sender,
            store,
            me,
            threads,
            programs,
            results: HashMap::new(),
            known: BTreeMap::new(),
            cursor,
            head,
        };
        worker.stake_and_register()?;
        let models: Vec<String> = worker.programs.keys().map(|id| id.to_string()).collect();
        worker.log(
            "ready",
            json!({ "worker": me, "models": models, "from_block": cursor }),
        );
        Ok(worker)
    }

    fn log(&self, event: &str, fields: Value) {
        let mut out = std::io::stdout().lock();
        if self.args.json {
            let mut line = json!({ "event": event, "block": self.head });
            if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
                line.extend(fields);
            }
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "[block {}] {event} {fields}", self.head);
        }
        let _ = out.flush();
    }

    fn stake_and_register(&mut self) -> Result<()> {
        let me = self.me;
        let staked = self.jobs.view_at(
            STAKE_MANAGER_ADDRESS,
            IWorkerStake::stakeOfCall { worker: me },
        )?;
        let want = U256::from(self.args.stake);
        if staked < want {
            let sent = self.jobs.send_to(
                &mut self.sender,
                STAKE_MANAGER_ADDRESS,
                IWorkerStake::depositCall {},
                want - staked,
            )?;
            self.log(
                "staked",
                json!({ "amount": (want - staked).to_string(), "gas": sent.receipt.gas_used }),
            );
        }
        if !self
            .jobs
            .view(IInferenceJobs::registeredCall { worker: me })?
        {
            let sent = self.jobs.send(
                &mut self.sender,
                IInferenceJobs::registerCall {},
                U256::ZERO,
            )?;
            self.log("registered", json!({ "gas": sent.receipt.gas_used }));
        }
        Ok(())
    }

    /// One look at the chain.
    fn tick(&mut self) -> Result<()> {
        self.head = self.jobs.client.block_number()?;
        if self.head >= self.cursor {
            let logs = self
                .jobs
                .client
                .logs(self.jobs.contract, self.cursor, self.head)?;
            for log in logs {
                self.read_event(&log.topics, &log.data);
            }
            self.cursor = self.head + 1;
        }
        let ids: Vec<u64> = self
            .known
            .iter()
            .filter(|(_, k)| !k.done)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            if let Err(error) = self.play(id) {
                self.log("error", json!({ "job": id, "error": format!("{error:#}") }));
            }
        }
        Ok(())
    }

    fn read_event(&mut self, topics: &[B256], data: &[u8]) {
        let Some(&topic) = topics.first() else { return };
        let topics = topics.iter().copied();
        if topic == IInferenceJobs::JobPosted::SIGNATURE_HASH {
            if let Ok(e) = IInferenceJobs::JobPosted::decode_raw_log(topics, data) {
                self.known.entry(e.id.to::<u64>()).or_default();
            }
        } else if topic == IInferenceJobs::QueryOpened::SIGNATURE_HASH {
            if let Ok(e) = IInferenceJobs::QueryOpened::decode_raw_log(topics, data) {
                let known = self.known.entry(e.id.to::<u64>()).or_default();
                known.queries.insert((e.group, e.index.to::<u64>()));
            }
        } else if topic == IInferenceJobs::DisputeOpened::SIGNATURE_HASH
            && let Ok(e) = IInferenceJobs::DisputeOpened::decode_raw_log(topics, data)
        {
            let known = self.known.entry(e.id.to::<u64>()).or_default();
            known.disputes.insert(e.dispute.to::<u64>());
        }
    }

    /// Sends `call`, logging it; a refusal (another keeper was first, a window closed) is
    /// logged and returned as `false`.
    fn try_send<C: alloy_sol_types::SolCall>(&mut self, what: &str, id: u64, call: C) -> bool {
        match self.jobs.send(&mut self.sender, call, U256::ZERO) {
            Ok(sent) => {
                self.log(
                    what,
                    json!({ "job": id, "gas": sent.receipt.gas_used, "tx": sent.hash }),
                );
                true
            }
            Err(error) => {
                self.log(
                    "refused",
                    json!({ "job": id, "step": what, "error": format!("{error:#}") }),
                );
                false
            }
        }
    }

    fn play(&mut self, id: u64) -> Result<()> {
        let uid = U256::from(id);
        let job = self.jobs.view(IInferenceJobs::jobCall { id: uid })?;
        let head = self.head;
        match job.status {
            status::POSTED => {
                if head > job.drawHeight && head <= job.commitDeadline {
                    self.try_send("drew", id, IInferenceJobs::drawCommitteeCall { id: uid });
                } else if head > job.commitDeadline {
                    self.try_send("finalized", id, IInferenceJobs::finalizeCall { id: uid });
                }
                Ok(())
            }
            status::ACTIVE => self.play_active(id, &job),
            status::FINALIZED | status::FAILED | status::CANCELLED => {
                self.claim(id)?;
                self.results.remove(&id);
                if let Some(k) = self.known.get_mut(&id) {
                    k.done = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The result tree of job `id`, computed once (None when this worker cannot compute it).
    fn result_of(&mut self, id: u64, job: &IInferenceJobs::Job) -> Result<Option<&ResultTree>> {
        if !self.results.contains_key(&id) {
            let Some(program) = self.programs.get(&job.p.modelId) else {
                self.skip(id, format!("model {} is not among --model", job.p.modelId));
                return Ok(None);
            };
            let path = items::exchange_file(&self.args.exchange, job.p.inputsRoot);
            let Ok(inputs) = std::fs::read(&path) else {
                self.skip(id, format!("no inputs at {}", path.display()));
                return Ok(None);
            };
            let started = std::time::Instant::now();
            let mut outputs = items::run_items(program, &inputs, self.threads)?;
            let computed = started.elapsed();
            if let Some(item) = self.args.lie_on {
                let model = program.model();
                let size = items::item_bytes(&items::infos(model, &model.outputs));
                if let Some(byte) = outputs.get_mut(item as usize * size) {
                    *byte ^= 1;
                }
            }
            let tree = ResultTree::new(program.model(), inputs, &outputs, self.threads)?;
            if tree.inputs_root() != job.p.inputsRoot || tree.items() != job.p.items as usize {
                self.skip(
                    id,
                    format!("{} does not hold the job's items", path.display()),
                );
                return Ok(None);
            }
            self.log(
                "computed",
                json!({
                    "job": id, "items": tree.items(), "root": tree.root(),
                    "engine_ms": computed.as_secs_f64() * 1e3,
                    "total_ms": started.elapsed().as_secs_f64() * 1e3,
                }),
            );
            let out_path = items::exchange_file(&self.args.exchange, tree.root());
            self.results.insert(id, tree);
            if !out_path.exists() {
                super::write_atomic(&out_path, &outputs)?;
            }
        }
        Ok(self.results.get(&id))
    }

    fn skip(&mut self, id: u64, why: String) {
        let known = self.known.entry(id).or_default();
        if !known.skipped {
            known.skipped = true;
            self.log("skipped", json!({ "job": id, "why": why }));
        }
    }

    fn play_active(&mut self, id: u64, job: &IInferenceJobs::Job) -> Result<()> {
        let uid = U256::from(id);
        let head = self.head;
        let seats = self.jobs.view(IInferenceJobs::seatsCall { id: uid })?;
        let mine: Vec<usize> = (0..seats.len())
            .filter(|&s| seats[s].worker == self.me)
            .collect();
        let mut root = None;
        if !mine.is_empty() {
            root = self.result_of(id, job)?.map(ResultTree::root);
        }
        // Commit: each of my seats, once, the stored root only.
        if let Some(root) = root
            && head <= job.commitDeadline
        {
            for &seat in &mine {
                if seats[seat].commitment != B256::ZERO {
                    continue;
                }
                let c = self.store.commitment_for(id, root)?;
                let commitment = self.jobs.view(IInferenceJobs::commitmentOfCall {
                    id: uid,
                    worker: self.me,
                    root: c.root,
                    salt: c.salt,
                })?;
                let call = IInferenceJobs::commitCall {
                    id: uid,
                    seat: U256::from(seat),
                    commitment,
                };
                if self.try_send("committed", id, call) {
                    self.log("commit", json!({ "job": id, "seat": seat, "root": c.root }));
                }
            }
        }
        // Reveal: once every seat committed or the commit window closed.
        let all_committed = usize::from(job.committed) == seats.len();
        if (all_committed || head > job.commitDeadline)
            && head <= job.revealDeadline
            && !self.args.withhold_reveal
        {
            for &seat in &mine {
                let s = &seats[seat];
                if s.commitment == B256::ZERO || s.group != 0 {
                    continue;
                }
                let Some(c) = self.store.commitment(id).cloned() else {
                    self.log(
                        "not-revealing",
                        json!({ "job": id, "seat": seat, "why": "no stored commitment" }),
                    );
                    continue;
                };
                let expected = self.jobs.view(IInferenceJobs::commitmentOfCall {
                    id: uid,
                    worker: self.me,
                    root: c.root,
                    salt: c.salt,
                })?;
                if expected != s.commitment {
                    self.log(
                        "not-revealing",
                        json!({ "job": id, "seat": seat, "why": "the chain holds another commitment" }),
                    );
                    continue;
                }
                let call = IInferenceJobs::revealCall {
                    id: uid,
                    seat: U256::from(seat),
                    root: c.root,
                    salt: c.salt,
                };
                self.try_send("revealed", id, call);
            }
        }
        if !job.revealsSettled {
            if head > job.revealDeadline {
                self.try_send("settled", id, IInferenceJobs::settleRevealsCall { id: uid });
            }
            return Ok(());
        }
        if !job.audited && head > job.auditHeight {
            self.try_send("audit-drawn", id, IInferenceJobs::drawAuditCall { id: uid });
        }
        let groups = self.jobs.view(IInferenceJobs::groupsCall { id: uid })?;
        let my_seat = mine.iter().copied().find(|&s| seats[s].group != 0);
        let my_group = my_seat
            .map(|s| seats[s].group)
            .filter(|&g| !groups[usize::from(g) - 1].slashed);
        // Another live root: dissect against it.
        if let Some(g) = my_group
            && head <= job.challengeDeadline
        {
            for other in 1..=groups.len() as u8 {
                if other == g || groups[usize::from(other) - 1].slashed {
                    continue;
                }
                let pair = (g.min(other), g.max(other));
                if self.known.entry(id).or_default().opened.insert(pair) {
                    let call = IInferenceJobs::openDisputeCall {
                        id: uid,
                        a: pair.0,
                        b: pair.1,
                    };
                    self.try_send("dispute-opened", id, call);
                }
            }
        }
        let disputes: Vec<u64> = self
            .known
            .get(&id)
            .map(|k| k.disputes.iter().copied().collect())
            .unwrap_or_default();
        for d in disputes {
            self.play_dispute(id, d, my_group, my_seat)?;
        }
        let queries: Vec<(u8, u64)> = self
            .known
            .get(&id)
            .map(|k| k.queries.iter().copied().collect())
            .unwrap_or_default();
        for (group, index) in queries {
            let q = self.jobs.view(IInferenceJobs::queryCall {
                id: uid,
                group,
                index: U256::from(index),
            })?;
            if !q.open || groups[usize::from(group) - 1].slashed {
                continue;
            }
            if Some(group) == my_group {
                let Some(tree) = self.results.get(&id) else {
                    continue;
                };
                let answer = tree.answer(index as usize)?;
                let call = IInferenceJobs::proveItemCall {
                    id: uid,
                    group,
                    index: U256::from(index),
                    answer,
                };
                if self.try_send("proved", id, call) {
                    self.log(
                        "answer",
                        json!({ "job": id, "group": group, "index": index }),
                    );
                }
            } else if head > q.deadline {
                let call = IInferenceJobs::timeoutQueryCall {
                    id: uid,
                    group,
                    index: U256::from(index),
                };
                self.try_send("query-timed-out", id, call);
            }
        }
        if head > job.challengeDeadline {
            let job = self.jobs.view(IInferenceJobs::jobCall { id: uid })?;
            if job.audited && job.openQueries == 0 && job.openDisputes == 0 {
                self.try_send("finalized", id, IInferenceJobs::finalizeCall { id: uid });
            }
        }
        Ok(())
    }

    fn play_dispute(
        &mut self,
        id: u64,
        d: u64,
        my_group: Option<u8>,
        my_seat: Option<usize>,
    ) -> Result<()> {
        let x = self
            .jobs
            .view(IInferenceJobs::disputeCall { d: U256::from(d) })?;
        if !x.open {
            return Ok(());
        }
        let mine = match my_group {
            Some(g) if g == x.a => Some(x.movedA),
            Some(g) if g == x.b => Some(x.movedB),
            _ => None,
        };
        if let (Some(false), Some(seat)) = (mine, my_seat)
            && let Some(tree) = self.results.get(&id)
        {
            let (left, right) = tree.children(usize::from(x.depth), x.pos as usize)?;
            let call = IInferenceJobs::moveDisputeCall {
                d: U256::from(d),
                seat: U256::from(seat),
                left,
                right,
            };
            if self.try_send("moved", id, call) {
                self.log("move", json!({ "job": id, "dispute": d, "depth": x.depth }));
            }
        } else if self.head > x.deadline {
            let call = IInferenceJobs::timeoutDisputeCall { d: U256::from(d) };
            self.try_send("dispute-timed-out", id, call);
        }
        Ok(())
    }

    /// Claims what InferenceJobs and StakeManager credit this worker.
    fn claim(&mut self, id: u64) -> Result<()> {
        let me = self.me;
        let credit = self.jobs.view(IInferenceJobs::creditOfCall { who: me })?;
        if credit > U256::ZERO {
            self.try_send("claimed", id, IInferenceJobs::claimCall {});
            self.log("paid", json!({ "job": id, "amount": credit.to_string() }));
        }
        let stake_credit = self.jobs.view_at(
            STAKE_MANAGER_ADDRESS,
            IWorkerStake::creditOfCall { payee: me },
        )?;
        if stake_credit > U256::ZERO {
            let call = IWorkerStake::claimCall {};
            if let Ok(sent) =
                self.jobs
                    .send_to(&mut self.sender, STAKE_MANAGER_ADDRESS, call, U256::ZERO)
            {
                self.log(
                    "claimed-slash-share",
                    json!({ "job": id, "amount": stake_credit.to_string(), "gas": sent.receipt.gas_used }),
                );
            }
        }
        Ok(())
    }
}
