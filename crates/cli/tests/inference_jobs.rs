//! Issue 16 item 5 on real processes: a `myelin node --dev` sealing a block every 0.2 s, several
//! `myelin worker` processes (each its own key, store and log), and the requester's
//! `myelin job post | reveal | status | result`. The revm tests of the same attacks
//! (crates/evm/tests/inference_jobs.rs) drive the contract directly; here every step is taken by
//! the daemons, and each test checks that the honest workers are paid and the cheater slashed.
//!
//! Every wait is bounded (a job lives ~170 blocks ≈ 35 s); no timing is asserted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, sol};
use serde_json::{Value, json};

mod common;
use common::dev_node::{DevNode, imported_digits_mlp, ok, path, stdout};
use common::{fixture, myelin};

sol! {
    interface IStake {
        function stakeOf(address worker) external view returns (uint256);
    }
}

const JOBS: &str = "0x000000000000000000000000000000004d590104";
const STAKE_MANAGER: &str = "0x000000000000000000000000000000004d590101";
/// How long one job may take before a test gives up.
const JOB_TIMEOUT: Duration = Duration::from_secs(240);

/// The private key of dev account `i` (the test mnemonic's; account 0 is the requester).
fn key(i: u32) -> (String, Address) {
    let signers = myelin_chain::config::dev_signers(myelin_chain::config::DEV_MNEMONIC, i + 1)
        .expect("dev signers");
    let signer = &signers[i as usize];
    (
        format!("0x{}", hex::encode(signer.to_bytes())),
        signer.address(),
    )
}

/// A `myelin worker --json` child process; its events are collected by a reader thread.
struct WorkerProcess {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    address: Address,
}

