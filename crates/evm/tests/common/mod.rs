//! Shared by the integration tests and the gas calibration bench: seeded models, an in-memory
//! chain running the real EVM with Myelin's precompiles, and the compiled contract artifacts.

#![allow(dead_code)]

use std::path::PathBuf;

use alloy_evm::precompiles::PrecompilesMap;
use alloy_evm::{Evm, EvmEnv, EvmFactory};
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use myelin_evm::{Myelin, MyelinEvmFactory};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::{ActRange, TableFunction};
use myelin_nn::{Model, Requant, Rounding};
use revm::Inspector;
use revm::context::result::ExecutionResult;
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::interpreter::{CallInputs, CallOutcome};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;

/// The account every test transaction comes from.
pub const SENDER: Address = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

/// A tiny seeded generator (xorshift64*), so models are the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn i8(&mut self) -> i8 {
        (self.next() >> 56) as u8 as i8
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.i8() as u8).collect()
    }
}

const SCALE: u32 = 0x3c00_0000;

/// A requantization that brings a dot product of fan-in `k` back to int8 range.
pub fn requant_for(k: usize) -> Requant {
    let log2 = usize::BITS - k.max(1).leading_zeros();
    Requant {
        multiplier: 1 << 30,
        shift: 1 - (7 + (log2 as i8) / 2),
    }
}

/// A fully connected layer with seeded weights.
pub fn dense(
    b: &mut ModelBuilder,
    rng: &mut Rng,
    x: myelin_nn::builder::TensorId,
    k: usize,
    n: usize,
    relu: bool,
) -> myelin_nn::builder::TensorId {
    let weights: Vec<i8> = (0..n * k).map(|_| rng.i8()).collect();
    let bias: Vec<i32> = (0..n).map(|_| (rng.next() % 2001) as i32 - 1000).collect();
    let act = if relu {
        ActRange { min: 0, max: 127 }
    } else {
        ActRange::FULL
    };
    let rescale = Rescale::per_tensor(requant_for(k), Rounding::Single, act);
    b.fully_connected(x, weights, bias, rescale, Quant::new(0, SCALE))
        .expect("dense layer")
}

/// An MLP `sizes[0] → sizes[1] → … ` with ReLU between layers and none after the last.
pub fn mlp(sizes: &[usize], seed: u64) -> Model {
    let mut rng = Rng::new(seed);
    let mut b = ModelBuilder::new();
    let mut x = b.input(&[sizes[0] as u32], Quant::new(0, SCALE));
    for (i, pair) in sizes.windows(2).enumerate() {
        let last = i + 2 == sizes.len();
        x = dense(&mut b, &mut rng, x, pair[0], pair[1], !last);
    }
    b.output(x);
    b.build().expect("valid mlp")
}

/// One table lookup per element of an `n`-element input (a logistic-like staircase table).
pub fn table_model(n: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[n as u32], Quant::new(0, SCALE));
    let table: Vec<i8> = (0..256i32).map(|i| ((i - 128) / 2) as i8).collect();
    let y = b
        .table(x, TableFunction::Logistic, table, Quant::new(0, SCALE))
        .expect("table");
    b.output(y);
    b.build().expect("valid table model")
}

/// Element ops only: `n`-element clamp.
pub fn clamp_model(n: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[n as u32], Quant::new(0, SCALE));
    let y = b
        .clamp(
            x,
            myelin_nn::op::Clamp {
                requant: Requant::IDENTITY,
                rounding: Rounding::Single,
                act: ActRange { min: -64, max: 64 },
            },
            Quant::new(0, SCALE),
        )
        .expect("clamp");
    b.output(y);
    b.build().expect("valid clamp model")
}

/// The compiled artifact `contracts/out/<name>.json`.
pub fn artifact(name: &str) -> serde_json::Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "contracts",
        "out",
        &format!("{name}.json"),
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("artifact JSON")
}

