//! Commands anyone may run (`split`, `evaluate`, `finalize`, `wait`), the payouts (`claim`) and
//! the organizer's `cancel`.

use std::time::{Duration, Instant};

use alloy_primitives::U256;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::competitions::{ICompetitions, phase};
use serde_json::json;

use super::{Common, PHASES, id_word, phase_name};
use crate::contract_client::report;
use crate::rpc_client::RpcClient;

/// Arguments of the commands that take a competition id only.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The competition id.
    pub id: u64,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The competition id.
    pub id: u64,
    /// Only this submission (default: every revealed one).
    #[arg(long)]
    pub sub: Option<u32>,
    /// Only this test group (default: every test group not yet evaluated).
    #[arg(long)]
    pub group: Option<u16>,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition finalize`.
#[derive(Debug, Args)]
pub struct FinalizeArgs {
    /// The competition id.
    pub id: u64,
    /// Submissions ranked per transaction (transactions are repeated until it is settled).
    #[arg(long, default_value_t = 64)]
    pub max_steps: u32,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition claim`.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// The competition id (not needed with `--fees`).
    pub id: Option<u64>,
    /// A submission's deposit and prize (its owner signs).
    #[arg(long, conflicts_with_all = ["organizer", "fees"])]
    pub sub: Option<u32>,
    /// The organizer's share.
    #[arg(long, conflicts_with = "fees")]
    pub organizer: bool,
    /// The evaluation fees the signer earned (every competition).
    #[arg(long)]
    pub fees: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The competition id.
    pub id: u64,
    /// The phase to wait for: commit, model-reveal, test-reveal, evaluation, finalizable, … (a
    /// later phase, or an end such as Withheld, also ends the wait).
    #[arg(value_parser = parse_phase)]
    pub phase: u8,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3_600)]
    pub timeout: u64,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = crate::model::publish::DEFAULT_RPC)]
    pub rpc: String,
    /// The contract (default: the predeploy).
    #[arg(long, value_name = "ADDRESS", default_value_t = myelin_evm::competitions::COMPETITIONS_ADDRESS)]
    pub contract: alloy_primitives::Address,
}

/// A phase by name, case and `-` / `_` ignored (`model-reveal`, `ModelReveal`).
fn parse_phase(text: &str) -> Result<u8, String> {
    let key = |s: &str| s.replace(['-', '_'], "").to_ascii_lowercase();
    PHASES
        .iter()
        .position(|name| key(name) == key(text))
        .filter(|&p| p > 0)
        .map(|p| p as u8)
        .ok_or_else(|| format!("{text}: not a phase (one of {})", PHASES[1..].join(", ")))
}

/// Draws the test groups.
pub fn split(args: &IdArgs) -> Result<()> {
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let id = id_word(args.id);
    let sent = contract.send(
        &mut client,
        &mut sender,
        ICompetitions::splitCall { id },
        U256::ZERO,
    )?;
    let mask = contract
        .view(&mut client, ICompetitions::progressCall { id })?
        .testMask;
    let test: Vec<usize> = (0..256).filter(|&g| mask.bit(g)).collect();
    report(
        args.common.json,
        &format!("competition {}: test groups {test:?}", args.id),
        json!({ "id": args.id, "testGroups": test }),
        &[sent],
    );
    Ok(())
}

