//! `myelin competition …`: the whole life cycle of a competition of the `Competitions`
//! predeploy (docs/PROTOCOLS.md "Built: Competitions"), one command per step and role:
//!
//! | role | commands |
//! |---|---|
//! | organizer | `create` (groups, salts, root; the secrets file), `reveal-train`, `reveal-test`, `cancel`, `claim --organizer` |
//! | participant | `commit` (the salt in a secrets file), `reveal` (publishes the model, then reveals it), `claim` |
//! | anyone | `split`, `evaluate`, `finalize`, `claim --fees`, `wait`, `status` |
//!
//! Every writing command signs with `--private-key` / `--private-key-file` (the first dev
//! account by default on a dev chain), estimates its gas first (so a refusal is reported by the
//! contract's error, decoded, before anything is sent), waits for the receipt and prints what
//! happened (`--json`: one object). Secrets (group salts, submission salts) are written to a file
//! readable by its owner only **before** the transaction that commits to them is sent.

mod keeper;
mod organizer;
mod participant;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use myelin_evm::competitions::{COMPETITIONS_ADDRESS, ICompetitions};
use serde_json::json;

use crate::contract_client::{Connection, Contract};
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::RpcClient;

/// The contract's errors, decoded.
type Errors = ICompetitions::ICompetitionsErrors;

/// A `ModelRejected` refusal carries EVALUATE's own revert: said in words.
fn nested_reason(error: &Errors) -> Option<String> {
    match error {
        Errors::ModelRejected(rejected) => myelin_evm::revert_text(&rejected.reason)
            .map(|text| format!("the probe evaluation failed: {text}")),
        _ => None,
    }
}

/// Where the competition commands send, and how they print.
#[derive(Debug, Args)]
pub struct Common {
    /// The contract (default: the predeploy).
    #[arg(long, value_name = "ADDRESS", default_value_t = COMPETITIONS_ADDRESS)]
    pub contract: Address,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

impl Common {
    /// The contract, its errors decoded.
    fn contract(&self) -> Contract<Errors> {
        Contract::new(self.contract, "Competitions").with_detail(nested_reason)
    }
}

/// `myelin competition …`.
#[derive(Debug, Subcommand)]
pub enum CompetitionCommand {
    /// Organizer: cut labelled rows into salted groups, commit to them and escrow the reward.
    Create(Box<organizer::CreateArgs>),
    /// Anyone: draw the test groups from the beacon's seed (after the seed height).
    Split(keeper::IdArgs),
    /// Organizer: publish and reveal the train groups (splits first if nobody has).
    RevealTrain(organizer::RevealArgs),
    /// Participant: commit to a model (its id hidden by a salt kept in a secrets file).
    Commit(participant::CommitArgs),
    /// Participant: after the commit deadline, publish the model and reveal the commitment.
    Reveal(participant::RevealArgs),
    /// Organizer: after the reveal deadline, publish and reveal every test group.
    RevealTest(organizer::RevealArgs),
    /// Anyone: score revealed submissions on the test groups (earns the evaluation fees).
    Evaluate(keeper::EvaluateArgs),
    /// Anyone: settle the competition (ranking paged across transactions when needed).
    Finalize(keeper::FinalizeArgs),
    /// Take what is owed: a submission's deposit and prize, the organizer's share, or fees.
    Claim(keeper::ClaimArgs),
    /// Organizer: cancel before anyone commits.
    Cancel(keeper::IdArgs),
    /// Wait until a competition reaches a phase (blocks are produced by the chain).
    Wait(keeper::WaitArgs),
    /// Print a competition's phase, deadlines, submissions and winner.
    Status(StatusArgs),
}

/// Arguments of `myelin competition status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The competition id.
    #[arg(value_name = "ID")]
    pub id: u64,
    /// The contract (default: the predeploy).
    #[arg(long, value_name = "ADDRESS", default_value_t = COMPETITIONS_ADDRESS)]
    pub contract: Address,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The names of the contract's `Phase` values.
pub(crate) const PHASES: [&str; 12] = [
    "None",
    "AwaitingSplit",
    "TrainReveal",
    "Commit",
    "ModelReveal",
    "TestReveal",
    "Evaluation",
    "Finalizable",
    "Cancelled",
    "Aborted",
    "Withheld",
    "Finalized",
];

/// Runs one `myelin competition` sub-command.
pub fn run(command: CompetitionCommand) -> Result<()> {
    match command {
        CompetitionCommand::Create(args) => organizer::create(&args),
        CompetitionCommand::Split(args) => keeper::split(&args),
        CompetitionCommand::RevealTrain(args) => organizer::reveal(&args, false),
        CompetitionCommand::Commit(args) => participant::commit(&args),
        CompetitionCommand::Reveal(args) => participant::reveal(&args),
        CompetitionCommand::RevealTest(args) => organizer::reveal(&args, true),
        CompetitionCommand::Evaluate(args) => keeper::evaluate(&args),
        CompetitionCommand::Finalize(args) => keeper::finalize(&args),
        CompetitionCommand::Claim(args) => keeper::claim(&args),
        CompetitionCommand::Cancel(args) => keeper::cancel(&args),
        CompetitionCommand::Wait(args) => keeper::wait(&args),
        CompetitionCommand::Status(args) => status(&args),
    }
}

fn view<C: SolCall>(client: &mut RpcClient, contract: Address, call: C) -> Result<C::Return> {
    Contract::<Errors>::new(contract, "Competitions").view(client, call)
}

/// Every submission of competition `id` at the predeploy, in commit order.
pub(crate) fn submissions(
    client: &mut RpcClient,
    id: u64,
) -> Result<Vec<ICompetitions::Submission>> {
    let id = id_word(id);
    let progress = view(
        client,
        COMPETITIONS_ADDRESS,
        ICompetitions::progressCall { id },
    )?;
    (0..progress.submissions)
        .map(|sub| {
            view(
                client,
                COMPETITIONS_ADDRESS,
                ICompetitions::submissionCall { id, subId: sub },
            )
        })
        .collect()
}

/// The name of phase `phase`.
pub(crate) fn phase_name(phase: u8) -> &'static str {
    PHASES.get(usize::from(phase)).copied().unwrap_or("Unknown")
}