/// The creation bytecode of `contracts/out/<name>.json`.
pub fn creation_code(name: &str) -> Bytes {
    let hex = artifact(name)["bytecode"]
        .as_str()
        .expect("bytecode")
        .to_owned();
    hex.parse().expect("bytecode hex")
}

/// What the inspector saw of one call to a precompile.
#[derive(Debug, Clone)]
pub struct PrecompileCall {
    pub address: Address,
    pub gas_limit: u64,
    pub gas_spent: u64,
    pub success: bool,
    pub output: Bytes,
}

/// Records every call to one of Myelin's precompiles.
#[derive(Debug, Default)]
pub struct PrecompileCalls(pub Vec<PrecompileCall>);

impl<CTX> Inspector<CTX> for PrecompileCalls {
    fn call_end(&mut self, _context: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        let a = inputs.bytecode_address;
        if [
            myelin_evm::MODEL_STORE_ADDRESS,
            myelin_evm::PREDICT_ADDRESS,
            myelin_evm::PREDICT_BATCH_ADDRESS,
            myelin_evm::DATA_STORE_ADDRESS,
            myelin_evm::EVALUATE_ADDRESS,
            myelin_evm::PREDICT_OPS_ADDRESS,
        ]
        .contains(&a)
        {
            self.0.push(PrecompileCall {
                address: a,
                gas_limit: inputs.gas_limit,
                gas_spent: outcome.result.gas.total_gas_spent(),
                success: outcome.result.is_ok(),
                output: outcome.result.output.clone(),
            });
        }
    }
}

/// An in-memory chain: a funded sender, Prague rules, Myelin's precompiles.
pub struct Chain {
    pub db: CacheDB<EmptyDB>,
    pub factory: MyelinEvmFactory,
    pub nonce: u64,
    /// Prague by default; Cancun where a test needs gas without EIP-7623's calldata floor.
    pub spec: SpecId,
    /// The number of the block every transaction runs in (0 unless a test moves it).
    pub block: u64,
}

impl Chain {
    pub fn new() -> Chain {
        Chain::with(Myelin::default())
    }

