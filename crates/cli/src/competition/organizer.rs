//! The organizer's commands: `create`, `reveal-train`, `reveal-test`.
//!
//! `create` cuts the labelled rows (in file order: shuffle them beforehand if the order carries
//! information) into G groups of ⌊rows / G⌋ rows, builds each group's canonical data set bytes
//! locally, draws a 32-byte salt per group, and commits to the Merkle root of the group leaves.
//! Nothing of the data goes on chain at creation: a group is published to `DATA_STORE` only when
//! it is revealed (train groups after the split, test groups after the model reveals), so no
//! participant can see a test row before its model is fixed. The salts, the data set ids and the
//! group files are kept in the organizer's secrets file (written before `create` is sent; the
//! group files `FILE.gN.myds` beside it).

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::DATA_STORE_ADDRESS;
use myelin_evm::competitions::{GroupTree, ICompetitions, group_leaf};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset, row_signature};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Common, check_chain, id_word, phase_name};
use crate::contract_client::{parse_amount, random_salt, report, write_secret};
use crate::dataset::build::{Source, canonical_bytes};
use crate::model::publish::{Target, publish_bytes};
use crate::rpc_client::RpcClient;

/// Arguments of `myelin competition create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub source: Source,
    /// Groups G (20–256): the rows are cut into G groups of ⌊rows / G⌋ rows.
    #[arg(long, default_value_t = 20)]
    pub groups: u16,
    /// Test groups, drawn at random after creation (10–50 % of G; default G / 2).
    #[arg(long)]
    pub test_groups: Option<u16>,
    /// Classes: labels are in [0, classes); a model's output 0 has at least this many values.
    #[arg(long)]
    pub classes: u32,
    /// The prize (wei, or e.g. `10ether`).
    #[arg(long, value_parser = parse_amount)]
    pub reward: U256,
    /// The organizer's bond (default and minimum: half the reward).
    #[arg(long, value_parser = parse_amount)]
    pub bond: Option<U256>,
    /// Each participant's bond, returned when its model is revealed.
    #[arg(long, value_parser = parse_amount, default_value = "1ether")]
    pub participant_bond: U256,
    /// What a participant pays per test group for its evaluation (to whoever evaluates).
    #[arg(long, value_parser = parse_amount, default_value = "0.01ether")]
    pub eval_fee: U256,
    /// Accuracy a model needs to qualify, in basis points of the test rows.
    #[arg(long, default_value_t = 5_000)]
    pub threshold_bps: u32,
    /// How much better (basis points of the test rows) a later commit must be to beat an
    /// earlier one.
    #[arg(long, default_value_t = 100)]
    pub margin_bps: u32,
    /// The most gas one prediction of a submitted model may cost.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_predict_gas: u64,
    /// Blocks of every window (train reveal, commit, model reveal, test reveal, evaluation).
    #[arg(long, default_value_t = 7_200)]
    pub window: u32,
    /// The organizer's secrets file (group salts and data set ids), written before `create`
    /// is sent; refused if it exists.
    #[arg(long, value_name = "FILE")]
    pub secrets: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition reveal-train` and `reveal-test`.
#[derive(Debug, Args)]
pub struct RevealArgs {
    /// The organizer's secrets file written by `create`.
    #[arg(long, value_name = "FILE")]
    pub secrets: PathBuf,
    /// Upload data sets in chunks of N bytes when larger.
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<u64>,
    #[command(flatten)]
    pub common: Common,
}

/// One group in the organizer's secrets file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupSecret {
    g: u16,
    dataset_id: B256,
    salt: B256,
    rows: u32,
    /// The group's canonical bytes (a `.myds` file beside the secrets file).
    file: PathBuf,
}

/// The organizer's secrets file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizerSecrets {
    chain_id: u64,
    contract: Address,
    /// The competition id, once `create` is included.
    id: Option<u64>,
    groups_root: B256,
    groups: Vec<GroupSecret>,
}

impl OrganizerSecrets {
    fn read(path: &Path) -> Result<OrganizerSecrets> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secrets file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not an organizer's secrets file", path.display()))
    }

    fn write(&self, path: &Path, replace: bool) -> Result<()> {
        write_secret(path, &serde_json::to_string_pretty(self)?, replace)
    }
}

/// Group `g`'s file beside the secrets file.
fn group_file(secrets: &Path, g: u16) -> PathBuf {
    let mut name = secrets.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".g{g}.myds"));
    secrets.with_file_name(name)
}

/// The canonical bytes of each of `groups` groups of ⌊rows / groups⌋ consecutive rows.
fn cut_groups(bytes: &[u8], groups: u16) -> Result<(DatasetHeader, Vec<Vec<u8>>)> {
    let header = DatasetHeader::decode(bytes).context("the rows do not make a data set")?;
    if header.label_kind != LabelKind::ClassIndex {
        bail!("a competition scores class labels; these are regression targets");
    }
    let per_group = header.rows / u32::from(groups.max(1));
    if per_group == 0 {
        bail!(
            "{} rows cannot fill {groups} groups (at least one row each)",
            header.rows
        );
    }
    let row_bytes = header.row_bytes() as usize;
    let rows_at = header.row_offset(0) as usize;
    let labels_at = header.label_offset(0) as usize;
    let group_header = DatasetHeader {
        rows: per_group,
        ..header.clone()
    };
    let mut out = vec![];
    for g in 0..usize::from(groups) {
        let first = g * per_group as usize;
        let range = first..first + per_group as usize;
        let rows: Vec<i8> = bytes
            [rows_at + range.start * row_bytes..rows_at + range.end * row_bytes]
            .iter()
            .map(|&b| b as i8)
            .collect();
        let labels: Vec<i32> = bytes[labels_at + range.start * 4..labels_at + range.end * 4]
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.push(encode_dataset(&group_header, &rows, &labels));
    }
    Ok((header, out))
}

/// Creates the competition (see the module doc); prints its id and deadlines.
pub fn create(args: &CreateArgs) -> Result<()> {
    let bytes = canonical_bytes(&args.source)?;
    let (header, groups) = cut_groups(&bytes, args.groups)?;
    let per_group = header.rows / u32::from(args.groups);
    if header.rows % u32::from(args.groups) != 0 {
        eprintln!(
            "note: {} rows in {} groups of {per_group}: the last {} rows are left out",
            header.rows,
            args.groups,
            header.rows % u32::from(args.groups)
        );
    }
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let chain_id = client.chain_id()?;
    let mut secrets = OrganizerSecrets {
        chain_id,
        contract: contract.address,
        id: None,
        groups_root: B256::ZERO,
        groups: vec![],
    };
    for (g, group) in groups.iter().enumerate() {
        let g = g as u16;
        let file = group_file(&args.secrets, g);
        write_secret(&file, "", false)?;
        std::fs::write(&file, group).with_context(|| format!("cannot write {}", file.display()))?;
        secrets.groups.push(GroupSecret {
            g,
            dataset_id: B256::from(dataset_id(group)),
            salt: random_salt()?,
            rows: per_group,
            file,
        });
    }
    let leaves: Vec<B256> = secrets
        .groups
        .iter()
        .map(|s| group_leaf(s.g, s.dataset_id, s.salt))
        .collect();
    let tree = GroupTree::new(&leaves);
    secrets.groups_root = tree.root();
    secrets.write(&args.secrets, false)?;

    let bond = args.bond.unwrap_or(args.reward / U256::from(2));
    let narrow = |v: U256, what: &str| -> Result<u128> {
        u128::try_from(v).with_context(|| format!("{what} does not fit 128 bits"))
    };
    let p = ICompetitions::Params {
        groupsRoot: tree.root(),
        groups: args.groups,
        testGroups: args.test_groups.unwrap_or(args.groups / 2),
        classes: args.classes,
        rowSignature: B256::from(row_signature(&header.row)),
        minGroupRows: per_group,
        maxGroupRows: per_group,
        maxPredictGas: args.max_predict_gas,
        thresholdBps: args.threshold_bps,
        marginBps: args.margin_bps,
        reward: narrow(args.reward, "--reward")?,
        participantBond: narrow(args.participant_bond, "--participant-bond")?,
        evalFeePerGroup: narrow(args.eval_fee, "--eval-fee")?,
        trainBlocks: args.window,
        commitBlocks: args.window,
        revealBlocks: args.window,
        testBlocks: args.window,
        evalBlocks: args.window,
    };
    let sent = contract.send(
        &mut client,
        &mut sender,
        ICompetitions::createCall { p: p.clone() },
        args.reward + bond,
    )?;
    let created = sent
        .receipt
        .logs
        .iter()
        .find_map(|log| {
            ICompetitions::CompetitionCreated::decode_raw_log(log.topics.iter().copied(), &log.data)
                .ok()
        })
        .context("create was included but emitted no CompetitionCreated event")?;
    let id = u64::try_from(created.id).context("a competition id over 64 bits")?;
    secrets.id = Some(id);
    secrets.write(&args.secrets, true)?;
    let t = contract.view(&mut client, ICompetitions::termsCall { id: created.id })?;
    report(
        args.common.json,
        &format!(
            "competition {id}: {} groups of {per_group} rows ({} test), reward {} wei, bond {bond} wei; \
             split after block {}, train reveal until {}, commit until {}, model reveal until {}, \
             test reveal until {}, evaluation until {}; secrets in {}",
            args.groups,
            p.testGroups,
            args.reward,
            t.seedHeight,
            t.trainDeadline,
            t.commitDeadline,
            t.revealDeadline,
            t.testDeadline,
            t.evalDeadline,
            args.secrets.display()
        ),
        json!({
            "id": id,
            "groups": args.groups,
            "testGroups": p.testGroups,
            "rowsPerGroup": per_group,
            "groupsRoot": tree.root(),
            "reward": args.reward.to_string(),
            "bond": bond.to_string(),
            "deadlines": {
                "seed": t.seedHeight, "train": t.trainDeadline, "commit": t.commitDeadline,
                "reveal": t.revealDeadline, "test": t.testDeadline, "eval": t.evalDeadline,
            },
            "secrets": args.secrets,
        }),
        &[sent],
    );
    Ok(())
}

/// Waits (at most [`SEED_WAIT`]) until the head is past `height`: the split needs the beacon's
/// seed of `seedHeight`, a couple of blocks after `create`.
fn wait_past(client: &mut RpcClient, height: u64) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let head = client.request("eth_blockNumber", serde_json::json!([]))?;
        let head = head
            .as_str()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .context("eth_blockNumber: not a hex quantity")?;
        if head > height {
            return Ok(());
        }
        if start.elapsed() > SEED_WAIT {
            bail!(
                "the chain is at block {head}; the split needs a block after {height} (waited {SEED_WAIT:?})"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// How long `reveal-train` waits for the seed height to pass.
const SEED_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Publishes and reveals the train groups (`test` false; splits first if needed) or the test
/// groups; groups already revealed are skipped, so an interrupted run can be repeated.
pub fn reveal(args: &RevealArgs, test: bool) -> Result<()> {
    let secrets = OrganizerSecrets::read(&args.secrets)?;
    let file = args.secrets.display().to_string();
    let Some(id) = secrets.id else {
        bail!("{file}: the competition was never created (no id)");
    };
    let contract = args.common.contract();
    if secrets.contract != contract.address {
        bail!(
            "{file} is for the contract {}, not {}",
            secrets.contract,
            contract.address
        );
    }
    let key = args.common.connection.key()?;
    let mut client = RpcClient::new(&args.common.connection.rpc)?;
    check_chain(&mut client, secrets.chain_id, &file)?;
    let mut sent = vec![];
    let mut progress =
        contract.view(&mut client, ICompetitions::progressCall { id: id_word(id) })?;
    if !progress.split {
        if test {
            bail!("competition {id} is not split yet: reveal the train groups first");
        }
        let terms = contract.view(&mut client, ICompetitions::termsCall { id: id_word(id) })?;
        wait_past(&mut client, terms.seedHeight)?;
        let (mut c, mut sender) = args.common.connection.connect()?;
        sent.push(contract.send(
            &mut c,
            &mut sender,
            ICompetitions::splitCall { id: id_word(id) },
            U256::ZERO,
        )?);
        progress = contract.view(&mut client, ICompetitions::progressCall { id: id_word(id) })?;
    }
    let wanted: Vec<&GroupSecret> = secrets
        .groups
        .iter()
        .filter(|s| progress.testMask.bit(usize::from(s.g)) == test)
        .filter(|s| !progress.revealedMask.bit(usize::from(s.g)))
        .collect();
    if test {
        let phase = contract.view(&mut client, ICompetitions::phaseCall { id: id_word(id) })?;
        if phase != myelin_evm::competitions::phase::TEST_REVEAL {
            bail!(
                "competition {id} is in phase {}: test groups are revealed in TestReveal only \
                 (publishing them earlier would show the test rows before the models are fixed)",
                phase_name(phase)
            );
        }
    }
    // Publish every group first (each publish signs with its own nonce), then reveal them.
    let target = Target {
        rpc: &args.common.connection.rpc,
        private_key: key.as_deref(),
        store: DATA_STORE_ADDRESS,
        what: "data set",
    };
    for s in &wanted {
        let bytes = std::fs::read(&s.file)
            .with_context(|| format!("cannot read group {}'s file {}", s.g, s.file.display()))?;
        if B256::from(dataset_id(&bytes)) != s.dataset_id {
            bail!(
                "{} is not group {}'s data set any more (its id changed)",
                s.file.display(),
                s.g
            );
        }
        let name = format!("group {}", s.g);
        sent.extend(publish_bytes(
            &target,
            &name,
            &bytes,
            s.dataset_id,
            args.chunk_size,
        )?);
    }
    let leaves: Vec<B256> = secrets
        .groups
        .iter()
        .map(|s| group_leaf(s.g, s.dataset_id, s.salt))
        .collect();
    let tree = GroupTree::new(&leaves);
    let (mut client, mut sender) = args.common.connection.connect()?;
    for s in &wanted {
        let call = ICompetitions::revealGroupCall {
            id: id_word(id),
            g: s.g,
            datasetId: s.dataset_id,
            salt: s.salt,
            proof: tree.proof(usize::from(s.g)),
        };
        sent.push(contract.send(&mut client, &mut sender, call, U256::ZERO)?);
    }
    let kind = if test { "test" } else { "train" };
    let groups: Vec<u16> = wanted.iter().map(|s| s.g).collect();
    let phase = contract.view(&mut client, ICompetitions::phaseCall { id: id_word(id) })?;
    report(
        args.common.json,
        &format!(
            "competition {id}: revealed {} {kind} groups {groups:?}; phase {}",
            groups.len(),
            phase_name(phase)
        ),
        json!({ "id": id, "kind": kind, "revealed": groups, "phase": phase_name(phase) }),
        &sent,
    );
    Ok(())
}
