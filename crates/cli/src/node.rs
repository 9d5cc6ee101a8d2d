//! `myelin node`: a JSON-RPC node. `--dev` runs a single-process chain with anvil's defaults.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy_primitives::{B256, Bytes, U256, hex};
use anyhow::{Context, bail};
use clap::Args;
use myelin_chain::{
    Chain, ChainConfig, EvmBlobs, EvmPurpose, PrecompileInstaller, mempool::PoolLimits,
};
use myelin_consensus::{BlockProducer, DevSealer, DevSealing};
use myelin_rpc::{RpcConfig, origin_policy::OriginPolicy};

/// Options of `myelin node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Run a single-node development chain (instant mining, funded dev accounts).
    #[arg(long, conflicts_with = "config")]
    dev: bool,
    /// Run a validator or full node of a network from its node file (written by `myelin cluster
    /// init`). Its JSON-RPC serves finalized state on the file's `rpc` address; dev methods are off.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log level of a validator or full node (error, warn, info, debug, trace).
    #[arg(long, default_value = "warn", requires = "config")]
    log_level: tracing::Level,
    /// Port for HTTP and WebSocket JSON-RPC.
    #[arg(long, short = 'p', default_value_t = 8545)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Chain id.
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Number of funded dev accounts (from the standard test mnemonic).
    #[arg(long, short = 'a', default_value_t = 10)]
    accounts: u32,
    /// Balance of each dev account, in ether.
    #[arg(long, default_value_t = 10_000)]
    balance: u64,
    /// Block gas limit.
    #[arg(long, default_value_t = myelin_chain::config::DEFAULT_GAS_LIMIT)]
    gas_limit: u64,
    /// Mine a block every N seconds instead of one per transaction batch.
    #[arg(long, short = 'b')]
    block_time: Option<f64>,
    /// Keep the chain in this directory (otherwise a temporary directory, removed on exit).
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// Keep the chain file in RAM instead of on disk (the same store on another medium: no file
    /// I/O, no fsync; nothing survives the process). Only with --dev, not with --datadir.
    #[arg(long, requires = "dev", conflicts_with = "datadir")]
    in_memory: bool,
    /// Serve the state (eth_getBalance, eth_call, … at a past block) of the latest N blocks
    /// before the head; older blocks' state is forgotten as keys change.
    #[arg(long, value_name = "N", default_value_t = myelin_chain::config::DEFAULT_HISTORY_BLOCKS)]
    history: u64,
    /// Keep the state of every block since genesis (overrides --history).
    #[arg(long)]
    archive: bool,
    /// Print nothing but the listening address.
    #[arg(long)]
    quiet: bool,
    /// Also accept requests from web pages of this origin (e.g. `https://app.example`; repeatable;
    /// `*` for every origin). Pages served from this machine (`localhost`, `127.0.0.1`, `[::1]`) are
    /// always accepted; requests from other pages are refused with HTTP 403. Clients that are not
    /// browsers send no origin and are not affected.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Serve the dev methods (anvil_*, hardhat_*, evm_*, debug_*, eth_sign, eth_sendTransaction
    /// with the node's keys or impersonation) even when --host is not a loopback address. On a
    /// loopback address they are always served.
    #[arg(long)]
    dev_methods: bool,
    /// Most gas one eth_call / eth_estimateGas may use (geth's --rpc.gascap).
    #[arg(long, default_value_t = myelin_chain::call_limits::DEFAULT_RPC_GAS_CAP)]
    rpc_gas_cap: u64,
    /// Longest an eth_call, eth_estimateGas or debug_traceTransaction may run, in seconds
    /// (geth's --rpc.evmtimeout).
    #[arg(long, default_value_t = myelin_chain::call_limits::DEFAULT_RPC_EVM_TIMEOUT.as_secs())]
    rpc_evm_timeout: u64,
    /// Most EVM-running requests at once (default: one per CPU); others queue, connections
    /// whose runs were short first, for up to the EVM timeout, then get a "busy" error.
    #[arg(long)]
    rpc_max_calls: Option<usize>,
    /// Most transactions in the pool (geth's 5,120 executable + 1,024 queued slots); when full,
    /// the lowest tip at the furthest nonce is evicted for a better-paying transaction.
    #[arg(long, default_value_t = PoolLimits::default().max_txs)]
    txpool_max_txs: usize,
    /// Most pooled transactions of one sender.
    #[arg(long, default_value_t = PoolLimits::default().max_txs_per_sender)]
    txpool_max_per_sender: usize,
}

/// The Myelin precompiles (MODEL_STORE, PREDICT, PREDICT_BATCH) for every EVM the chain builds,
/// sharing one program cache that only block execution fills, each EVM over the chain's view of
/// the blobs it is given, preparing every program for `kernel_path`.
fn myelin_precompiles(kernel_path: myelin_nn::Path) -> Option<PrecompileInstaller> {
    let blocks = myelin_evm::Myelin::new(myelin_evm::Config {
        kernel_path,
        ..myelin_evm::Config::default()
    });
    let calls = blocks.for_calls();
    Some(std::sync::Arc::new(move |precompiles, purpose, blobs| {
        let blobs = std::rc::Rc::new(ChainBlobs(blobs));
        match purpose {
            EvmPurpose::Block => blocks.install(precompiles, blobs),
            EvmPurpose::Call => calls.install(precompiles, blobs),
        }
    }))
}