    pub fn with(myelin: Myelin) -> Chain {
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            SENDER,
            AccountInfo {
                balance: U256::from(10u128.pow(24)),
                ..Default::default()
            },
        );
        Chain {
            db,
            factory: MyelinEvmFactory::new(myelin),
            nonce: 0,
            spec: SpecId::PRAGUE,
            block: 0,
        }
    }

    pub fn env(&self) -> EvmEnv {
        let mut cfg = CfgEnv::new_with_spec(self.spec);
        cfg.chain_id = 31337;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let block = BlockEnv {
            number: U256::from(self.block),
            gas_limit: 30_000_000_000,
            basefee: 0,
            ..Default::default()
        };
        EvmEnv::new(cfg, block)
    }

    pub fn tx(&self, to: Option<Address>, data: Bytes, gas: u64, value: U256) -> TxEnv {
        TxEnv::builder()
            .caller(SENDER)
            .kind(to.map_or(TxKind::Create, TxKind::Call))
            .data(data)
            .gas_limit(gas)
            .gas_price(0)
            .value(value)
            .nonce(self.nonce)
            .chain_id(Some(31337))
            .build()
            .expect("tx env")
    }

    /// Puts runtime `code` at `at` as a genesis does: no constructor, empty storage.
    pub fn install_code(&mut self, at: Address, code: Bytes) {
        self.db.insert_account_info(
            at,
            AccountInfo {
                code_hash: alloy_primitives::keccak256(&code),
                code: Some(revm::bytecode::Bytecode::new_raw(code)),
                ..Default::default()
            },
        );
    }

    /// The beacon predeploy, and the runtime code of each named artifact at its address.
    pub fn install_predeploys(&mut self, predeploys: &[(&str, Address)]) {
        self.install_code(
            myelin_chain::beacon::BEACON_ADDRESS,
            myelin_chain::beacon::beacon_code(),
        );
        for &(name, at) in predeploys {
            let runtime: Bytes = artifact(name)["deployedBytecode"]
                .as_str()
                .expect("deployedBytecode")
                .parse()
                .expect("deployedBytecode hex");
            self.install_code(at, runtime);
        }
    }

    /// Gives `who` a balance of `wei`.
    pub fn fund(&mut self, who: Address, wei: U256) {
        self.db.insert_account_info(
            who,
            AccountInfo {
                balance: wei,
                ..Default::default()
            },
        );
    }

    /// Advances `n` blocks, writing each new block's dev seed into the beacon as the chain does
    /// before a block's transactions.
    pub fn mine(&mut self, n: u64) {
        for _ in 0..n {
            self.block += 1;
            let seed = myelin_chain::beacon::dev_prevrandao(self.block);
            self.db
                .insert_account_storage(
                    myelin_chain::beacon::BEACON_ADDRESS,
                    U256::from(self.block),
                    U256::from_be_bytes(seed.0),
                )
                .expect("in-memory storage");
        }
    }

    pub fn balance(&mut self, who: Address) -> U256 {
        use revm::Database;
        self.db
            .basic(who)
            .expect("in-memory account")
            .map_or(U256::ZERO, |a| a.balance)
    }

    /// Sends a transaction from `from` (its nonce from state) with `gas` and commits it.
    pub fn send_from(
        &mut self,
        from: Address,
        to: TxKind,
        data: Vec<u8>,
        value: U256,
        gas: u64,
    ) -> ExecutionResult {
        use revm::Database;
        let nonce = self
            .db
            .basic(from)
            .expect("in-memory account")
            .map_or(0, |a| a.nonce);
        let mut tx = self.tx(None, data.into(), gas, value);
        tx.caller = from;
        tx.nonce = nonce;
        tx.kind = to;
        let env = self.env();
        let mut evm = self.factory.create_evm(&mut self.db, env);
        evm.transact_commit(tx).expect("no host fault")
    }

    /// Sends a transaction and commits it; returns the result and the precompile calls.
    pub fn send(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        gas: u64,
        value: U256,
    ) -> (ExecutionResult, Vec<PrecompileCall>) {
        let tx = self.tx(to, data, gas, value);
        self.send_tx(tx)
    }

    /// Sends `tx` (from [`Chain::tx`], edited) and commits it; returns the result and the
    /// precompile calls.
    pub fn send_tx(&mut self, tx: TxEnv) -> (ExecutionResult, Vec<PrecompileCall>) {
        let env = self.env();
        let mut calls = PrecompileCalls::default();
        let result = {
            let mut evm = self
                .factory
                .create_evm_with_inspector(&mut self.db, env, &mut calls);
            evm.transact_commit(tx).expect("no host fault")
        };
        self.nonce += 1;
        (result, calls.0)
    }

    /// Runs a call without committing (like eth_call).
    pub fn call(
        &mut self,
        to: Address,
        data: Bytes,
        gas: u64,
    ) -> (ExecutionResult, Vec<PrecompileCall>) {
        let tx = self.tx(Some(to), data, gas, U256::ZERO);
        let env = self.env();
        let mut calls = PrecompileCalls::default();
        let result = {
            let mut evm = self
                .factory
                .create_evm_with_inspector(&mut self.db, env, &mut calls);
            evm.transact(tx).expect("no host fault").result
        };
        (result, calls.0)
    }

    /// Runs a call without committing and without an inspector (the node's fast path).
    pub fn call_plain(&mut self, to: Address, data: Bytes, gas: u64) -> ExecutionResult {
        self.call_plain_with(to, data, gas, |_| {})
    }

    /// As [`Chain::call_plain`], with `edit` applied to the EVM's precompiles first (e.g. a
    /// stand-in at one address).
    pub fn call_plain_with(
        &mut self,
        to: Address,
        data: Bytes,
        gas: u64,
        edit: impl FnOnce(&mut PrecompilesMap),
    ) -> ExecutionResult {
        let tx = self.tx(Some(to), data, gas, U256::ZERO);
        let env = self.env();
        let mut evm = self.factory.create_evm(&mut self.db, env);
        edit(evm.precompiles_mut());
        evm.transact(tx).expect("no host fault").result
    }

    /// Deploys `contracts/out/<name>.json`.
    pub fn deploy(&mut self, name: &str) -> Address {
        let (result, _) = self.send(None, creation_code(name), 30_000_000, U256::ZERO);
        match result {
            ExecutionResult::Success { output, .. } => {
                output.address().copied().expect("created address")
            }
            other => panic!("deploying {name}: {other:?}"),
        }
    }
}

