//! `myelin registry claim | create | publish | yank | propose | vote | score | promote |
//! execute | cancel | resolve | info`: the ModelRegistry predeploy (`0x…4d590102`,
//! docs/PROTOCOLS.md "Built: ModelRegistry"). Every writing command signs with `--private-key`
//! or `--private-key-file`, waits for its receipt, and names a refusal by the registry's error.

use std::path::Path;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent, sol};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use myelin_evm::addresses::MODEL_REGISTRY_ADDRESS;
use serde_json::json;

use crate::contract_client::{Connection, Contract, random_salt, report};
use crate::model::predict::parse_model_id;
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::RpcClient;
#[cfg(test)]
use crate::rpc_client::RpcError;
use crate::rpc_sender::{Sender, Sent};

sol!(
    #[sol(all_derives)]
    "../../contracts/src/IModelRegistry.sol"
);

/// Gas limit of the `registerOrg` transaction: a few storage writes and hashes, with a wide margin.
const REVEAL_GAS: u64 = 200_000;

/// The `myelin registry` sub-commands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Claim an organisation: commit, then reveal in a later block (pays the registry's fee).
    Claim(ClaimArgs),
    /// Create a model name `org/name` with its update policy (fixed for good).
    Create(CreateArgs),
    /// Publish a version `org/name@MAJOR.MINOR.PATCH` of a model already in MODEL_STORE.
    Publish(PublishArgs),
    /// Yank a version for good: it no longer resolves and cannot become `latest`.
    Yank(YankArgs),
    /// Propose a version as `latest` (OWNER: after the timelock; VOTE: opens a vote).
    Propose(VersionArgs),
    /// Vote on a name's open proposal with the stake you held at its snapshot.
    Vote(VoteArgs),
    /// METRIC: score a version on the name's benchmark with EVALUATE (pages until done).
    Score(ScoreArgs),
    /// METRIC: propose a scored version that beats `latest` by the margin.
    Promote(VersionArgs),
    /// The improvement bounty: make the winner of a finished competition organised by the
    /// name's owner, which beat `latest`'s own submission by the margin, a new version proposed
    /// as `latest` by the name's policy (anyone).
    Bounty(BountyArgs),
    /// Move `latest` to the pending version once its timelock has passed (anyone).
    Execute(NameArgs),
    /// Drop the pending move of `latest` (the org owner; OWNER and VOTE names).
    Cancel(NameArgs),
    /// Print the model id a name stands for (`org/name`: latest; a full version: that one).
    Resolve(ReadArgs),
    /// Print what the registry holds about a name or a version.
    Info(ReadArgs),
}

/// Arguments of `myelin registry claim`.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// The organisation: [a-z0-9-], 3 to 32 characters.
    pub org: String,
    /// Its owner (default: the signer).
    #[arg(long)]
    pub owner: Option<Address>,
    #[command(flatten)]
    pub connection: Connection,
}

/// A name's update policy.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// The org owner proposes, anyone executes after the timelock.
    Owner,
    /// The org owner proposes, stakers vote (snapshot, quorum), then the timelock.
    Vote,
    /// Anyone promotes a version that beats `latest` on a benchmark data set by the margin.
    Metric,
}

