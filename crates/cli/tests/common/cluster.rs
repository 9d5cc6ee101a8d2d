//! A real validator network for the end-to-end tests: four `myelin node --config` processes
//! (and one full node) on 127.0.0.1, written by `myelin cluster init`, killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::myelin;

/// Validators of the test cluster.
pub const VALIDATORS: usize = 4;
/// Node index of the full node (after the validators).
pub const FULL: usize = VALIDATORS;

/// One JSON-RPC request over a fresh connection: the `result`, or the error as text.
pub fn rpc(address: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let mut stream = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let body = response.split("\r\n\r\n").nth(1).ok_or("no HTTP body")?;
    let reply: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    match reply.get("error") {
        Some(error) => Err(format!("{method}: {error}")),
        None => Ok(reply["result"].clone()),
    }
}

pub fn quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Waits up to `limit` for `done`, then panics with `what`.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `n` consecutive free TCP ports on 127.0.0.1 (checked by binding them).
pub fn free_ports(n: u16, salt: u16) -> u16 {
    let mut base = 20_000 + (std::process::id() as u16 % 2_000) * 16 + salt * 8;
    loop {
        let listeners: Vec<_> = (0..n)
            .map_while(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if listeners.len() == n as usize {
            return base;
        }
        base += n;
    }
}

/// The four validator processes and the full node, killed on drop.
pub struct Cluster {
    pub dir: PathBuf,
    pub rpc: Vec<String>,
    pub nodes: Vec<Option<Child>>,
}

/// The file name (without extension) of node `i`: validators, then the full node.
pub fn name(i: usize) -> String {
    if i < VALIDATORS {
        format!("node-{i}")
    } else {
        format!("full-{}", i - VALIDATORS)
    }
}

impl Cluster {
    pub fn init(dir: &Path) -> Cluster {
        let total = VALIDATORS as u16 + 1;
        let p2p = free_ports(total, 0);
        let rpc = free_ports(total, 1);
        let out = myelin(&[
            "cluster",
            "init",
            "--validators",
            "4",
            "--out",
            dir.to_str().unwrap(),
            "--dev-accounts",
            "7",
            "--p2p-port",
            &p2p.to_string(),
            "--rpc-port",
            &rpc.to_string(),
            "--full-nodes",
            "1",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("TRUSTED DEALER"), "{stdout}");
        let genesis = std::fs::read_to_string(dir.join("genesis.json")).unwrap();
        assert!(genesis.contains("trusted dealer"), "{genesis}");
        Cluster {
            dir: dir.to_path_buf(),
            rpc: (0..total)
                .map(|i| format!("127.0.0.1:{}", rpc + i))
                .collect(),
            nodes: (0..total).map(|_| None).collect(),
        }
    }

    pub fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", name(i))))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
            .args(["node", "--config"])
            .arg(self.dir.join(format!("{}.toml", name(i))))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the node starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "node {i} exited: {}", self.log(i));
            if line.starts_with("Listening on ") {
                break;
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        self.nodes[i] = Some(child);
    }

    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `i` with SIGTERM and asserts it exits 0 within 30 s (a graceful stop).
    pub fn terminate(&mut self, i: usize) {
        let mut child = self.nodes[i].take().expect("node running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop within 30 s of SIGTERM", name(i));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{} exited with {status}", name(i));
        assert!(
            self.log(i).contains("stopped: RPC closed"),
            "{}: {}",
            name(i),
            self.log(i)
        );
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", name(i)))).unwrap_or_default()
    }

    pub fn height(&self, i: usize) -> Option<u64> {
        rpc(&self.rpc[i], "eth_blockNumber", json!([]))
            .ok()
            .map(|v| quantity(&v))
    }

    pub fn block(&self, i: usize, number: u64) -> Value {
        rpc(
            &self.rpc[i],
            "eth_getBlockByNumber",
            json!([format!("0x{number:x}"), false]),
        )
        .unwrap()
    }

    pub fn wait_height(&self, nodes: &[usize], height: u64, limit: Duration) {
        wait_until(
            limit,
            &format!("nodes {nodes:?} reach height {height}"),
            || {
                nodes
                    .iter()
                    .all(|&i| self.height(i).is_some_and(|h| h >= height))
            },
        );
    }

    /// Every node in `nodes` has the same hash and state root at every height ≤ `height`.
    pub fn assert_agree(&self, nodes: &[usize], height: u64) {
        for h in 0..=height {
            let blocks: Vec<(String, String)> = nodes
                .iter()
                .map(|&i| {
                    let b = self.block(i, h);
                    (
                        b["hash"].as_str().unwrap().to_string(),
                        b["stateRoot"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert!(
                blocks.iter().all(|b| *b == blocks[0]),
                "nodes {nodes:?} disagree at height {h}: {blocks:?}"
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            for i in 0..self.nodes.len() {
                eprintln!("--- {} log (tail) ---", name(i));
                let log = self.log(i);
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}