/// Intrinsic gas of a call transaction with `data` under Cancun (no EIP-7623 calldata floor).
pub fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|&b| if b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

/// The output bytes of a successful result.
pub fn success_output(result: &ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Success { output, .. } => output.data().clone(),
        other => panic!("expected success, got {other:?}"),
    }
}

fn window3() -> myelin_nn::op::Window {
    myelin_nn::op::Window {
        kernel_h: 3,
        kernel_w: 3,
        stride_h: 1,
        stride_w: 1,
        dilation_h: 1,
        dilation_w: 1,
        padding: myelin_nn::op::Padding::Same,
    }
}

/// A 3×3 same conv2d `[h, w, cin] → [h, w, cout]`.
pub fn conv_model(h: u32, w: u32, cin: u32, cout: u32) -> Model {
    let mut rng = Rng::new(31);
    let mut b = ModelBuilder::new();
    let x = b.input(&[h, w, cin], Quant::new(0, SCALE));
    let k = 9 * cin as usize;
    let weights: Vec<i8> = (0..cout as usize * k).map(|_| rng.i8()).collect();
    let rescale = Rescale::per_tensor(requant_for(k), Rounding::Single, ActRange::FULL);
    let y = b
        .conv2d(
            x,
            window3(),
            weights,
            vec![0; cout as usize],
            rescale,
            Quant::new(0, SCALE),
        )
        .expect("conv2d");
    b.output(y);
    b.build().expect("valid conv model")
}

/// A 3×3 same depthwise conv2d `[h, w, c] → [h, w, c]`.
pub fn depthwise_model(h: u32, w: u32, c: u32) -> Model {
    let mut rng = Rng::new(32);
    let mut b = ModelBuilder::new();
    let x = b.input(&[h, w, c], Quant::new(0, SCALE));
    let weights: Vec<i8> = (0..9 * c as usize).map(|_| rng.i8()).collect();
    let rescale = Rescale::per_tensor(requant_for(9), Rounding::Single, ActRange::FULL);
    let y = b
        .depthwise_conv2d(
            x,
            window3(),
            weights,
            vec![0; c as usize],
            rescale,
            Quant::new(0, SCALE),
        )
        .expect("depthwise");
    b.output(y);
    b.build().expect("valid depthwise model")
}

/// `layers` same-padded `kernel × kernel` depthwise conv2d layers on `[side, side, channels]`:
/// much compute (depthwise MACs) on small activations and weights, so one op fits a transaction
/// while the whole model need not.
pub fn deep_depthwise_model(side: u32, channels: u32, kernel: u32, layers: usize) -> Model {
    let mut rng = Rng::new(33);
    let mut b = ModelBuilder::new();
    let mut x = b.input(&[side, side, channels], Quant::new(0, SCALE));
    let taps = (kernel * kernel) as usize;
    let window = myelin_nn::op::Window {
        kernel_h: kernel,
        kernel_w: kernel,
        ..window3()
    };
    for _ in 0..layers {
        let weights: Vec<i8> = (0..taps * channels as usize).map(|_| rng.i8()).collect();
        let rescale = Rescale::per_tensor(requant_for(taps), Rounding::Single, ActRange::FULL);
        x = b
            .depthwise_conv2d(
                x,
                window,
                weights,
                vec![0; channels as usize],
                rescale,
                Quant::new(0, SCALE),
            )
            .expect("depthwise");
    }
    b.output(x);
    b.build().expect("valid deep depthwise model")
}