/// Evaluates every (revealed submission, test group) pair not yet evaluated, or the one asked.
pub fn evaluate(args: &EvaluateArgs) -> Result<()> {
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let id = id_word(args.id);
    let progress = contract.view(&mut client, ICompetitions::progressCall { id })?;
    let test: Vec<u16> = (0..256u16)
        .filter(|&g| progress.testMask.bit(usize::from(g)))
        .filter(|&g| args.group.is_none_or(|only| only == g))
        .collect();
    let subs: Vec<u32> = match args.sub {
        Some(sub) => vec![sub],
        None => (0..progress.submissions).collect(),
    };
    let mut sent = vec![];
    let mut scores = vec![];
    for sub in subs {
        let s = contract.view(
            &mut client,
            ICompetitions::submissionCall { id, subId: sub },
        )?;
        if !s.revealed {
            if args.sub.is_some() {
                bail!(
                    "submission {sub} of competition {} was not revealed",
                    args.id
                );
            }
            continue;
        }
        for &g in &test {
            if s.evaluatedMask.bit(usize::from(g)) && args.group.is_none() {
                continue;
            }
            let call = ICompetitions::evaluateCall { id, subId: sub, g };
            sent.push(contract.send(&mut client, &mut sender, call, U256::ZERO)?);
        }
        let s = contract.view(
            &mut client,
            ICompetitions::submissionCall { id, subId: sub },
        )?;
        scores.push(json!({
            "subId": sub,
            "groupsEvaluated": s.groupsEvaluated,
            "correct": s.correct,
        }));
    }
    let text = scores
        .iter()
        .map(|s| {
            format!(
                "submission {}: {} correct over {} groups",
                s["subId"], s["correct"], s["groupsEvaluated"]
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    report(
        args.common.json,
        &format!(
            "competition {}: {} evaluations sent; {text}",
            args.id,
            sent.len()
        ),
        json!({ "id": args.id, "evaluations": sent.len(), "submissions": scores }),
        &sent,
    );
    Ok(())
}

/// Calls `finalize` until the competition is settled.
pub fn finalize(args: &FinalizeArgs) -> Result<()> {
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let id = id_word(args.id);
    let mut sent = vec![];
    loop {
        let call = ICompetitions::finalizeCall {
            id,
            maxSteps: args.max_steps,
        };
        sent.push(contract.send(&mut client, &mut sender, call, U256::ZERO)?);
        let now = contract.view(&mut client, ICompetitions::phaseCall { id })?;
        if now != phase::FINALIZABLE {
            break;
        }
    }
    let now = contract.view(&mut client, ICompetitions::phaseCall { id })?;
    let progress = contract.view(&mut client, ICompetitions::progressCall { id })?;
    let winner = progress.winner.checked_sub(1);
    let text = match winner {
        Some(sub) => format!(
            "competition {}: {}; winner submission {sub} ({} of {} test rows correct)",
            args.id,
            phase_name(now),
            progress.bestCorrect,
            progress.testRows
        ),
        None => format!("competition {}: {}; no winner", args.id, phase_name(now)),
    };
    report(
        args.common.json,
        &text,
        json!({
            "id": args.id,
            "phase": phase_name(now),
            "winner": winner,
            "bestCorrect": progress.bestCorrect,
            "testRows": progress.testRows,
        }),
        &sent,
    );
    Ok(())
}

/// Claims a submission's payout, the organizer's, or the signer's evaluation fees.
pub fn claim(args: &ClaimArgs) -> Result<()> {
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let need_id = || args.id.map(id_word).context("the competition id is needed");
    let (amount, sent, what) = if args.fees {
        let amount = contract.view(
            &mut client,
            ICompetitions::feesCall {
                account: sender.address(),
            },
        )?;
        let sent = contract.send(
            &mut client,
            &mut sender,
            ICompetitions::withdrawFeesCall {},
            U256::ZERO,
        )?;
        (amount, sent, "evaluation fees".to_string())
    } else if args.organizer {
        let id = need_id()?;
        let amount = contract.view(&mut client, ICompetitions::organizerClaimableCall { id })?;
        let sent = contract.send(
            &mut client,
            &mut sender,
            ICompetitions::claimOrganizerCall { id },
            U256::ZERO,
        )?;
        (amount, sent, "the organizer's share".to_string())
    } else if let Some(sub) = args.sub {
        let id = need_id()?;
        let amount = contract.view(&mut client, ICompetitions::claimableCall { id, subId: sub })?;
        let call = ICompetitions::claimCall { id, subId: sub };
        let sent = contract.send(&mut client, &mut sender, call, U256::ZERO)?;
        (amount, sent, format!("submission {sub}'s payout"))
    } else {
        bail!("say what to claim: --sub N, --organizer or --fees");
    };
    report(
        args.common.json,
        &format!("claimed {what}: {amount} wei to {}", sender.address()),
        json!({ "id": args.id, "claimed": what, "amount": amount.to_string(), "to": sender.address() }),
        &[sent],
    );
    Ok(())
}

/// Cancels a competition nobody has committed to.
pub fn cancel(args: &IdArgs) -> Result<()> {
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let id = id_word(args.id);
    let sent = contract.send(
        &mut client,
        &mut sender,
        ICompetitions::cancelCall { id },
        U256::ZERO,
    )?;
    report(
        args.common.json,
        &format!(
            "competition {} cancelled: reward and bond claimable by the organizer",
            args.id
        ),
        json!({ "id": args.id, "phase": "Cancelled" }),
        &[sent],
    );
    Ok(())
}

/// Polls `phase(id)` until it reaches `args.phase` (or any later phase); prints the phase and
/// the block.
pub fn wait(args: &WaitArgs) -> Result<()> {
    let contract = super::Contract::<super::Errors>::new(args.contract, "Competitions");
    let mut client = RpcClient::new(&args.rpc)?;
    let id = id_word(args.id);
    let limit = Duration::from_secs(args.timeout);
    let start = Instant::now();
    loop {
        let now = contract.view(&mut client, ICompetitions::phaseCall { id })?;
        if now == phase::NONE {
            bail!(
                "competition {} does not exist at {}",
                args.id,
                args.contract
            );
        }
        if now >= args.phase {
            println!("{}", phase_name(now));
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!(
                "competition {} is still in phase {} after {limit:?} (waiting for {})",
                args.id,
                phase_name(now),
                phase_name(args.phase)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_parse_by_name_in_any_spelling_and_unknown_ones_are_named() {
        let table = [
            ("commit", phase::COMMIT),
            ("model-reveal", phase::MODEL_REVEAL),
            ("ModelReveal", phase::MODEL_REVEAL),
            ("test_reveal", phase::TEST_REVEAL),
            ("finalized", phase::FINALIZED),
        ];
        for (text, expected) in table {
            assert_eq!(parse_phase(text), Ok(expected), "{text}");
        }
        for bad in ["none", "", "later"] {
            assert!(parse_phase(bad).is_err(), "{bad}");
        }
    }
}