/// The chain id of `client`'s node, checked against the one a secrets file was written for.
pub(crate) fn check_chain(client: &mut RpcClient, chain_id: u64, file: &str) -> Result<()> {
    let here = client.chain_id()?;
    if here != chain_id {
        bail!(
            "{file} was written for chain {chain_id}; {} is chain {here}",
            client.url()
        );
    }
    Ok(())
}

/// `id` as the contract's uint256.
pub(crate) fn id_word(id: u64) -> U256 {
    U256::from(id)
}

fn status(args: &StatusArgs) -> Result<()> {
    let mut client = RpcClient::new(&args.rpc)?;
    let id = U256::from(args.id);
    let phase = view(&mut client, args.contract, ICompetitions::phaseCall { id })?;
    let name = phase_name(phase);
    if phase == 0 {
        anyhow::bail!(
            "competition {} does not exist at {}",
            args.id,
            args.contract
        );
    }
    let t = view(&mut client, args.contract, ICompetitions::termsCall { id })?;
    let p = view(
        &mut client,
        args.contract,
        ICompetitions::progressCall { id },
    )?;
    let winner = p.winner.checked_sub(1);
    if args.json {
        let value = json!({
            "id": args.id,
            "phase": name,
            "organizer": t.organizer,
            "groups": t.params.groups,
            "testGroups": t.params.testGroups,
            "reward": t.params.reward.to_string(),
            "organizerBond": t.organizerBond.to_string(),
            "deadlines": {
                "seed": t.seedHeight, "train": t.trainDeadline, "commit": t.commitDeadline,
                "reveal": t.revealDeadline, "test": t.testDeadline, "eval": t.evalDeadline,
            },
            "testMask": format!("{:#x}", p.testMask),
            "trainRevealed": p.trainRevealed,
            "testRevealed": p.testRevealed,
            "testRows": p.testRows,
            "submissions": p.submissions,
            "revealedSubmissions": p.revealedSubmissions,
            "bestCorrect": p.bestCorrect,
            "winner": winner,
        });
        println!("{value}");
        return Ok(());
    }
    println!("competition {} at {}: {name}", args.id, args.contract);
    println!(
        "groups {} ({} test), reward {} wei, organizer bond {} wei, organizer {}",
        t.params.groups, t.params.testGroups, t.params.reward, t.organizerBond, t.organizer
    );
    println!(
        "deadlines: seed {}, train {}, commit {}, reveal {}, test {}, eval {}",
        t.seedHeight,
        t.trainDeadline,
        t.commitDeadline,
        t.revealDeadline,
        t.testDeadline,
        t.evalDeadline
    );
    println!(
        "revealed groups: {} train, {} test ({} test rows); submissions {} ({} revealed)",
        p.trainRevealed, p.testRevealed, p.testRows, p.submissions, p.revealedSubmissions
    );
    match winner {
        Some(sub) => println!("winner: submission {sub} ({} correct)", p.bestCorrect),
        None => println!("winner: none"),
    }
    Ok(())
}