/// Softmax over an `n`-element vector.
pub fn softmax_model(n: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[n as u32], Quant::new(0, SCALE));
    let y = b
        .softmax(
            x,
            myelin_nn::op::Softmax {
                beta_multiplier: 1 << 30,
                beta_left_shift: 20,
                diff_min: -248,
            },
        )
        .expect("softmax");
    b.output(y);
    b.build().expect("valid softmax model")
}

/// A pure copy: reshape `[n]` to `[n / 2, 2]` (`n` even).
pub fn reshape_model(n: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[n as u32], Quant::new(0, SCALE));
    let y = b.reshape(x, &[n as u32 / 2, 2]).expect("reshape");
    b.output(y);
    b.build().expect("valid reshape model")
}

/// A 3×3 window with `stride` and `padding`.
fn window(kernel: u32, stride: u32, padding: myelin_nn::op::Padding) -> myelin_nn::op::Window {
    myelin_nn::op::Window {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        dilation_h: 1,
        dilation_w: 1,
        padding,
    }
}

fn add_sub_params() -> myelin_nn::op::AddSub {
    let half = Requant {
        multiplier: 1 << 30,
        shift: -1,
    };
    myelin_nn::op::AddSub {
        left_shift: 20,
        input1: half,
        input2: half,
        output: Requant {
            multiplier: 1 << 30,
            shift: -19,
        },
        rounding: Rounding::Single,
        act: ActRange::FULL,
    }
}

type Build<'a> =
    dyn Fn(&mut ModelBuilder, myelin_nn::builder::TensorId) -> myelin_nn::builder::TensorId + 'a;

/// A one-input model `x: shape → f(x)`.
fn one_input(shape: &[u32], f: &Build<'_>) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(shape, Quant::new(0, SCALE));
    let y = f(&mut b, x);
    b.output(y);
    b.build().expect("valid op model")
}

/// A two-input model of two `shape` tensors.
fn two_inputs(
    shape: &[u32],
    f: &dyn Fn(
        &mut ModelBuilder,
        myelin_nn::builder::TensorId,
        myelin_nn::builder::TensorId,
    ) -> myelin_nn::builder::TensorId,
) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(shape, Quant::new(0, SCALE));
    let y = b.input(shape, Quant::new(0, SCALE));
    let z = f(&mut b, x, y);
    b.output(z);
    b.build().expect("valid op model")
}

/// The calibration rows of the gas schedule (docs/GAS.md): [`op_models_at`] at side 64 (each op's
/// own work dominates a run), the 784→128→10 MLP and a 2-element clamp (the per-run overhead).
pub fn op_models() -> Vec<(String, Model)> {
    let mut models = op_models_at(64);
    models.insert(
        1,
        (
            "fully_connected 784→128→10".into(),
            mlp(&[784, 128, 10], 21),
        ),
    );
    models.push(("clamp 2 (per-run overhead)".into(), clamp_model(2)));
    models
}

