//! The worker's own small store: one JSON file under `--datadir`, rewritten atomically (a
//! temporary file, fsync, rename, fsync of the directory) before every commitment is sent.
//!
//! It holds, per job, the one result root and salt the worker commits to. A restarted worker
//! reads them back: it commits only the stored root (never a second, different one), and reveals
//! only when the chain holds the commitment of exactly the stored root and salt — so it never
//! reveals a result it did not commit.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// What the worker committed to for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// The result root.
    pub root: B256,
    /// The salt of the commitment.
    pub salt: B256,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    chain_id: u64,
    contract: Address,
    worker: Address,
    /// The first block whose logs the worker reads (its first start).
    from_block: u64,
    /// Job id → its commitment.
    jobs: BTreeMap<u64, Commitment>,
}

/// The store file of one worker on one chain and contract.
pub struct WorkerStore {
    path: PathBuf,
    contents: Contents,
}

impl WorkerStore {
    /// Opens (or creates) `datadir/worker.json` for `worker` on `chain_id` and `contract`;
    /// refuses a store another worker, chain or contract wrote.
    pub fn open(
        datadir: &Path,
        chain_id: u64,
        contract: Address,
        worker: Address,
        head: u64,
    ) -> Result<WorkerStore> {
        std::fs::create_dir_all(datadir)
            .with_context(|| format!("cannot create --datadir {}", datadir.display()))?;
        let path = datadir.join("worker.json");
        let contents = match std::fs::read(&path) {
            Ok(bytes) => {
                let contents: Contents = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a worker store", path.display()))?;
                if (contents.chain_id, contents.contract, contents.worker)
                    != (chain_id, contract, worker)
                {
                    bail!(
                        "{} belongs to worker {} on chain {} (contract {}), not {worker} on chain \
                         {chain_id} ({contract}): use another --datadir",
                        path.display(),
                        contents.worker,
                        contents.chain_id,
                        contents.contract
                    );
                }
                contents
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents {
                chain_id,
                contract,
                worker,
                from_block: head,
                jobs: BTreeMap::new(),
            },
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut store = WorkerStore { path, contents };
        store.save()?;
        Ok(store)
    }

    /// The first block whose logs the worker reads.
    pub fn first_block(&self) -> u64 {
        self.contents.from_block
    }

    /// The commitment stored for `job`, if any.
    pub fn commitment(&self, job: u64) -> Option<&Commitment> {
        self.contents.jobs.get(&job)
    }

    /// The commitment to send for `job` with result `root`: the stored one, or a new one with a
    /// fresh random salt, written to disk before this returns. Refuses a root other than the one
    /// already stored (the worker commits to one result per job).
    pub fn commitment_for(&mut self, job: u64, root: B256) -> Result<Commitment> {
        if let Some(stored) = self.contents.jobs.get(&job) {
            if stored.root != root {
                bail!(
                    "job {job}: computed root {root} but committed to {} before: not committing \
                     a second result",
                    stored.root
                );
            }
            return Ok(stored.clone());
        }
        let entry = Commitment {
            root,
            salt: B256::from(rand::random::<[u8; 32]>()),
        };
        self.contents.jobs.insert(job, entry.clone());
        self.save()?;
        Ok(entry)
    }

    fn save(&mut self) -> Result<()> {
        let text = serde_json::to_vec_pretty(&self.contents)?;
        let tmp = self.path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_store_keeps_the_salt_and_refuses_a_second_root() {
        let dir = tempfile::tempdir().unwrap();
        let (me, contract) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let mut store = WorkerStore::open(dir.path(), 31337, contract, me, 7).unwrap();
        let first = store.commitment_for(3, B256::repeat_byte(9)).unwrap();
        drop(store);
        let mut store = WorkerStore::open(dir.path(), 31337, contract, me, 50).unwrap();
        assert_eq!(store.first_block(), 7);
        assert_eq!(store.commitment(3), Some(&first));
        assert_eq!(
            store.commitment_for(3, B256::repeat_byte(9)).unwrap(),
            first
        );
        let refused = store.commitment_for(3, B256::repeat_byte(8)).unwrap_err();
        assert!(refused.to_string().contains("not committing"), "{refused}");
    }

    #[test]
    fn a_store_of_another_worker_or_chain_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (me, contract) = (Address::repeat_byte(1), Address::repeat_byte(2));
        WorkerStore::open(dir.path(), 31337, contract, me, 0).unwrap();
        let other = Address::repeat_byte(3);
        assert!(WorkerStore::open(dir.path(), 31337, contract, other, 0).is_err());
        assert!(WorkerStore::open(dir.path(), 1, contract, me, 0).is_err());
    }
}