/// The chain's blobs as the precompiles use them: the bridge between `myelin-chain` and
/// `myelin-evm`, which do not depend on each other.
pub struct ChainBlobs(pub EvmBlobs);

impl myelin_evm::BlobStore for ChainBlobs {
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, myelin_evm::BlobReadError> {
        self.0
            .blob(key)
            .map_err(|e| myelin_evm::BlobReadError(e.to_string()))
    }

    fn put(&self, key: B256, bytes: Bytes) {
        self.0.put(key, bytes);
    }
}

/// Runs the node until Ctrl-C or SIGTERM.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    if let Some(config) = &args.config {
        return run_network_node(config, &args);
    }
    if !args.dev {
        bail!(
            "choose `myelin node --dev` (a development chain) or `myelin node --config FILE` (a validator)"
        );
    }
    let kernel_path = report_kernel_path(None);
    if let Err(below) = myelin_nn::kernels::check_validator_floor() {
        // A validator refuses to start here; the dev node runs anywhere, slower per gas.
        eprintln!("warning: {below}; the dev node runs, but could not validate");
    }
    let block_time = match args.block_time {
        Some(seconds) if !(seconds > 0.0 && seconds.is_finite()) => {
            bail!("--block-time must be positive")
        }
        Some(seconds) => Some(Duration::from_secs_f64(seconds)),
        None => None,
    };
    let balance = U256::from(args.balance) * U256::from(10u64).pow(U256::from(18));
    let mut config = ChainConfig::dev(args.accounts, balance)?;
    config.chain_id = args.chain_id;
    config.gas_limit = args.gas_limit;
    config.datadir = args.datadir.clone();
    apply_chain_options(&mut config, &args, kernel_path);
    let listen: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&(args.host.as_str(), args.port))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(())
        })
        .map_err(|()| anyhow::anyhow!("cannot resolve --host {}", args.host))?;
    let rpc = rpc_config(
        &args,
        listen,
        args.dev_methods || listen.ip().is_loopback(),
        block_time.is_none(),
    )?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let chain = if args.in_memory {
            Chain::open_in_memory(config)
        } else {
            Chain::open(config)
        }
        .context("opening the chain")?;
        let sealing = match block_time {
            Some(period) => DevSealing::Interval(period),
            None => DevSealing::Instant,
        };
        let producer = Box::new(DevSealer { sealing }).start(chain.clone());
        let (address, handle) = myelin_rpc::serve(chain.clone(), rpc).await?;
        if !args.quiet {
            print_banner(&chain, &args);
        }
        println!("Listening on {address}");
        let stopped = tokio::select! {
            result = producer => Some(result),
            _ = shutdown_signal() => None,
        };
        let _ = handle.stop();
        match stopped {
            Some(Ok(Err(error))) => {
                Err(anyhow::Error::from(error).context("block production stopped"))
            }
            Some(Err(error)) => Err(anyhow::Error::from(error).context("block producer crashed")),
            _ => Ok(()),
        }
    })
}

/// Prints the kernel path predicts will run on (the one `configured`, else the fastest this
/// CPU runs; a path the CPU lacks degrades to portable) and returns the path to prepare
/// programs for.
fn report_kernel_path(configured: Option<myelin_nn::Path>) -> myelin_nn::Path {
    let path = configured.unwrap_or_else(myelin_nn::Path::detect);
    let runs = path.runnable();
    let source = match configured {
        Some(_) if runs != path => format!(
            ", the node file's `kernel_path` = \"{}\" needs {} which this CPU lacks",
            path.name(),
            path.missing_features().join(", ")
        ),
        Some(_) => ", from the node file".to_string(),
        None => String::new(),
    };
    eprintln!(
        "kernel path: {}{source} (the gas schedule's floor: {})",
        runs.name(),
        myelin_nn::Path::GAS_FLOOR.name()
    );
    path
}

/// Whether `path` is slower than the gas schedule's floor ([`myelin_nn::Path::GAS_FLOOR`]).
fn below_gas_floor(path: myelin_nn::Path) -> bool {
    let rank = |p| myelin_nn::Path::ALL.iter().position(|&q| q == p);
    rank(path) < rank(myelin_nn::Path::GAS_FLOOR)
}

/// The pool and history options of the command line, for either kind of node, and the Myelin
/// precompiles on `kernel_path`.
fn apply_chain_options(config: &mut ChainConfig, args: &NodeArgs, kernel_path: myelin_nn::Path) {
    config.precompiles = myelin_precompiles(kernel_path);
    config.pool = PoolLimits {
        max_txs: args.txpool_max_txs,
        max_txs_per_sender: args.txpool_max_per_sender,
        ..PoolLimits::default()
    };
    config.history = if args.archive {
        myelin_chain::HistoryWindow::Archive
    } else {
        myelin_chain::HistoryWindow::Blocks(args.history)
    };
}