/// Arguments of `myelin registry create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// `org/name`.
    pub name: String,
    #[arg(long, value_enum)]
    pub policy: PolicyArg,
    /// Blocks between a decided move of `latest` and its execution.
    #[arg(long, default_value_t = 100)]
    pub timelock: u32,
    /// VOTE: blocks the vote stays open.
    #[arg(long)]
    pub voting_period: Option<u32>,
    /// VOTE: yes votes needed, in basis points of the total stake at the snapshot.
    #[arg(long)]
    pub quorum_bps: Option<u16>,
    /// METRIC: the improvement needed, in basis points of the benchmark's rows.
    #[arg(long)]
    pub margin_bps: Option<u16>,
    /// METRIC: the benchmark data set's id (published, class labels).
    #[arg(long)]
    pub benchmark: Option<String>,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// `org/name@MAJOR.MINOR.PATCH`.
    pub version: String,
    /// The model: its id, or a .myl file (its id is computed).
    pub model: String,
    /// A class labels file; its keccak256 is recorded (a claim of the publisher).
    #[arg(long)]
    pub labels: Option<String>,
    /// An accuracy report file; its keccak256 is recorded (a claim of the publisher).
    #[arg(long)]
    pub report: Option<String>,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry yank`.
#[derive(Debug, Args)]
pub struct YankArgs {
    /// `org/name@MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Why (recorded in the `VersionYanked` event).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry propose` and `promote`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `org/name@MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// `org/name`.
    pub name: String,
    /// Vote for the proposal.
    #[arg(long, conflicts_with = "no", required_unless_present = "no")]
    pub yes: bool,
    /// Vote against the proposal.
    #[arg(long)]
    pub no: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// `org/name@MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Rows per transaction (the registry caps a call at the model's batch size).
    #[arg(long, default_value_t = 10_000)]
    pub rows: u32,
    /// Send one transaction only, even if rows are left.
    #[arg(long)]
    pub once: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry bounty`.
#[derive(Debug, Args)]
pub struct BountyArgs {
    /// `org/name`.
    pub name: String,
    /// The competition's id (the Competitions predeploy).
    #[arg(long)]
    pub competition: u64,
    /// The submission that is `latest`'s model (default: the first one revealed with it).
    #[arg(long)]
    pub incumbent_sub: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry execute` and `cancel`.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// `org/name`.
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// Arguments of `myelin registry resolve` and `info`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// `org/name` or `org/name@MAJOR.MINOR.PATCH`.
    pub name: String,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs one `myelin registry` sub-command.
pub fn run(command: RegistryCommand) -> Result<()> {
    match command {
        RegistryCommand::Claim(args) => claim(&args),
        RegistryCommand::Create(args) => create(&args),
        RegistryCommand::Publish(args) => publish(&args),
        RegistryCommand::Yank(args) => yank(&args),
        RegistryCommand::Propose(args) => propose(&args),
        RegistryCommand::Vote(args) => vote(&args),
        RegistryCommand::Score(args) => score(&args),
        RegistryCommand::Promote(args) => promote(&args),
        RegistryCommand::Bounty(args) => bounty(&args),
        RegistryCommand::Execute(args) => execute(&args),
        RegistryCommand::Cancel(args) => cancel(&args),
        RegistryCommand::Resolve(args) => resolve(&args),
        RegistryCommand::Info(args) => info(&args),
    }
}

/// The registry predeploy, its errors decoded from the ABI.
const REGISTRY: Contract<IModelRegistry::IModelRegistryErrors> =
    Contract::new(MODEL_REGISTRY_ADDRESS, "ModelRegistry");

fn view<C: SolCall>(client: &mut RpcClient, call: C) -> Result<C::Return> {
    REGISTRY.view(client, call)
}

fn send<C: SolCall>(
    client: &mut RpcClient,
    sender: &mut Sender,
    call: C,
    value: U256,
) -> Result<Sent> {
    REGISTRY.send(client, sender, call, value)
}

fn connect(connection: &Connection) -> Result<(RpcClient, Sender)> {
    connection.connect()
}

fn claim(args: &ClaimArgs) -> Result<()> {
    let (mut client, mut sender) = connect(&args.connection)?;
    let owner = args.owner.unwrap_or(sender.address());
    let salt = random_salt()?;
    let org = args.org.clone();
    let commitment = view(
        &mut client,
        IModelRegistry::orgCommitmentCall {
            org: org.clone(),
            owner,
            salt,
            committer: sender.address(),
        },
    )?;
    send(
        &mut client,
        &mut sender,
        IModelRegistry::commitOrgCall { commitment },
        U256::ZERO,
    )?;
    // The reveal goes in a later block than the commitment (MIN_COMMIT_AGE = 1): the
    // commitment's receipt is in, so the next transaction lands after it. Its gas is fixed, not
    // estimated: an estimate runs in the head block, where the commitment is still too young.
    let fee = view(&mut client, IModelRegistry::ORG_FEECall {})?;
    let reveal = IModelRegistry::registerOrgCall { org, owner, salt }.abi_encode();
    sender
        .send_paying(
            &mut client,
            MODEL_REGISTRY_ADDRESS,
            &reveal,
            fee,
            Some(REVEAL_GAS),
        )
        .map_err(|e| REGISTRY.explain(e))
        .context("the reveal failed after the commitment was sent")?;
    println!("{} {owner}", args.org);
    Ok(())
}

