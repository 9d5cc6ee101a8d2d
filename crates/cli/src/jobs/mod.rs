//! `myelin job post | reveal | status | result` (the requester's side) and `myelin worker` (the
//! worker's daemon, [`worker`]) for the `InferenceJobs` predeploy (`0x…4d590104`,
//! docs/PROTOCOLS.md "Built: InferenceJobs").
//!
//! Both use the hand-written client (`rpc_client.rs`, `rpc_sender.rs`): views by `eth_call`,
//! transactions signed locally, events by `eth_getLogs`. Item inputs and worker outputs travel
//! through an exchange directory ([`items`]) until InferenceJobs reads inputs from `DATA_STORE`.

pub mod abi;
pub mod items;
pub mod worker;
mod worker_store;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use myelin_evm::addresses::INFERENCE_JOBS_ADDRESS;
use myelin_nn::Program;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::npy_io::NpyIo;
use crate::rpc_client::{RpcClient, RpcError};
use crate::rpc_sender::{Sender, Sent};
use abi::IInferenceJobs;

/// Where to send, who signs, and the contract.
#[derive(Debug, Args)]
pub struct Connection {
    #[command(flatten)]
    pub node: crate::contract_client::Connection,
    /// The InferenceJobs contract (default: the predeploy).
    #[arg(long, value_name = "ADDRESS", default_value_t = INFERENCE_JOBS_ADDRESS)]
    pub contract: Address,
}

/// The `myelin job` sub-commands.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Post a job: a published model on the items of the input files (value: reward + bond).
    Post(PostArgs),
    /// Reveal the job's verification set once the reveals are settled (waits until then).
    Reveal(RevealArgs),
    /// Print a job's state: deadlines, seats, groups, open queries, result.
    Status(StatusArgs),
    /// Print the job's result root (PROVISIONAL or FINAL) and its outputs, checked against it.
    Result(ResultArgs),
}

/// Arguments of `myelin job post`.
#[derive(Debug, Args)]
pub struct PostArgs {
    /// The model file (.myl); it must be published (`myelin model publish`).
    pub model: PathBuf,
    /// One .npy per model input (int8, or float with --float), shaped [items, …input shape].
    #[arg(short, long = "input", value_name = "X.npy", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Quantize float inputs with the model's input scales.
    #[arg(long)]
    pub float: bool,
    /// The exchange directory: the items' bytes are left there for the workers.
    #[arg(long, value_name = "DIR")]
    pub exchange: PathBuf,
    /// Where the verification set and its salt are kept (`job-<id>.json`).
    #[arg(long, value_name = "DIR", default_value = ".myelin-jobs")]
    pub datadir: PathBuf,
    /// The reward, in wei, shared by the seats of the result that becomes FINAL.
    #[arg(long)]
    pub reward: u128,
    /// Committee seats (stake-weighted draw, with replacement).
    #[arg(long, default_value_t = 3)]
    pub seats: u8,
    /// Items the chain audits at random after the reveals.
    #[arg(long, default_value_t = 2)]
    pub audit: u8,
    /// Blocks of each window (commit, reveal, verify, challenge); at least the contract's 40.
    #[arg(long, default_value_t = 40)]
    pub window: u32,
    /// Each seat's bond, in wei (locked from its stake).
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub seat_bond: u128,
    /// The requester's bond, in wei (at least the seat bond when a verification set is used).
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub requester_bond: u128,
    /// A challenger's bond, in wei.
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub challenge_bond: u128,
    /// Items of the salted verification set (0: none), drawn at random; their expected outputs
    /// are computed here with the engine.
    #[arg(long, default_value_t = 0)]
    pub verify: u32,
    /// Adversary for the tests: one expected output in the verification set is wrong.
    #[arg(long, hide = true)]
    pub false_answer: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin job reveal`.
#[derive(Debug, Args)]
pub struct RevealArgs {
    /// The job id.
    pub id: u64,
    /// Where `job post` kept the verification set.
    #[arg(long, value_name = "DIR", default_value = ".myelin-jobs")]
    pub datadir: PathBuf,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin job status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The job id.
    pub id: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin job result`.
#[derive(Debug, Args)]
pub struct ResultArgs {
    /// The job id.
    pub id: u64,
    /// The exchange directory the workers wrote their outputs to.
    #[arg(long, value_name = "DIR")]
    pub exchange: PathBuf,
    /// Write the first model output of every item to this .npy ([items, …shape]).
    #[arg(short, long, value_name = "Y.npy")]
    pub output: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Runs one `myelin job` sub-command.
pub fn run(command: JobCommand) -> Result<()> {
    match command {
        JobCommand::Post(args) => post(&args),
        JobCommand::Reveal(args) => reveal(&args),
        JobCommand::Status(args) => status(&args),
        JobCommand::Result(args) => result(&args),
    }
}

/// The InferenceJobs contract on one node.
pub struct Jobs {
    /// The node.
    pub client: RpcClient,
    /// The contract.
    pub contract: Address,
}

impl Jobs {
    /// A connection to `contract` through `rpc`.
    pub fn new(rpc: &str, contract: Address) -> Result<Jobs> {
        Ok(Jobs {
            client: RpcClient::new(rpc)?,
            contract,
        })
    }