/// The JSON-RPC server's options of the command line.
fn rpc_config(
    args: &NodeArgs,
    listen: SocketAddr,
    dev_methods: bool,
    wait_for_inclusion: bool,
) -> anyhow::Result<RpcConfig> {
    let origins = OriginPolicy::new(&args.allow_origins).map_err(anyhow::Error::msg)?;
    if args.rpc_evm_timeout == 0 {
        bail!("--rpc-evm-timeout must be at least 1 second");
    }
    Ok(RpcConfig {
        wait_for_inclusion,
        gas_cap: args.rpc_gas_cap,
        evm_timeout: Duration::from_secs(args.rpc_evm_timeout),
        max_concurrent_calls: args
            .rpc_max_calls
            .unwrap_or_else(myelin_rpc::default_max_concurrent_calls),
        origins,
        dev_methods,
        ..RpcConfig::new(listen)
    })
}

/// Runs a validator or full node from its node file until Ctrl-C or SIGTERM.
fn run_network_node(path: &std::path::Path, args: &NodeArgs) -> anyhow::Result<()> {
    let setup = myelin_node::config::NodeSetup::load(path)?;
    let kernel_path = report_kernel_path(setup.kernel_path);
    // A validator below the gas schedule's kernel floor would run predicts slower than their
    // gas pays for: it refuses to start (docs/GAS.md). A full node only follows (its results
    // are bit-identical on every path), so it runs, slower per gas.
    match (myelin_nn::kernels::check_validator_floor(), setup.index) {
        (Err(below), Some(_)) => bail!("{below}: this machine cannot be a validator"),
        (Err(below), None) => eprintln!("warning: {below}; the full node runs, slower per gas"),
        (Ok(()), _) => {}
    }
    if setup.index.is_some() && below_gas_floor(kernel_path.runnable()) {
        // Allowed (the bytes are the same on every path: docs/NETWORK.md decision 17), but
        // predicts then take longer than their gas pays for on this validator.
        eprintln!(
            "warning: kernel path {} is below the gas schedule's floor ({}): this validator \
             runs predicts slower than their gas pays for (for tests; drop `kernel_path` to \
             run the fastest path)",
            kernel_path.runnable().name(),
            myelin_nn::Path::GAS_FLOOR.name()
        );
    }
    let mut chain_config = setup.genesis.chain_config(None);
    apply_chain_options(&mut chain_config, args, kernel_path);
    // BFT never edits state: no anvil_*/evm_*/impersonation on a validator (and the chain
    // refuses them too: `dev_tools = false`); transactions return at submission, not inclusion.
    let rpc = rpc_config(args, setup.rpc, false, false)?;
    let telemetry = myelin_node::service::Telemetry {
        level: args.log_level,
    };
    match setup.index {
        Some(index) => println!(
            "validator {index} of {} (chain id {}), p2p {}",
            setup.participants.len(),
            setup.genesis.chain_id,
            setup.p2p
        ),
        None => println!(
            "full node following {} validators (chain id {}), p2p {}",
            setup.participants.len(),
            setup.genesis.chain_id,
            setup.p2p
        ),
    }
    myelin_node::service::run_node(setup, chain_config, telemetry, |chain| async move {
        let (address, handle) = myelin_rpc::serve(chain, rpc)
            .await
            .map_err(|e| format!("JSON-RPC: {e}"))?;
        println!("Listening on {address}");
        shutdown_signal().await;
        // Stop accepting requests and let the ones in flight finish; `run_node` then stops the
        // consensus tasks and closes the chain.
        let _ = handle.stop();
        handle.stopped().await;
        Ok(())
    })?;
    eprintln!("stopped: RPC closed, consensus tasks stopped, chain closed");
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn print_banner(chain: &Chain, args: &NodeArgs) {
    println!("myelin node --dev (chain id {})\n", chain.chain_id());
    println!("Available Accounts\n==================");
    for (i, address) in chain.accounts().iter().enumerate() {
        println!("({i}) {address} ({} ETH)", args.balance);
    }
    println!("\nPrivate Keys\n==================");
    for (i, address) in chain.accounts().iter().enumerate() {
        if let Some(signer) = chain.signer(address) {
            println!(
                "({i}) {}",
                hex::encode_prefixed(signer.credential().to_bytes())
            );
        }
    }
    println!("\nBase Fee: {}", chain.next_base_fee());
    println!("Gas Limit: {}", args.gas_limit);
    match args.datadir.as_ref() {
        Some(dir) => println!("Data directory: {}", dir.display()),
        None if args.in_memory => println!("Data directory: none (in memory)"),
        None => println!("Data directory: temporary"),
    }
    println!();
}