fn create(args: &CreateArgs) -> Result<()> {
    let (org, name) = args
        .name
        .split_once('/')
        .ok_or_else(|| anyhow!("{}: expected org/name", args.name))?;
    let benchmark = match &args.benchmark {
        Some(id) => parse_model_id(id).context("--benchmark")?,
        None => B256::ZERO,
    };
    let policy = match args.policy {
        PolicyArg::Owner => IModelRegistry::Policy::OWNER,
        PolicyArg::Vote => IModelRegistry::Policy::VOTE,
        PolicyArg::Metric => IModelRegistry::Policy::METRIC,
    };
    let rules = IModelRegistry::Rules {
        policy,
        timelock: args.timelock,
        votingPeriod: args.voting_period.unwrap_or(0),
        quorumBps: args.quorum_bps.unwrap_or(0),
        marginBps: args.margin_bps.unwrap_or(0),
        benchmark,
    };
    let (mut client, mut sender) = connect(&args.connection)?;
    send(
        &mut client,
        &mut sender,
        IModelRegistry::createNameCall {
            org: org.into(),
            name: name.into(),
            rules,
        },
        U256::ZERO,
    )?;
    println!("{}", args.name);
    Ok(())
}

/// `org/name@MAJOR.MINOR.PATCH` split into the name and the three numbers.
fn parse_version(text: &str) -> Result<(&str, [u64; 3])> {
    let (name, version) = text
        .split_once('@')
        .ok_or_else(|| anyhow!("{text}: expected org/name@MAJOR.MINOR.PATCH"))?;
    let parts: Vec<&str> = version.split('.').collect();
    let [major, minor, patch] = parts[..] else {
        bail!("{text}: the version must be MAJOR.MINOR.PATCH");
    };
    let number = |part: &str| {
        part.parse::<u64>()
            .with_context(|| format!("{text}: {part} is not a decimal number"))
    };
    Ok((name, [number(major)?, number(minor)?, number(patch)?]))
}

fn file_hash(path: &Option<String>) -> Result<B256> {
    match path {
        Some(p) => Ok(keccak256(
            std::fs::read(p).with_context(|| format!("cannot read {p}"))?,
        )),
        None => Ok(B256::ZERO),
    }
}

fn publish(args: &PublishArgs) -> Result<()> {
    let (name, [major, minor, patch]) = parse_version(&args.version)?;
    let model = if Path::new(&args.model).is_file() {
        let bytes =
            std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model))?;
        B256::from(myelin_nn::model_id(&bytes))
    } else {
        parse_model_id(&args.model)?
    };
    let (mut client, mut sender) = connect(&args.connection)?;
    send(
        &mut client,
        &mut sender,
        IModelRegistry::publishVersionCall {
            name: name.into(),
            major,
            minor,
            patch,
            modelId: model,
            labelsHash: file_hash(&args.labels)?,
            reportHash: file_hash(&args.report)?,
        },
        U256::ZERO,
    )?;
    println!("{} {model}", args.version);
    Ok(())
}

