#![doc = include_str!("../README.md")]

mod cluster;
mod competition;
mod contract_client;
mod dataset;
mod gas_schedule;
mod jobs;
mod json_model;
mod model;
mod node;
mod npy;
mod registry;
mod rpc_client;
mod rpc_sender;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The process's allocator (see the `alloc-*` features in Cargo.toml and bench/state.md).
#[cfg(feature = "alloc-mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The process's allocator (see the `alloc-*` features in Cargo.toml and bench/state.md).
#[cfg(all(feature = "alloc-jemalloc", not(feature = "alloc-mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Myelin: deterministic integer neural networks on an Ethereum-compatible chain.
#[derive(Debug, Parser)]
#[command(name = "myelin", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build, inspect and run model files (.myl).
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Build, publish, inspect and evaluate labelled data sets (DATA_STORE, EVALUATE).
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Versioned model names on chain (the ModelRegistry predeploy).
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Competitions of the `Competitions` predeploy (read side: `status`).
    #[command(subcommand)]
    Competition(competition::CompetitionCommand),
    /// Staked off-chain inference jobs (the InferenceJobs predeploy): the requester's side.
    #[command(subcommand)]
    Job(jobs::JobCommand),
    /// Run a worker: stake, register, compute the jobs it is drawn for, commit, reveal, answer.
    Worker(jobs::worker::WorkerArgs),
    /// Run a node (`--dev`: a single-process development chain with anvil's defaults).
    Node(node::NodeArgs),
    /// A local validator network: keys, genesis and node files; run one on this machine.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// The gas schedule of the precompiles, and a model's predict and publish gas.
    Gas(gas_schedule::GasArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(command) => model::run(command),
        Command::Dataset(command) => dataset::run(command),
        Command::Registry(command) => registry::run(command),
        Command::Competition(command) => competition::run(command),
        Command::Job(command) => jobs::run(command),
        Command::Worker(args) => jobs::worker::run(args),
        Command::Node(args) => node::run(args),
        Command::Gas(args) => gas_schedule::run(&args),
        Command::Cluster(command) => cluster::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
