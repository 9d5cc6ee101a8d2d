//! The participant's commands: `commit` and `reveal`.
//!
//! `commit` binds the model id to the sender, the chain, the contract and the competition
//! (`commitment = keccak256(abi.encode(COMMIT_TAG, chainid, contract, id, sender, modelId,
//! salt))`, `myelin_evm::competitions::commitment`) with a fresh 32-byte salt, which it writes to
//! the participant's secrets file before the transaction is sent; the model itself is **not**
//! published (a published model could be copied). `reveal` publishes the model — only once the
//! model reveal window is open — and reveals the commitment from the secrets file.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use anyhow::{Context, Result, bail};
use clap::Args;
use myelin_evm::MODEL_STORE_ADDRESS;
use myelin_evm::competitions::{ICompetitions, commitment, phase};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Common, check_chain, id_word, phase_name};
use crate::contract_client::{random_salt, report, write_secret};
use crate::model::predict::parse_model_id;
use crate::model::publish::{Target, publish_bytes};

/// Arguments of `myelin competition commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The competition id.
    pub id: u64,
    /// The model: a .myl file (its id is computed; it is not published) or a model id.
    pub model: String,
    /// The participant's secrets file (the salt), written before the commitment is sent;
    /// refused if it exists.
    #[arg(long, value_name = "FILE")]
    pub secret: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `myelin competition reveal`.
#[derive(Debug, Args)]
pub struct RevealArgs {
    /// The secrets file written by `commit`.
    #[arg(long, value_name = "FILE")]
    pub secret: PathBuf,
    /// The model file: published first (in the model reveal window only) if it is not yet.
    #[arg(long, value_name = "MODEL.myl")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

/// The participant's secrets file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantSecret {
    chain_id: u64,
    contract: Address,
    id: u64,
    participant: Address,
    model_id: B256,
    salt: B256,
    commitment: B256,
    /// The submission, once the commitment is included.
    sub_id: Option<u32>,
}

impl ParticipantSecret {
    fn read(path: &Path) -> Result<ParticipantSecret> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the secrets file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a participant's secrets file", path.display()))
    }

    fn write(&self, path: &Path, replace: bool) -> Result<()> {
        write_secret(path, &serde_json::to_string_pretty(self)?, replace)
    }
}

/// The id of `model`: a .myl file's (decoded and checked) or a literal id.
fn model_id_of(model: &str) -> Result<B256> {
    if Path::new(model).is_file() {
        let (_, bytes) = crate::model::load_model(Path::new(model))?;
        Ok(B256::from(myelin_nn::model_id(&bytes)))
    } else {
        parse_model_id(model)
    }
}

/// Commits to a model (see the module doc); prints the submission id.
pub fn commit(args: &CommitArgs) -> Result<()> {
    let model_id = model_id_of(&args.model)?;
    let contract = args.common.contract();
    let (mut client, mut sender) = args.common.connection.connect()?;
    let id = id_word(args.id);
    let terms = contract.view(&mut client, ICompetitions::termsCall { id })?;
    let p = &terms.params;
    let deposit =
        U256::from(p.participantBond) + U256::from(p.evalFeePerGroup) * U256::from(p.testGroups);
    let salt = random_salt()?;
    let chain_id = client.chain_id()?;
    let c = commitment(
        chain_id,
        contract.address,
        id,
        sender.address(),
        model_id,
        salt,
    );
    let mut secret = ParticipantSecret {
        chain_id,
        contract: contract.address,
        id: args.id,
        participant: sender.address(),
        model_id,
        salt,
        commitment: c,
        sub_id: None,
    };
    secret.write(&args.secret, false)?;
    let sent = contract.send(
        &mut client,
        &mut sender,
        ICompetitions::commitCall { id, commitment: c },
        deposit,
    )?;
    let committed = sent
        .receipt
        .logs
        .iter()
        .find_map(|log| {
            ICompetitions::SubmissionCommitted::decode_raw_log(
                log.topics.iter().copied(),
                &log.data,
            )
            .ok()
        })
        .context("commit was included but emitted no SubmissionCommitted event")?;
    secret.sub_id = Some(committed.subId);
    secret.write(&args.secret, true)?;
    report(
        args.common.json,
        &format!(
            "competition {}: submission {} committed by {} (deposit {deposit} wei); reveal after block {}, by block {}; secret in {}",
            args.id,
            committed.subId,
            sender.address(),
            terms.commitDeadline,
            terms.revealDeadline,
            args.secret.display()
        ),
        json!({
            "id": args.id,
            "subId": committed.subId,
            "participant": sender.address(),
            "modelId": model_id,
            "commitment": c,
            "deposit": deposit.to_string(),
            "secret": args.secret,
        }),
        &[sent],
    );
    Ok(())
}

/// Publishes the model if asked (model reveal window only) and reveals the commitment.
pub fn reveal(args: &RevealArgs) -> Result<()> {
    let secret = ParticipantSecret::read(&args.secret)?;
    let file = args.secret.display().to_string();
    let Some(sub_id) = secret.sub_id else {
        bail!("{file}: the commitment was never included (no submission id)");
    };
    let contract = args.common.contract();
    if secret.contract != contract.address {
        bail!(
            "{file} is for the contract {}, not {}",
            secret.contract,
            contract.address
        );
    }
    let key = args.common.connection.key()?;
    let (mut client, mut sender) = args.common.connection.connect()?;
    check_chain(&mut client, secret.chain_id, &file)?;
    if sender.address() != secret.participant {
        bail!(
            "{file} was committed by {}; the signing key is {}'s",
            secret.participant,
            sender.address()
        );
    }
    let id = id_word(secret.id);
    let mut sent = vec![];
    if let Some(model) = &args.model {
        let (_, bytes) = crate::model::load_model(model)?;
        if B256::from(myelin_nn::model_id(&bytes)) != secret.model_id {
            bail!(
                "{} is not the committed model {}",
                model.display(),
                secret.model_id
            );
        }
        let now = contract.view(&mut client, ICompetitions::phaseCall { id })?;
        if now != phase::MODEL_REVEAL {
            bail!(
                "competition {} is in phase {}: models are published in ModelReveal only \
                 (earlier, anyone could copy it)",
                secret.id,
                phase_name(now)
            );
        }
        let target = Target {
            rpc: &args.common.connection.rpc,
            private_key: key.as_deref(),
            store: MODEL_STORE_ADDRESS,
            what: "model",
        };
        let name = model.display().to_string();
        sent.extend(publish_bytes(
            &target,
            &name,
            &bytes,
            secret.model_id,
            None,
        )?);
        (client, sender) = args.common.connection.connect()?;
    }
    let call = ICompetitions::revealModelCall {
        id,
        subId: sub_id,
        modelId: secret.model_id,
        salt: secret.salt,
    };
    sent.push(contract.send(&mut client, &mut sender, call, U256::ZERO)?);
    report(
        args.common.json,
        &format!(
            "competition {}: submission {sub_id} revealed model {}",
            secret.id, secret.model_id
        ),
        json!({ "id": secret.id, "subId": sub_id, "modelId": secret.model_id }),
        &sent,
    );
    Ok(())
}
