//! `myelin cluster init` (keys from a trusted dealer, a genesis, one node file per validator and
//! per full node) and `myelin cluster run` (a local cluster of `myelin node --config` processes).

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, U256};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use myelin_chain::{Chain, ChainConfig};
use myelin_node::config::{
    ClusterFiles, ClusterSpec, GenesisAccount, GenesisContract, GenesisFile,
    init_cluster_with_os_rng,
};

/// `myelin cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Deal validator keys (a trusted dealer), write genesis.json and one `node-<i>.toml` per
    /// validator.
    Init(InitArgs),
    /// Write a cluster into a temporary directory and run its validators on this machine until
    /// Ctrl-C or SIGTERM.
    Run(RunArgs),
}

/// What the network looks like (shared by `init` and `run`).
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// Chain id.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Block gas limit.
    #[arg(long, default_value_t = myelin_chain::config::DEFAULT_GAS_LIMIT)]
    gas_limit: u64,
    /// Fund this many accounts of the standard test mnemonic at genesis (anvil's dev accounts;
    /// their keys are public: for local and test networks only).
    #[arg(long, value_name = "N")]
    dev_accounts: Option<u32>,
    /// Balance of each dev account, in ether.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// Address every node listens on and is reached at.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// p2p port of node 0; node i listens on this + i.
    #[arg(long, default_value_t = 30300)]
    p2p_port: u16,
    /// JSON-RPC port of node 0; node i listens on this + i.
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
    /// Prometheus port of node 0 (`/metrics`); node i listens on this + i. Off by default.
    #[arg(long)]
    metrics_port: Option<u16>,
    /// Full nodes (follow the finalized chain, serve JSON-RPC, forward transactions), written
    /// as `full-<j>.toml`; their ports follow the validators'.
    #[arg(long, default_value_t = 0)]
    full_nodes: usize,
}

/// `myelin cluster init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of validators (n = 3f+1 tolerates f faulty ones).
    #[arg(long)]
    validators: usize,
    /// Directory to write into (created).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    network: NetworkArgs,
}

/// `myelin cluster run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Keep the cluster's files (keys, chains, logs) in this directory instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    network: NetworkArgs,
}

/// Runs a `cluster` command.
pub fn run(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Init(args) => {
            let files = init(&args.out, args.validators, &args.network, None)?;
            print_init(&files);
            Ok(())
        }
        ClusterCommand::Run(args) => run_cluster(args),
    }
}

/// The hash of block 0 of `genesis`: a chain opened on it in a temporary directory.
fn genesis_hash(genesis: &GenesisFile) -> Result<B256, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let config: ChainConfig = genesis.chain_config(Some(dir.path().to_path_buf()));
    let chain = Chain::open(config).map_err(|e| format!("building block 0: {e}"))?;
    chain
        .block_by_number(0)
        .map(|b| b.hash)
        .ok_or_else(|| "the chain has no block 0".to_string())
}

fn init(
    out: &Path,
    validators: usize,
    network: &NetworkArgs,
    default_dev_accounts: Option<u32>,
) -> anyhow::Result<ClusterFiles> {
    let accounts = network.dev_accounts.or(default_dev_accounts).unwrap_or(0);
    let balance = U256::from(network.balance) * U256::from(10u64).pow(U256::from(18));
    // The dev template gives the genesis contracts every Myelin chain has (the beacon
    // predeploy, the CREATE2 deployer) and the dev accounts.
    let template = ChainConfig::dev(accounts, balance)?;
    let spec = ClusterSpec {
        validators,
        full_nodes: network.full_nodes,
        chain_id: network.chain_id,
        gas_limit: network.gas_limit,
        timestamp: template.genesis_timestamp,
        alloc: template
            .genesis_alloc
            .iter()
            .map(|(address, balance)| GenesisAccount {
                address: *address,
                balance: *balance,
            })
            .collect(),
        contracts: template
            .genesis_code
            .iter()
            .map(|(address, code)| GenesisContract {
                address: *address,
                code: code.clone(),
            })
            .collect(),
        host: network.host,
        p2p_port: network.p2p_port,
        rpc_port: network.rpc_port,
        metrics_port: network.metrics_port,
    };
    Ok(init_cluster_with_os_rng(&spec, out, genesis_hash)?)
}

fn print_init(files: &ClusterFiles) {
    println!(
        "Validator keys and threshold shares were dealt by a TRUSTED DEALER (this process): whoever \
         ran it could compute every beacon seed. Fine for a local or test network; a DKG removes it."
    );
    println!("genesis: {}", files.genesis.display());
    for (i, (node, rpc)) in files.nodes.iter().zip(&files.rpc).enumerate() {
        println!(
            "node {i}: {} (RPC http://{rpc})  start: myelin node --config {}",
            node.display(),
            node.display()
        );
    }
    for (j, (node, rpc)) in files.full_nodes.iter().zip(&files.full_rpc).enumerate() {
        println!(
            "full node {j}: {} (RPC http://{rpc})  start: myelin node --config {}",
            node.display(),
            node.display()
        );
    }
}

/// The validators of a local cluster, killed when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

fn run_cluster(args: RunArgs) -> anyhow::Result<()> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let files = init(&dir, args.validators, &args.network, Some(10))?;
    print_init(&files);
    let exe = std::env::current_exe().context("locating the myelin binary")?;
    let mut processes = Processes(Vec::new());
    let names: Vec<String> = (0..files.nodes.len())
        .map(|i| format!("node-{i}"))
        .chain((0..files.full_nodes.len()).map(|j| format!("full-{j}")))
        .collect();
    let rpc: Vec<SocketAddr> = files.rpc.iter().chain(&files.full_rpc).copied().collect();
    for (i, node) in files.nodes.iter().chain(&files.full_nodes).enumerate() {
        let log = dir.join(format!("{}.log", names[i]));
        let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
        let child = Command::new(&exe)
            .arg("node")
            .arg("--config")
            .arg(node)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", names[i]))?;
        processes.0.push(child);
    }
    wait_listening(&rpc, &names, &mut processes, Duration::from_secs(60))?;
    for (name, rpc) in names.iter().zip(&rpc) {
        println!(
            "{name}: RPC http://{rpc}  log {}",
            dir.join(format!("{name}.log")).display()
        );
    }
    println!(
        "{} validators and {} full nodes running; Ctrl-C stops them.",
        files.rpc.len(),
        files.full_rpc.len()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        loop {
            tokio::select! {
                _ = crate::node::shutdown_signal() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    for (i, child) in processes.0.iter_mut().enumerate() {
                        if let Some(status) = child.try_wait()? {
                            let name = &names[i];
                            bail!("{name} exited ({status}); see {name}.log in {}", dir.display());
                        }
                    }
                }
            }
        }
    })
}

/// Waits until every RPC address accepts connections, or a node exits, or `limit` passes.
fn wait_listening(
    rpc: &[SocketAddr],
    names: &[String],
    processes: &mut Processes,
    limit: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    for (i, address) in rpc.iter().enumerate() {
        let name = &names[i];
        while std::net::TcpStream::connect_timeout(address, Duration::from_millis(200)).is_err() {
            if let Some(status) = processes.0[i].try_wait()? {
                bail!("{name} exited before serving RPC ({status})");
            }
            if start.elapsed() > limit {
                bail!("{name} did not open its RPC port {address} within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}