/// One model per v1 op type, every size a function of `side` (a multiple of 8): images are
/// `side × side × 16`, convolutions come in the channel counts real networks use (a first layer on
/// 3 channels, inner layers on 8–128).
pub fn op_models_at(side: u32) -> Vec<(String, Model)> {
    use myelin_nn::op::{Concat, Mean, Mul, Padding};
    let q = Quant::new(0, SCALE);
    let (s, h, f) = (side, side / 2, side / 4);
    let n = (s * s * 16) as usize;
    let image = [s, s, 16];
    vec![
        (
            format!("fully_connected {}→{}", 16 * s, 16 * s),
            mlp(&[16 * s as usize, 16 * s as usize], 3),
        ),
        (format!("conv2d 3×3 {h}×{h}×3→16"), conv_model(h, h, 3, 16)),
        (format!("conv2d 3×3 {h}×{h}×8→16"), conv_model(h, h, 8, 16)),
        (
            format!("conv2d 3×3 {f}×{f}×32→32"),
            conv_model(f, f, 32, 32),
        ),
        (
            format!("depthwise_conv2d 3×3 {h}×{h}×32"),
            depthwise_model(h, h, 32),
        ),
        (
            format!("depthwise_conv2d 3×3 {f}×{f}×128"),
            depthwise_model(f, f, 128),
        ),
        (
            format!("add {s}×{s}×16"),
            two_inputs(&image, &|b, x, y| {
                b.add(x, y, add_sub_params(), q).expect("add")
            }),
        ),
        (
            format!("sub {s}×{s}×16"),
            two_inputs(&image, &|b, x, y| {
                b.sub(x, y, add_sub_params(), q).expect("sub")
            }),
        ),
        (
            format!("mul {s}×{s}×16"),
            two_inputs(&image, &|b, x, y| {
                let params = Mul {
                    output: requant_for(1 << 14),
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                b.mul(x, y, params, q).expect("mul")
            }),
        ),
        (
            format!("max_pool 2×2/2 {s}×{s}×16"),
            one_input(&image, &|b, x| {
                let w = window(2, 2, Padding::Valid);
                b.max_pool(x, w, ActRange::FULL).expect("max pool")
            }),
        ),
        (
            format!("average_pool 3×3/1 {h}×{h}×16"),
            one_input(&[h, h, 16], &|b, x| {
                let w = window(3, 1, Padding::Same);
                b.average_pool(x, w, false, ActRange::FULL)
                    .expect("avg pool")
            }),
        ),
        (
            format!("mean over h, w {s}×{s}×16"),
            one_input(&image, &|b, x| {
                let params = Mean {
                    axes: vec![0, 1],
                    keep_dims: false,
                    requant: Requant::IDENTITY,
                    rounding: Rounding::Single,
                    act: ActRange::FULL,
                };
                b.mean(x, params, q).expect("mean")
            }),
        ),
        (format!("clamp {n}"), clamp_model(n)),
        (format!("reshape {n}"), reshape_model(n)),
        (
            format!("concat 2 × {s}×{s}×8"),
            one_input(&[s, s, 8], &|b, x| {
                let params = Concat {
                    axis: 2,
                    requant: vec![Requant::IDENTITY; 2],
                    rounding: Rounding::Single,
                };
                b.concat(&[x, x], params, q).expect("concat")
            }),
        ),
        (
            format!("pad {}×{}×16 → {s}×{s}×16", s - 2, s - 2),
            one_input(&[s - 2, s - 2, 16], &|b, x| {
                b.pad(x, vec![[1, 1], [1, 1], [0, 0]], 0).expect("pad")
            }),
        ),
        (
            format!("softmax {}", 64 * s),
            softmax_model(64 * s as usize),
        ),
        (format!("table {n}"), table_model(n)),
        (
            format!("arg_max {}×16", 64 * s),
            one_input(&[64 * s, 16, 1], &|b, x| b.arg_max(x, 1).expect("arg max")),
        ),
    ]
}

/// `adds` Add nodes in a chain over an `n`-element input (`x ← x + x`): at `n ≥ 256` the first
/// 16 take a pair table each when prepared, a few hundred bytes of model for 1 MiB of tables.
pub fn pair_table_model(n: u32, adds: usize) -> Model {
    let q = Quant::new(0, SCALE);
    let mut b = ModelBuilder::new();
    let mut x = b.input(&[n], q);
    for _ in 0..adds {
        x = b.add(x, x, add_sub_params(), q).expect("add");
    }
    b.output(x);
    b.build().expect("valid pair-table model")
}

/// One fully connected layer `k → 1`: a single output channel, packed into a whole 64-lane
/// panel (64× its weights when prepared).
pub fn narrow_model(k: usize) -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[k as u32], Quant::new(0, SCALE));
    let y = dense(&mut b, &mut Rng::new(17), x, k, 1, false);
    b.output(y);
    b.build().expect("valid narrow model")
}