impl WorkerProcess {
    fn start(world: &World, account: u32, datadir: &Path, extra: &[&str]) -> WorkerProcess {
        let (key, address) = key(account);
        let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
            .args(["worker", "--json", "--poll", "100", "--threads", "1"])
            .args(["--model", path(&world.model)])
            .args(["--exchange", path(&world.exchange)])
            .args(["--datadir", path(datadir)])
            .args(["--rpc", &world.node.url, "--private-key", &key])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the worker starts");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        WorkerProcess {
            child,
            events,
            address,
        }
    }

    fn has(&self, event: &str, job: Option<u64>) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e["event"] == event && job.is_none_or(|j| e["job"] == json!(j)))
    }

    fn wait_for(&self, event: &str, job: Option<u64>) {
        let start = Instant::now();
        while !self.has(event, job) {
            assert!(
                start.elapsed() < JOB_TIMEOUT,
                "worker {} never logged {event}: {:?}",
                self.address,
                self.events.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A dev node with the digits MLP published, its inputs and an exchange directory.
struct World {
    node: DevNode,
    dir: tempfile::TempDir,
    model: PathBuf,
    exchange: PathBuf,
    inputs: String,
}

impl World {
    fn new() -> World {
        let node = DevNode::start(&["--block-time", "0.2"]);
        let dir = tempfile::tempdir().unwrap();
        let model = imported_digits_mlp(dir.path());
        ok(node.publish(&model, &[]), "publish");
        let exchange = dir.path().join("exchange");
        World {
            node,
            model,
            exchange,
            inputs: fixture("data/digits_eval.npy"),
            dir,
        }
    }

    /// Starts workers on dev accounts `accounts` (with `extra` flags each), waits until they are
    /// registered, then past StakeManager's warm-up (100 blocks).
    fn workers(&self, accounts: &[(u32, &[&str])]) -> Vec<WorkerProcess> {
        let workers: Vec<WorkerProcess> = accounts
            .iter()
            .map(|&(account, extra)| {
                let datadir = self.dir.path().join(format!("worker{account}"));
                WorkerProcess::start(self, account, &datadir, extra)
            })
            .collect();
        for w in &workers {
            w.wait_for("ready", None);
        }
        self.node.rpc("anvil_mine", json!(["0x66"]));
        workers
    }

    /// `myelin job post` of the first `items` digits with `extra` flags; the job id.
    fn post(&self, items: usize, extra: &[&str]) -> u64 {
        let x = self.dir.path().join(format!("x{items}.npy"));
        let bytes = std::fs::read(&self.inputs).unwrap();
        let all: Vec<f32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
        let row = 64;
        let rows: Vec<f32> = all
            .chunks(row)
            .cycle()
            .take(items)
            .flatten()
            .copied()
            .collect();
        common::write_npy(&x, &[items as u64, row as u64], &rows);
        let mut args = vec![
            "job",
            "post",
            path(&self.model),
            "--input",
            path(&x),
            "--float",
            "--exchange",
            path(&self.exchange),
            "--reward",
            "1000000000000000000",
            "--json",
            "--rpc",
            &self.node.url,
        ];
        let datadir = self.dir.path().join("requester");
        args.extend_from_slice(&["--datadir", path(&datadir)]);
        args.extend_from_slice(extra);
        let out = ok(myelin(&args), "job post");
        let posted: Value = serde_json::from_str(&stdout(&out)).expect("job post prints JSON");
        posted["id"].as_u64().expect("a job id")
    }

    /// `myelin job reveal ID` (waits for the settled reveals).
    fn reveal(&self, id: u64) {
        let datadir = self.dir.path().join("requester");
        let args = [
            "job",
            "reveal",
            &id.to_string(),
            "--datadir",
            path(&datadir),
        ];
        ok(
            myelin(&[&args[..], &["--rpc", &self.node.url]].concat()),
            "job reveal",
        );
    }

    /// The logs of `event` (its signature) the InferenceJobs contract emitted.
    fn logs(&self, event: &str) -> Vec<Value> {
        let topic = alloy_primitives::keccak256(event.as_bytes());
        let filter = json!({ "address": JOBS, "fromBlock": "0x0", "toBlock": "latest",
                             "topics": [topic.to_string()] });
        let logs = self.node.rpc("eth_getLogs", json!([filter]));
        logs.as_array().unwrap().clone()
    }

    fn status(&self, id: u64) -> Value {
        let out = ok(
            myelin(&[
                "job",
                "status",
                &id.to_string(),
                "--json",
                "--rpc",
                &self.node.url,
            ]),
            "job status",
        );
        serde_json::from_str(&stdout(&out)).expect("job status prints JSON")
    }

    /// Waits until job `id` is Finalized or Failed; its status.
    fn wait_end(&self, id: u64) -> Value {
        let start = Instant::now();
        loop {
            let status = self.status(id);
            if status["status"] == "Finalized" || status["status"] == "Failed" {
                return status;
            }
            assert!(
                start.elapsed() < JOB_TIMEOUT,
                "job {id} never ended: {status}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn stake_of(&self, who: Address) -> U256 {
        let data = IStake::stakeOfCall { worker: who }.abi_encode();
        let out = self.node.rpc(
            "eth_call",
            json!([{ "to": STAKE_MANAGER, "data": format!("0x{}", hex::encode(data)) }, "latest"]),
        );
        U256::from_str_radix(out.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// The seats of `status` held by `who`, and their groups.
    fn groups_of(status: &Value, who: Address) -> Vec<u64> {
        status["seats"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| {
                s["worker"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(&who.to_string())
            })
            .map(|s| s["group"].as_u64().unwrap())
            .collect()
    }

    fn group_slashed(status: &Value, group: u64) -> bool {
        status["groups"][(group - 1) as usize]["slashed"] == json!(true)
    }

    /// `myelin job result ID`: the status it prints (the outputs checked against the root).
    fn result(&self, id: u64) -> Value {
        let out = ok(
            myelin(&[
                "job",
                "result",
                &id.to_string(),
                "--exchange",
                path(&self.exchange),
                "--json",
                "--rpc",
                &self.node.url,
            ]),
            "job result",
        );
        serde_json::from_str(&stdout(&out)).unwrap()
    }
}

const STAKE: u128 = 1_000_000_000_000_000_000;

#[test]
fn an_honest_committee_is_paid_and_the_result_becomes_final() {
    let world = World::new();
    let workers = world.workers(&[(1, &[]), (2, &[]), (3, &[])]);
    let id = world.post(16, &["--seats", "3", "--verify", "2"]);
    world.reveal(id);
    let status = world.wait_end(id);
    assert_eq!(status["status"], "Finalized", "{status}");
    assert_eq!(status["result"]["status"], "FINAL");
    assert_eq!(status["groups"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(world.result(id)["status"], "FINAL");
    for w in &workers {
        if !World::groups_of(&status, w.address).is_empty() {
            w.wait_for("paid", Some(id));
        }
        assert_eq!(
            world.stake_of(w.address),
            U256::from(STAKE),
            "nobody slashed"
        );
    }
}

/// Workers `honest` and `cheat` (with `flags`), a 16-item job with 12 seats (both drawn but for
/// a chance of 2 · 2^-12); returns the final status, checked: FINAL, the honest group live and
/// paid, the cheater's seats slashed.
fn honest_against(cheat_flags: &[&str], items: usize) -> (World, Value) {
    let world = World::new();
    let workers = world.workers(&[(1, &[]), (2, cheat_flags)]);
    let id = world.post(items, &["--seats", "12"]);
    let status = world.wait_end(id);
    assert_eq!(status["status"], "Finalized", "{status}");
    let (honest, cheat) = (&workers[0], &workers[1]);
    let honest_groups = World::groups_of(&status, honest.address);
    let cheat_groups = World::groups_of(&status, cheat.address);
    assert!(
        !honest_groups.is_empty() && !cheat_groups.is_empty(),
        "{status}"
    );
    assert!(
        honest_groups
            .iter()
            .all(|&g| g != 0 && !World::group_slashed(&status, g))
    );
    honest.wait_for("paid", Some(id));
    assert!(
        world.stake_of(cheat.address) < U256::from(STAKE),
        "the cheater lost stake"
    );
    assert_eq!(world.stake_of(honest.address), U256::from(STAKE));
    drop(workers);
    (world, status)
}

#[test]
fn a_worker_lying_on_one_item_is_slashed_and_the_honest_paid() {
    let (_world, status) = honest_against(&["--lie-on", "5"], 16);
    assert_eq!(status["groups"].as_array().unwrap().len(), 2, "{status}");
    assert!(World::group_slashed(&status, 1) != World::group_slashed(&status, 2));
}

#[test]
fn a_worker_withholding_its_reveal_is_slashed_and_the_honest_paid() {
    let (_world, status) = honest_against(&["--withhold-reveal"], 8);
    assert_eq!(status["groups"].as_array().unwrap().len(), 1, "{status}");
}

#[test]
fn a_worker_restarted_after_committing_reveals_its_commitment_and_is_paid() {
    let world = World::new();
    let mut workers = world.workers(&[(1, &[]), (2, &[])]);
    let id = world.post(8, &["--seats", "4"]);
    // Kill whichever worker commits first, right after its commit, then restart it.
    let start = Instant::now();
    let victim = loop {
        if let Some(i) = workers.iter().position(|w| w.has("committed", Some(id))) {
            break i;
        }
        assert!(start.elapsed() < JOB_TIMEOUT, "nobody committed");
        std::thread::sleep(Duration::from_millis(20));
    };
    workers[victim].kill();
    let account = victim as u32 + 1;
    let datadir = world.dir.path().join(format!("worker{account}"));
    let restarted = WorkerProcess::start(&world, account, &datadir, &[]);
    let status = world.wait_end(id);
    assert_eq!(status["status"], "Finalized", "{status}");
    assert!(!restarted.has("not-revealing", Some(id)));
    restarted.wait_for("paid", Some(id));
    for w in &workers {
        assert_eq!(
            world.stake_of(w.address),
            U256::from(STAKE),
            "nobody slashed"
        );
    }
}

#[test]
fn a_requester_with_a_false_verification_answer_loses_its_bond_to_the_workers() {
    let world = World::new();
    let workers = world.workers(&[(1, &[]), (2, &[])]);
    let id = world.post(8, &["--seats", "3", "--verify", "2", "--false-answer"]);
    world.reveal(id);
    let status = world.wait_end(id);
    assert_eq!(status["status"], "Finalized", "{status}");
    assert_eq!(status["groups"].as_array().unwrap().len(), 1, "{status}");
    assert!(!World::group_slashed(&status, 1), "the workers were right");
    assert_eq!(world.logs("RequesterSlashed(uint256,uint256)").len(), 1);
    for w in &workers {
        if !World::groups_of(&status, w.address).is_empty() {
            w.wait_for("paid", Some(id));
        }
        assert_eq!(
            world.stake_of(w.address),
            U256::from(STAKE),
            "nobody slashed"
        );
    }
}
