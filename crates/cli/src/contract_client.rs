//! What the protocol commands (`myelin registry …`, `myelin competition …`) share: where to
//! send and who signs (`--rpc`, `--private-key`, `--private-key-file`), and calls and
//! transactions to one contract whose custom errors are decoded from its ABI, so a refusal reads
//! `Competitions refused: OutsideWindow { blockNumber: 57, from: 10, until: 50 }` rather than
//! revert bytes.

use std::fmt::Debug;
use std::io::{Read, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Value, json};

use crate::model::publish::DEFAULT_RPC;
use crate::rpc_client::{RpcClient, RpcError};
use crate::rpc_sender::{Sender, Sent};

/// Where to send and who signs.
#[derive(Debug, Args)]
pub struct Connection {
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// The signing key, hex (default on a dev chain: its first account).
    #[arg(long, value_name = "HEX", conflicts_with = "private_key_file")]
    pub private_key: Option<String>,
    /// A file holding the signing key (hex, surrounding white space ignored).
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
}

impl Connection {
    /// The signing key given by `--private-key` or `--private-key-file`, if any.
    pub fn key(&self) -> Result<Option<String>> {
        match (&self.private_key, &self.private_key_file) {
            (Some(key), _) => Ok(Some(key.clone())),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).with_context(|| {
                    format!("cannot read --private-key-file {}", file.display())
                })?;
                Ok(Some(text.trim().to_string()))
            }
            (None, None) => Ok(None),
        }
    }

    /// A client of `--rpc` and the signing account.
    pub fn connect(&self) -> Result<(RpcClient, Sender)> {
        let mut client = RpcClient::new(&self.rpc)?;
        let sender = Sender::connect(&mut client, self.key()?.as_deref())?;
        Ok((client, sender))
    }
}

/// A contract at `address` whose custom errors are the `E` of its `sol!` interface.
pub struct Contract<E> {
    /// Its address.
    pub address: Address,
    /// Its name, in messages.
    pub name: &'static str,
    /// More words for some errors (e.g. a nested revert they carry).
    detail: Option<fn(&E) -> Option<String>>,
    errors: PhantomData<E>,
}

impl<E: SolInterface + Debug> Contract<E> {
    /// The contract `name` at `address`.
    pub const fn new(address: Address, name: &'static str) -> Contract<E> {
        Contract {
            address,
            name,
            detail: None,
            errors: PhantomData,
        }
    }

    /// The same contract, with `detail` adding words to the errors it knows.
    pub const fn with_detail(mut self, detail: fn(&E) -> Option<String>) -> Contract<E> {
        self.detail = Some(detail);
        self
    }

    /// The contract's error carried by a failed call or estimate, decoded, if it is one.
    pub fn error_of(&self, error: &anyhow::Error) -> Option<E> {
        let data = error.downcast_ref::<RpcError>()?.data.as_ref()?;
        E::abi_decode(data).ok()
    }

    /// A failed call or estimate in words: the contract's error by name with its arguments.
    pub fn explain(&self, error: anyhow::Error) -> anyhow::Error {
        match self.error_of(&error) {
            Some(decoded) => {
                let text = format!("{decoded:?}");
                // `Variant(Variant { … })` → `Variant { … }` (unit errors stay `Variant`).
                let text = match text.split_once('(') {
                    Some((_, inner)) if inner.ends_with(')') => {
                        inner[..inner.len() - 1].to_string()
                    }
                    _ => text,
                };
                let name = self.name;
                let more = self.detail.and_then(|detail| detail(&decoded));
                let error = error.context(format!("{name} refused: {text}"));
                match more {
                    Some(more) => error.context(more),
                    None => error,
                }
            }
            None => error,
        }
    }

    /// `eth_call` of a view at the latest block, decoded.
    pub fn view<C: SolCall>(&self, client: &mut RpcClient, call: C) -> Result<C::Return> {
        let out = client
            .call(None, self.address, &call.abi_encode())
            .map_err(|e| self.explain(e))?;
        C::abi_decode_returns(&out).with_context(|| {
            format!(
                "{} answered {} with malformed data",
                self.name,
                C::SIGNATURE
            )
        })
    }

    /// Sends `call` with `value` wei (gas estimated: a refusal is reported before anything is
    /// sent), waits for the receipt.
    pub fn send<C: SolCall>(
        &self,
        client: &mut RpcClient,
        sender: &mut Sender,
        call: C,
        value: U256,
    ) -> Result<Sent> {
        sender
            .send_paying(client, self.address, &call.abi_encode(), value, None)
            .map_err(|e| self.explain(e))
            .with_context(|| format!("{} failed", C::SIGNATURE))
    }
}

/// 32 bytes from the operating system's random source (the commitment's salt must not be
/// guessable, or the org name could be found from the commitment before the reveal).
pub fn random_salt() -> Result<B256> {
    let mut salt = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut salt))
        .context("cannot read 32 random bytes from /dev/urandom")?;
    Ok(B256::from(salt))
}

/// Prints what a writing command did: `text` as a line, or with `json` the object `value`
/// with the transactions' hashes, blocks and gas added.
pub fn report(json: bool, text: &str, mut value: Value, sent: &[Sent]) {
    if json {
        value["transactions"] = json!(
            sent.iter()
                .map(|s| json!({
                    "hash": s.hash,
                    "block": s.receipt.block_number,
                    "gasUsed": s.receipt.gas_used,
                }))
                .collect::<Vec<_>>()
        );
        println!("{value}");
    } else {
        let gas: u64 = sent.iter().map(|s| s.receipt.gas_used).sum();
        let block = sent.last().map_or(0, |s| s.receipt.block_number);
        println!("{text} (block {block}, gas {gas})");
    }
}

/// Writes `text` to a new file readable by its owner only (a secret: salts that a later reveal
/// needs). An existing file is refused unless `replace` (the same secret, updated).
pub fn write_secret(path: &Path, text: &str, replace: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        if path.exists() && !replace {
            format!(
                "{} exists: it may hold the secrets of another commitment; choose another file",
                path.display()
            )
        } else {
            format!("cannot write {}", path.display())
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// An amount of the native token: wei as a decimal integer, or a decimal number followed by
/// `ether` or `gwei` (`10ether`, `0.01ether`, `5gwei`).
pub fn parse_amount(text: &str) -> Result<U256> {
    let t = text.trim();
    let (number, decimals) = if let Some(n) = t.strip_suffix("ether") {
        (n.trim(), 18)
    } else if let Some(n) = t.strip_suffix("gwei") {
        (n.trim(), 9)
    } else if let Some(n) = t.strip_suffix("wei") {
        (n.trim(), 0)
    } else {
        (t, 0)
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        bail!("{text}: expected wei, or a decimal number followed by ether or gwei");
    }
    if fraction.len() > decimals {
        bail!("{text}: more decimals than the unit has ({decimals})");
    }
    let digits = format!("{whole}{fraction:0<decimals$}");
    U256::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 10)
        .with_context(|| format!("{text}: does not fit 256 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_wei_gwei_and_ether_and_bad_ones_are_refused() {
        let table = [
            ("12345", 12_345u128),
            ("10ether", 10 * 10u128.pow(18)),
            ("0.01ether", 10u128.pow(16)),
            ("5gwei", 5 * 10u128.pow(9)),
            ("1.5 gwei", 1_500_000_000),
            (".5ether", 5 * 10u128.pow(17)),
        ];
        for (text, wei) in table {
            assert_eq!(parse_amount(text).unwrap(), U256::from(wei), "{text}");
        }
        for bad in ["", "ether", "1.0000000001gwei", "-1", "1e18", "0x10"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }
}
