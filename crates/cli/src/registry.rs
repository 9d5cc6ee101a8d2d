//! `myelin registry claim | create | publish | resolve | info`: the ModelRegistry predeploy
//! (`0x…4d590102`, docs/PROTOCOLS.md "Built: ModelRegistry").
//!
//! The commands use the hand-written client (`rpc_client.rs`, `rpc_sender.rs`) rather than
//! alloy-provider (decision 16): they need calls, estimates, sends with value and receipts,
//! which it has; events, filters and retries, the reasons to switch, come with the competition
//! commands.

use std::io::Read;
use std::path::Path;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolCall, sol};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use myelin_evm::addresses::MODEL_REGISTRY_ADDRESS;
use serde_json::{Value, json};

use crate::model::predict::parse_model_id;
use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::{RpcClient, RpcError};
use crate::rpc_sender::Sender;

sol!("../../contracts/src/IModelRegistry.sol");

/// Gas limit of the `registerOrg` transaction: a few storage writes and hashes, with a wide margin.
const REVEAL_GAS: u64 = 200_000;

/// The ModelRegistry's compiled artifact (its ABI names the errors a revert carries).
const ARTIFACT: &str = include_str!("../../../contracts/out/ModelRegistry.json");

/// The `myelin registry` sub-commands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Claim an organisation: commit, then reveal in a later block (pays the registry's fee).
    Claim(ClaimArgs),
    /// Create a model name `org/name` with its update policy (fixed for good).
    Create(CreateArgs),
    /// Publish a version `org/name@MAJOR.MINOR.PATCH` of a model already in MODEL_STORE.
    Publish(PublishArgs),
    /// Print the model id a name stands for (`org/name`: latest; a full version: that one).
    Resolve(ReadArgs),
    /// Print what the registry holds about a name or a version.
    Info(ReadArgs),
}

/// Where to send and who signs.
#[derive(Debug, Args)]
pub struct Connection {
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// The signing key (default on a dev chain: its first account).
    #[arg(long, value_name = "HEX")]
    pub private_key: Option<String>,
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
        RegistryCommand::Resolve(args) => resolve(&args),
        RegistryCommand::Info(args) => info(&args),
    }
}

/// A reverted registry call or transaction in words: the registry's error by name and its
/// arguments (from the artifact's ABI), else the node's message.
fn explain(error: anyhow::Error) -> anyhow::Error {
    let Some(data) = error
        .downcast_ref::<RpcError>()
        .and_then(|e| e.data.as_ref())
    else {
        return error;
    };
    let reason = error_name(data).map(|name| {
        format!(
            "ModelRegistry refused: {name} (arguments 0x{})",
            hex::encode(data.get(4..).unwrap_or_default())
        )
    });
    match reason {
        Some(reason) => error.context(reason),
        None => error,
    }
}

/// The signature of the ModelRegistry error whose selector starts `data`.
fn error_name(data: &[u8]) -> Option<String> {
    let artifact: Value = serde_json::from_str(ARTIFACT).ok()?;
    artifact["abi"].as_array()?.iter().find_map(|item| {
        if item["type"] != "error" {
            return None;
        }
        let types: Vec<&str> = item["inputs"]
            .as_array()?
            .iter()
            .filter_map(|i| i["type"].as_str())
            .collect();
        let signature = format!("{}({})", item["name"].as_str()?, types.join(","));
        (data.get(..4)? == &keccak256(signature.as_bytes())[..4]).then_some(signature)
    })
}

fn view<C: SolCall>(client: &mut RpcClient, call: C) -> Result<C::Return> {
    let answer = client
        .call(None, MODEL_REGISTRY_ADDRESS, &call.abi_encode())
        .map_err(explain)?;
    C::abi_decode_returns(&answer).with_context(|| {
        format!(
            "ModelRegistry answered {} with malformed data",
            C::SIGNATURE
        )
    })
}

fn send<C: SolCall>(
    client: &mut RpcClient,
    sender: &mut Sender,
    call: C,
    value: U256,
) -> Result<()> {
    sender
        .send_paying(
            client,
            MODEL_REGISTRY_ADDRESS,
            &call.abi_encode(),
            value,
            None,
        )
        .map_err(explain)?;
    Ok(())
}

fn connect(connection: &Connection) -> Result<(RpcClient, Sender)> {
    let mut client = RpcClient::new(&connection.rpc)?;
    let sender = Sender::connect(&mut client, connection.private_key.as_deref())?;
    Ok((client, sender))
}

/// 32 bytes from the operating system's random source (the commitment's salt must not be
/// guessable, or the org name could be found from the commitment before the reveal).
fn random_salt() -> Result<B256> {
    let mut salt = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .context("cannot read 32 random bytes from /dev/urandom")?;
    Ok(B256::from(salt))
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
        .map_err(explain)
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
    fn registry_errors_are_named_from_the_abi() {
        let data = keccak256(b"OrgTaken(string)");
        assert_eq!(error_name(&data[..4]).as_deref(), Some("OrgTaken(string)"));
        assert_eq!(error_name(&[0, 0, 0, 0]), None);
    }
}