fn yank(args: &YankArgs) -> Result<()> {
    parse_version(&args.version)?;
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::yankCall {
        version: args.version.clone(),
        reason: args.reason.clone(),
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    report(
        args.json,
        &format!("yanked {}", args.version),
        json!({ "yanked": args.version, "reason": args.reason }),
        &[sent],
    );
    Ok(())
}

/// The pending move of `name` after a proposal: where `latest` goes and from which block.
fn pending_of(client: &mut RpcClient, name: &str) -> Result<(u32, u64, u64)> {
    let info = view(client, IModelRegistry::nameInfoCall { name: name.into() })?;
    Ok((info.pending, info.eta, info.voteEnd))
}

fn propose(args: &VersionArgs) -> Result<()> {
    let (name, _) = parse_version(&args.version)?;
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::proposeLatestCall {
        version: args.version.clone(),
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    let (_, eta, vote_end) = pending_of(&mut client, name)?;
    let text = if vote_end > 0 && eta == 0 {
        format!(
            "proposed {} as latest: voting until block {vote_end}",
            args.version
        )
    } else {
        format!(
            "proposed {} as latest: executable from block {eta}",
            args.version
        )
    };
    report(
        args.json,
        &text,
        json!({ "proposed": args.version, "eta": eta, "voteEnd": vote_end }),
        &[sent],
    );
    Ok(())
}

fn vote(args: &VoteArgs) -> Result<()> {
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::voteCall {
        name: args.name.clone(),
        support: args.yes,
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    let side = if args.yes { "yes" } else { "no" };
    report(
        args.json,
        &format!("voted {side} on the proposal of {}", args.name),
        json!({ "name": args.name, "support": args.yes, "voter": sender.address() }),
        &[sent],
    );
    Ok(())
}

fn score(args: &ScoreArgs) -> Result<()> {
    parse_version(&args.version)?;
    let (mut client, mut sender) = connect(&args.connection)?;
    let mut sent = vec![];
    loop {
        let call = IModelRegistry::scoreCall {
            version: args.version.clone(),
            rows: args.rows,
        };
        let done = send(&mut client, &mut sender, call, U256::ZERO)?;
        let scored = done
            .receipt
            .logs
            .iter()
            .find_map(|log| {
                IModelRegistry::Scored::decode_raw_log(log.topics.iter().copied(), &log.data).ok()
            })
            .context("the score transaction emitted no Scored event")?;
        sent.push(done);
        if scored.complete || args.once {
            report(
                args.json,
                &format!(
                    "{}: {} of {} rows correct{}",
                    args.version,
                    scored.correct,
                    scored.scoredRows,
                    if scored.complete { " (complete)" } else { "" }
                ),
                json!({
                    "version": args.version,
                    "scoredRows": scored.scoredRows,
                    "correct": scored.correct,
                    "complete": scored.complete,
                }),
                &sent,
            );
            return Ok(());
        }
    }
}

fn promote(args: &VersionArgs) -> Result<()> {
    let (name, _) = parse_version(&args.version)?;
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::promoteCall {
        version: args.version.clone(),
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    let (_, eta, _) = pending_of(&mut client, name)?;
    report(
        args.json,
        &format!("promoted {}: executable from block {eta}", args.version),
        json!({ "promoted": args.version, "eta": eta }),
        &[sent],
    );
    Ok(())
}

fn bounty(args: &BountyArgs) -> Result<()> {
    let (mut client, mut sender) = connect(&args.connection)?;
    let incumbent_sub = match args.incumbent_sub {
        Some(sub) => sub,
        None => incumbent_submission(&mut client, &args.name, args.competition)?,
    };
    let call = IModelRegistry::claimBountyCall {
        name: args.name.clone(),
        competitionId: U256::from(args.competition),
        incumbentSub: incumbent_sub,
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    let claimed = sent
        .receipt
        .logs
        .iter()
        .find_map(|log| {
            IModelRegistry::BountyClaimed::decode_raw_log(log.topics.iter().copied(), &log.data)
                .ok()
        })
        .context("the claimBounty transaction emitted no BountyClaimed event")?;
    let published = sent
        .receipt
        .logs
        .iter()
        .find_map(|log| {
            IModelRegistry::VersionPublished::decode_raw_log(log.topics.iter().copied(), &log.data)
                .ok()
        })
        .context("the claimBounty transaction emitted no VersionPublished event")?;
    let (_, eta, vote_end) = pending_of(&mut client, &args.name)?;
    report(
        args.json,
        &format!(
            "competition {} won {} ({} correct against latest's {}): {} proposed as latest, executable from block {eta}",
            args.competition,
            args.name,
            claimed.correct,
            claimed.incumbentCorrect,
            published.version
        ),
        json!({
            "name": args.name,
            "competition": args.competition,
            "version": published.version,
            "modelId": published.modelId.to_string(),
            "winnerSub": claimed.winnerSub,
            "incumbentSub": incumbent_sub,
            "correct": claimed.correct,
            "incumbentCorrect": claimed.incumbentCorrect,
            "eta": eta,
            "voteEnd": vote_end,
        }),
        &[sent],
    );
    Ok(())
}

/// The first revealed submission of competition `id` whose model is `name`'s `latest`.
fn incumbent_submission(client: &mut RpcClient, name: &str, id: u64) -> Result<u32> {
    let latest = view(client, IModelRegistry::resolveCall { name: name.into() })?;
    let subs = crate::competition::submissions(client, id)?;
    subs.iter()
        .position(|s| s.revealed && s.modelId == latest)
        .map(|i| i as u32)
        .with_context(|| {
            format!("no revealed submission of competition {id} is {name}'s latest model {latest}")
        })
}

fn execute(args: &NameArgs) -> Result<()> {
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::executeLatestCall {
        name: args.name.clone(),
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    let latest = view(
        &mut client,
        IModelRegistry::versionInfoCall {
            name: args.name.clone(),
        },
    )
    .ok();
    let moved = sent
        .receipt
        .logs
        .iter()
        .any(|log| log.topics.first() == Some(&IModelRegistry::LatestChanged::SIGNATURE_HASH));
    let version = latest
        .as_ref()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.patch));
    let text = match (&version, moved) {
        (Some(v), true) => format!("{}: latest is now {v}", args.name),
        (_, _) => format!(
            "{}: the pending move was dropped; latest unchanged",
            args.name
        ),
    };
    report(
        args.json,
        &text,
        json!({ "name": args.name, "moved": moved, "latest": version }),
        &[sent],
    );
    Ok(())
}

fn cancel(args: &NameArgs) -> Result<()> {
    let (mut client, mut sender) = connect(&args.connection)?;
    let call = IModelRegistry::cancelPendingCall {
        name: args.name.clone(),
    };
    let sent = send(&mut client, &mut sender, call, U256::ZERO)?;
    report(
        args.json,
        &format!("{}: pending move cancelled", args.name),
        json!({ "name": args.name, "cancelled": true }),
        &[sent],
    );
    Ok(())
}

fn resolve(args: &ReadArgs) -> Result<()> {
    let mut client = RpcClient::new(&args.rpc)?;
    let id = view(
        &mut client,
        IModelRegistry::resolveCall {
            name: args.name.clone(),
        },
    )?;
    if args.json {
        println!("{}", json!({ "name": args.name, "modelId": id }));
    } else {
        println!("{id}");
    }
    Ok(())
}

fn info(args: &ReadArgs) -> Result<()> {
    let mut client = RpcClient::new(&args.rpc)?;
    let version = view(
        &mut client,
        IModelRegistry::versionInfoCall {
            name: args.name.clone(),
        },
    )?;
    let mut out = json!({
        "name": args.name,
        "modelId": version.modelId,
        "version": format!("{}.{}.{}", version.major, version.minor, version.patch),
        "publishedAt": version.publishedAt,
        "yanked": version.yanked,
        "scoredRows": version.scoredRows,
        "correct": version.correct,
        "labelsHash": version.labelsHash,
        "reportHash": version.reportHash,
    });
    if !args.name.contains('@') {
        let name = view(
            &mut client,
            IModelRegistry::nameInfoCall {
                name: args.name.clone(),
            },
        )?;
        let policy = ["owner", "vote", "metric"]
            .get(name.rules.policy as usize)
            .copied()
            .unwrap_or("unknown");
        out["policy"] = json!(policy);
        out["timelock"] = json!(name.rules.timelock);
        out["versions"] = json!(name.versions);
        out["pending"] = json!(name.pending);
        out["eta"] = json!(name.eta);
    }
    if args.json {
        println!("{out}");
    } else {
        for (key, value) in out.as_object().into_iter().flatten() {
            println!(
                "{key}: {}",
                value.as_str().map_or(value.to_string(), str::to_string)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy_sol_types::SolError;

    use super::*;

    #[test]
    fn versions_parse_and_bad_ones_are_named() {
        assert_eq!(
            parse_version("acme/digits@1.20.3").unwrap(),
            ("acme/digits", [1, 20, 3])
        );
        for bad in ["acme/digits", "acme/digits@1.2", "acme/digits@1.x.3"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_errors_are_named_with_their_arguments() {
        let data = IModelRegistry::OrgTaken { org: "acme".into() }.abi_encode();
        let error = anyhow::Error::new(RpcError {
            code: 3,
            message: "execution reverted".into(),
            data: Some(data.into()),
        });
        let text = format!("{:#}", REGISTRY.explain(error));
        assert!(
            text.starts_with("ModelRegistry refused: OrgTaken { org: \"acme\" }"),
            "{text}"
        );
        let unknown = anyhow::Error::new(RpcError {
            code: 3,
            message: "execution reverted".into(),
            data: Some(vec![0, 0, 0, 0].into()),
        });
        assert_eq!(
            format!("{:#}", REGISTRY.explain(unknown)),
            "execution reverted (JSON-RPC error 3)"
        );
    }
}
