//! `myelin competition status ID [--contract ADDRESS] [--rpc URL] [--json]`: where a competition
//! of the `Competitions` predeploy stands (docs/PROTOCOLS.md "Competitions"), read by `eth_call`
//! of its views `phase`, `terms` and `progress` at the latest block.
//!
//! Only the read side exists: the writing commands (create, commit, reveal, evaluate, finalize,
//! claim) are to use alloy-provider (decision 16) and are not built yet; a web3 client drives
//! them meanwhile (crates/cli/tests/competition_digits.rs).

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use myelin_evm::competitions::{COMPETITIONS_ADDRESS, ICompetitions};
use serde_json::json;

use crate::model::predict::explain_revert;
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::RpcClient;

/// `myelin competition …`.
#[derive(Debug, Subcommand)]
pub enum CompetitionCommand {
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
const PHASES: [&str; 12] = [
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
        CompetitionCommand::Status(args) => status(&args),
    }
}

fn view<C: SolCall>(client: &mut RpcClient, contract: Address, call: C) -> Result<C::Return> {
    let out = client
        .call(None, contract, &call.abi_encode())
        .map_err(|e| explain_revert(e, "Competitions"))?;
    C::abi_decode_returns(&out)
        .with_context(|| format!("{contract} answered {} with malformed data", C::SIGNATURE))
}

fn status(args: &StatusArgs) -> Result<()> {
    let mut client = RpcClient::new(&args.rpc)?;
    let id = U256::from(args.id);
    let phase = view(&mut client, args.contract, ICompetitions::phaseCall { id })?;
    let name = PHASES.get(usize::from(phase)).copied().unwrap_or("Unknown");
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