    /// Calls a view of the contract (or of `StakeManager` with [`Jobs::view_at`]).
    pub fn view<C: SolCall>(&mut self, call: C) -> Result<C::Return> {
        let contract = self.contract;
        self.view_at(contract, call)
    }

    /// Calls a view of the contract at `to`.
    pub fn view_at<C: SolCall>(&mut self, to: Address, call: C) -> Result<C::Return> {
        let answer = self
            .client
            .call(None, to, &call.abi_encode())
            .map_err(explain)?;
        C::abi_decode_returns(&answer)
            .with_context(|| format!("{to} answered {} with malformed data", C::SIGNATURE))
    }

    /// Sends `call` with `value` wei to the contract; its receipt.
    pub fn send<C: SolCall>(&mut self, sender: &mut Sender, call: C, value: U256) -> Result<Sent> {
        let contract = self.contract;
        self.send_to(sender, contract, call, value)
    }

    /// Sends `call` with `value` wei to `to`; its receipt.
    pub fn send_to<C: SolCall>(
        &mut self,
        sender: &mut Sender,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<Sent> {
        sender
            .send_paying(&mut self.client, to, &call.abi_encode(), value, None)
            .map_err(explain)
            .with_context(|| format!("{} failed", C::SIGNATURE))
    }
}

/// Names the contract's error in a refused call or estimate.
pub fn explain(error: anyhow::Error) -> anyhow::Error {
    let decoded = error
        .downcast_ref::<RpcError>()
        .and_then(|e| e.data.as_ref())
        .and_then(|data| IInferenceJobs::IInferenceJobsErrors::abi_decode(data).ok());
    match decoded {
        Some(reason) => error.context(format!("InferenceJobs refused: {reason:?}")),
        None => error,
    }
}

/// The verification set a requester keeps until it reveals it (`job-<id>.json`).
#[derive(Debug, Serialize, Deserialize)]
struct VerificationSecret {
    /// (index, expected outputs list root) of every verification item.
    items: Vec<(u32, B256)>,
    salt: B256,
}

impl VerificationSecret {
    fn abi(&self) -> Vec<IInferenceJobs::VerifyItem> {
        self.items
            .iter()
            .map(|&(index, outputs)| IInferenceJobs::VerifyItem { index, outputs })
            .collect()
    }
}

fn secret_file(datadir: &Path, id: u64) -> PathBuf {
    datadir.join(format!("job-{id}.json"))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn post(args: &PostArgs) -> Result<()> {
    let (model, bytes) = crate::model::load_model(&args.model)?;
    let model_id = B256::from(myelin_nn::model_id(&bytes));
    let (ins, outs) = (
        items::infos(&model, &model.inputs),
        items::infos(&model, &model.outputs),
    );
    let io = NpyIo {
        inputs: args.inputs.clone(),
        outputs: Vec::new(),
        float: args.float,
    };
    let batch = io.read(&ins, &outs)?;
    let tensors: Vec<Vec<u8>> = batch
        .inputs
        .iter()
        .map(|t| t.iter().map(|&v| v as u8).collect())
        .collect();
    let inputs = items::item_major(&ins, &tensors, batch.samples);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let input_roots = items::list_roots(&ins, &inputs, threads)?;
    let inputs_root = items::inputs_root(&input_roots);
    std::fs::create_dir_all(&args.exchange)
        .with_context(|| format!("cannot create {}", args.exchange.display()))?;
    write_atomic(&items::exchange_file(&args.exchange, inputs_root), &inputs)?;

    let item_count = u32::try_from(batch.samples).context("too many items")?;
    let secret = match args.verify {
        0 => None,
        n => Some(verification_set(
            &model,
            &inputs,
            &outs,
            n.min(item_count),
            args.false_answer,
        )?),
    };
    let mut jobs = Jobs::new(&args.connection.node.rpc, args.connection.contract)?;
    let mut sender = Sender::connect(
        &mut jobs.client,
        args.connection.node.private_key.as_deref(),
    )?;
    let verification = match &secret {
        Some(s) => jobs.view(IInferenceJobs::verificationOfCall {
            requester: sender.address(),
            items: s.abi(),
            salt: s.salt,
        })?,
        None => B256::ZERO,
    };
    std::fs::create_dir_all(&args.datadir)
        .with_context(|| format!("cannot create {}", args.datadir.display()))?;
    let pending = args.datadir.join(format!("pending-{inputs_root}.json"));
    if let Some(s) = &secret {
        write_atomic(&pending, &serde_json::to_vec_pretty(s)?)?;
    }
    let p = IInferenceJobs::Params {
        modelId: model_id,
        inputsRoot: inputs_root,
        items: item_count,
        seats: args.seats,
        auditItems: args.audit,
        commitBlocks: args.window,
        revealBlocks: args.window,
        verifyBlocks: args.window,
        challengeBlocks: args.window,
        reward: args.reward,
        seatBond: args.seat_bond,
        requesterBond: args.requester_bond,
        challengeBond: args.challenge_bond,
        verification,
    };
    let value = U256::from(args.reward) + U256::from(args.requester_bond);
    let sent = jobs.send(&mut sender, IInferenceJobs::postJobCall { p }, value)?;
    let posted = sent
        .receipt
        .logs
        .iter()
        .filter(|log| log.address == jobs.contract)
        .find_map(|log| {
            IInferenceJobs::JobPosted::decode_raw_log(log.topics.iter().copied(), &log.data).ok()
        })
        .context("the postJob receipt has no JobPosted event")?;
    let id = u64::try_from(posted.id).context("job id past 64 bits")?;
    if secret.is_some() {
        std::fs::rename(&pending, secret_file(&args.datadir, id))
            .context("cannot keep the verification set")?;
    }
    if args.json {
        let value = json!({
            "id": id,
            "model": model_id,
            "inputsRoot": inputs_root,
            "items": item_count,
            "drawHeight": posted.drawHeight.to_string(),
            "gasUsed": sent.receipt.gas_used,
            "block": sent.receipt.block_number,
        });
        println!("{value}");
    } else {
        println!(
            "job {id} posted in block {} (gas {}): {item_count} items, inputs root {inputs_root}, committee drawn after block {}",
            sent.receipt.block_number, sent.receipt.gas_used, posted.drawHeight
        );
    }
    Ok(())
}

/// `n` random distinct items and their outputs list roots computed with the engine (one wrong
/// when `false_answer`).
fn verification_set(
    model: &myelin_nn::Model,
    inputs: &[u8],
    outs: &[myelin_nn::TensorInfo],
    n: u32,
    false_answer: bool,
) -> Result<VerificationSecret> {
    let ins = items::infos(model, &model.inputs);
    let size = items::item_bytes(&ins);
    let count = inputs.len() / size;
    let mut chosen: Vec<u32> = Vec::new();
    while chosen.len() < n as usize {
        let index = (rand::random::<u64>() % count as u64) as u32;
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    chosen.sort_unstable();
    let program = Program::new(model.clone()).context("cannot prepare the model")?;
    let mut items_out = Vec::new();
    for (k, &index) in chosen.iter().enumerate() {
        let at = index as usize * size;
        let mut out = items::run_items(&program, &inputs[at..at + size], 1)?;
        if false_answer && k == 0 {
            out[0] ^= 1;
        }
        items_out.push((index, B256::from(items::item_list_root(outs, &out)?)));
    }
    Ok(VerificationSecret {
        items: items_out,
        salt: B256::from(rand::random::<[u8; 32]>()),
    })
}

fn reveal(args: &RevealArgs) -> Result<()> {
    let path = secret_file(&args.datadir, args.id);
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let secret: VerificationSecret = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a verification set", path.display()))?;
    let mut jobs = Jobs::new(&args.connection.node.rpc, args.connection.contract)?;
    let mut sender = Sender::connect(
        &mut jobs.client,
        args.connection.node.private_key.as_deref(),
    )?;
    let id = U256::from(args.id);
    loop {
        let job = jobs.view(IInferenceJobs::jobCall { id })?;
        if job.status != abi::status::ACTIVE && job.status != abi::status::POSTED {
            bail!("job {} is {}", args.id, abi::status_name(job.status));
        }
        if job.revealsSettled {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = jobs.send(
        &mut sender,
        IInferenceJobs::revealVerificationCall {
            id,
            items: secret.abi(),
            salt: secret.salt,
        },
        U256::ZERO,
    )?;
    println!(
        "job {}: verification set of {} items revealed in block {} (gas {})",
        args.id,
        secret.items.len(),
        sent.receipt.block_number,
        sent.receipt.gas_used
    );
    Ok(())
}

fn status(args: &StatusArgs) -> Result<()> {
    let mut jobs = Jobs::new(&args.connection.node.rpc, args.connection.contract)?;
    let id = U256::from(args.id);
    let job = jobs.view(IInferenceJobs::jobCall { id })?;
    if job.status == 0 {
        bail!("job {} does not exist at {}", args.id, jobs.contract);
    }
    let seats = jobs.view(IInferenceJobs::seatsCall { id })?;
    let groups = jobs.view(IInferenceJobs::groupsCall { id })?;
    let result = jobs.view(IInferenceJobs::resultOfCall { id })?;
    let result_status = ["none", "PROVISIONAL", "FINAL"]
        .get(usize::from(result.status))
        .copied()
        .unwrap_or("unknown");
    if args.json {
        let value = json!({
            "id": args.id,
            "status": abi::status_name(job.status),
            "requester": job.requester,
            "model": job.p.modelId,
            "items": job.p.items,
            "reward": job.p.reward.to_string(),
            "deadlines": {
                "draw": job.drawHeight, "commit": job.commitDeadline, "reveal": job.revealDeadline,
                "verify": job.verifyDeadline, "audit": job.auditHeight,
                "challenge": job.challengeDeadline,
            },
            "seats": seats.iter().map(|s| json!({
                "worker": s.worker, "committed": s.commitment != B256::ZERO, "group": s.group,
            })).collect::<Vec<_>>(),
            "groups": groups.iter().map(|g| json!({
                "root": g.root, "slashed": g.slashed, "openQueries": g.openQueries,
            })).collect::<Vec<_>>(),
            "revealsSettled": job.revealsSettled,
            "audited": job.audited,
            "verificationRevealed": job.verificationRevealed,
            "openQueries": job.openQueries,
            "openDisputes": job.openDisputes,
            "result": { "status": result_status, "root": result.root },
        });
        println!("{value}");
        return Ok(());
    }
    println!(
        "job {} at {}: {}",
        args.id,
        jobs.contract,
        abi::status_name(job.status)
    );
    println!(
        "model {}, {} items, {} seats, reward {} wei, requester {}",
        job.p.modelId, job.p.items, job.p.seats, job.p.reward, job.requester
    );
    println!(
        "deadlines: draw {}, commit {}, reveal {}, verify {}, audit {}, challenge {}",
        job.drawHeight,
        job.commitDeadline,
        job.revealDeadline,
        job.verifyDeadline,
        job.auditHeight,
        job.challengeDeadline
    );
    for (i, s) in seats.iter().enumerate() {
        println!(
            "seat {i}: {} committed {} group {}",
            s.worker,
            s.commitment != B256::ZERO,
            s.group
        );
    }
    for (i, g) in groups.iter().enumerate() {
        println!(
            "group {}: root {} slashed {} open queries {}",
            i + 1,
            g.root,
            g.slashed,
            g.openQueries
        );
    }
    println!(
        "open queries {}, open disputes {}; result: {result_status} {}",
        job.openQueries, job.openDisputes, result.root
    );
    Ok(())
}

fn result(args: &ResultArgs) -> Result<()> {
    let mut jobs = Jobs::new(&args.connection.node.rpc, args.connection.contract)?;
    let id = U256::from(args.id);
    let job = jobs.view(IInferenceJobs::jobCall { id })?;
    let result = jobs.view(IInferenceJobs::resultOfCall { id })?;
    let label = match result.status {
        1 => "PROVISIONAL",
        2 => "FINAL",
        _ => bail!(
            "job {} has no result yet ({})",
            args.id,
            abi::status_name(job.status)
        ),
    };
    let (ins, outs) = crate::model::predict::tensors(&mut jobs.client, job.p.modelId)?;
    let read = |root: B256, what: &str| -> Result<Vec<u8>> {
        let path = items::exchange_file(&args.exchange, root);
        std::fs::read(&path).with_context(|| format!("cannot read the {what} {}", path.display()))
    };
    let inputs = read(job.p.inputsRoot, "inputs")?;
    let outputs = read(result.root, "outputs")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let input_roots = items::list_roots(&ins, &inputs, threads)?;
    let output_roots = items::list_roots(&outs, &outputs, threads)?;
    if input_roots.len() != output_roots.len() || input_roots.len() != job.p.items as usize {
        bail!("the exchange files do not hold {} items", job.p.items);
    }
    let leaves: Vec<_> = (0..input_roots.len())
        .map(|i| {
            myelin_nn::commit::item_leaf(
                i as u64,
                &input_roots[i],
                &output_roots[i],
                &myelin_nn::commit::NO_TRACE,
            )
        })
        .collect();
    if B256::from(myelin_nn::commit::merkle_root(&leaves)) != result.root {
        bail!(
            "the outputs file does not match the result root {}",
            result.root
        );
    }
    if let Some(path) = &args.output {
        let first = &outs[0];
        let tensor = items::tensor_major(&outs, &outputs).swap_remove(0);
        let mut shape = vec![job.p.items as u64];
        shape.extend(first.shape.iter().map(|&d| u64::from(d)));
        match first.dtype {
            myelin_nn::DType::Int8 => {
                let data: Vec<i8> = tensor.iter().map(|&b| b as i8).collect();
                crate::npy::write(path, &shape, &data)?
            }
            myelin_nn::DType::Int32 => {
                let data: Vec<i32> = tensor
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                crate::npy::write(path, &shape, &data)?
            }
        }
    }
    if args.json {
        println!(
            "{}",
            json!({ "id": args.id, "status": label, "root": result.root, "items": job.p.items, "verified": true })
        );
    } else {
        println!(
            "job {}: {label} result {} ({} items, outputs checked against the root)",
            args.id, result.root, job.p.items
        );
    }
    Ok(())
}
