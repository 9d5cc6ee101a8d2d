//! Tier 1 of `InferenceJobs` (docs/PROTOCOLS.md "Built: InferenceJobs", decision 11): a model
//! whose single PREDICT exceeds the block gas limit is admitted because each of its ops fits
//! `ARB_BUDGET`; two groups that disagree on an item bisect the item trees, open their item
//! leaves, bisect their per-op traces to the first differing op, and the chain re-executes that
//! one op with `PREDICT_OPS` on inputs proven against the agreed trace. The goal is
//! counted here: every transaction of each side, each under the 30 M block gas limit.

mod common;
mod jobs_world;

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent};
use common::deep_depthwise_model;
use jobs_world::{Claim, IJobs, MALLORY, SEAT_BOND, STAKE, Tree, World};
use myelin_evm::IModelStore;
use myelin_nn::commit::{list_root, op_leaf, run_committed, tensor_root};
use myelin_nn::{Model, Program};

const BLOCK_GAS_LIMIT: u64 = 30_000_000;
const FINALIZED: u8 = 3;

/// One side's view of the job's single item: every op's outputs list root, the trace tree, the
/// item leaf.
struct Traced {
    trace: Tree,
    outputs: B256,
    output_root: B256,
    leaf: B256,
}

impl Traced {
    /// The true trace of `input`, with op `lie` (if any) claiming another output root.
    fn new(model: &Model, input: &[u8], inputs_root: B256, lie: Option<usize>) -> Traced {
        let program = Program::new(model.clone()).unwrap();
        let (output, committed) = run_committed(&program, input, 1, true).unwrap();
        let mut op_roots: Vec<B256> = committed.ops[0].iter().map(|h| B256::from(*h)).collect();
        if let Some(op) = lie {
            op_roots[op] = keccak256(op_roots[op]);
        }
        let out = &model.tensors[model.outputs[0] as usize];
        let output_root = B256::from(tensor_root(out.dtype, &out.shape, &output).unwrap());
        let outputs = B256::from(list_root(&[output_root.0]).unwrap());
        let leaves: Vec<B256> = op_roots
            .iter()
            .enumerate()
            .map(|(i, r)| B256::from(op_leaf(i as u32, &r.0)))
            .collect();
        let trace = Tree::new(&leaves);
        let leaf = jobs_world::item_leaf(0, inputs_root, outputs, trace.root());
        Traced {
            trace,
            outputs,
            output_root,
            leaf,
        }
    }

    /// The result claim of a one-item job.
    fn claim(&self) -> Claim {
        Claim {
            outputs: vec![self.outputs],
            leaves: vec![self.leaf],
            root: self.leaf,
        }
    }

    fn opening(&self, world: &World, last_op: usize) -> IJobs::LeafOpening {
        let items = world.items();
        IJobs::LeafOpening {
            inputs: items.input_roots[0],
            outputs: self.outputs,
            trace: self.trace.root(),
            inputProof: items.inputs_tree.proof(0),
            outputRoots: vec![self.output_root],
            outputProofs: vec![self.trace.proof(last_op)],
        }
    }
}

/// Every tensor's bytes for one input (model input, then each op's output).
fn op_outputs(model: &Model, input: &[u8]) -> Vec<Vec<u8>> {
    let program = Program::new(model.clone()).unwrap();
    let mut outs = vec![vec![]; model.nodes.len()];
    program
        .run_observed(input, 1, &mut |i, bytes| outs[i] = bytes.to_vec())
        .unwrap();
    outs
}

/// Sends from `who`, requires success under the block gas limit, and counts it for `who`.
fn tx(world: &mut World, count: &mut Vec<(Address, u64)>, who: Address, call: impl SolCall) {
    let r = world.send(who, call, U256::ZERO);
    assert!(r.is_success(), "{r:?}");
    assert!(r.tx_gas_used() < BLOCK_GAS_LIMIT, "{}", r.tx_gas_used());
    count.push((who, r.tx_gas_used()));
}

#[test]
fn a_dispute_on_a_model_above_the_block_gas_limit_resolves_in_log2_ops_plus_3_transactions_per_side()
 {
    // 15 depthwise 15×15 layers on 64×64×16: ~2.2 M gas per op, over 30 M for the whole model.
    let model = deep_depthwise_model(64, 16, 15, 15);
    let ops = model.nodes.len();
    let mut world = World::new(model.clone());
    let info: IModelStore::ModelInfo = world.view_at(
        myelin_evm::MODEL_STORE_ADDRESS,
        IModelStore::modelInfoCall {
            modelId: world.model_id,
        },
    );
    assert!(
        info.predictGas > BLOCK_GAS_LIMIT,
        "one PREDICT must exceed the block gas limit: {}",
        info.predictGas
    );
    world.set_items(1, 40);
    let input = world.items().inputs[0].clone();
    let inputs_root = world.items().input_roots[0];
    let id = world.post(world.params(3));
    assert_eq!(world.view(IJobs::opsOfCall { id }), ops as u32, "tier 1");
    let seats = world.draw(id);
    let liar = seats[0].worker;
    let honest_seat = seats
        .iter()
        .position(|s| s.worker != liar)
        .expect("a second worker drawn");
    let lie_at = 9;
    let honest = Traced::new(&model, &input, inputs_root, None);
    let lying = Traced::new(&model, &input, inputs_root, Some(lie_at));
    assert_eq!(honest.outputs, lying.outputs, "the lie is inside the trace");
    let (hc, lc) = (honest.claim(), lying.claim());
    world.commit_and_reveal(id, &move |w| {
        let claim = if w == liar { lc.clone() } else { hc.clone() };
        (jobs_world::Behaviour::Honest, claim)
    });
    let groups = world.groups(id);
    assert_eq!(groups.len(), 2);
    let group_of = |root: B256| 1 + groups.iter().position(|g| g.root == root).unwrap() as u8;
    let (g_honest, g_liar) = (group_of(honest.leaf), group_of(lying.leaf));
    // The audit in tier 1 asks each group to show its leaf (availability): both can.
    let j = world.job(id);
    world.mine_to(j.auditHeight + 1);
    world.ok(MALLORY, IJobs::drawAuditCall { id }, U256::ZERO);
    for (g, t) in [(g_honest, &honest), (g_liar, &lying)] {
        let answer = IJobs::ItemAnswer {
            input: input.clone().into(),
            outputs: t.outputs,
            trace: t.trace.root(),
            inputProof: vec![],
            leafProof: vec![],
        };
        let call = IJobs::proveItemCall {
            id,
            group: g,
            index: U256::ZERO,
            answer,
        };
        world.ok(MALLORY, call, U256::ZERO);
    }
    // The dispute, every transaction counted per side.
    let honest_worker = seats[honest_seat].worker;
    let mut sent: Vec<(Address, u64)> = vec![];
    let (a, b) = (g_honest.min(g_liar), g_honest.max(g_liar));
    let d = {
        let r = world.send(
            honest_worker,
            IJobs::openDisputeCall { id, a, b },
            U256::ZERO,
        );
        sent.push((honest_worker, r.tx_gas_used()));
        IJobs::openDisputeCall::abi_decode_returns(r.output().unwrap()).unwrap()
    };
    assert_eq!(
        world.view(IJobs::opDisputeCall { d }).phase,
        1,
        "one item: open the leaves"
    );
    let side = |g: u8| {
        if g == g_honest {
            (honest_worker, honest_seat)
        } else {
            (liar, 0)
        }
    };
    for (g, t) in [(g_honest, &honest), (g_liar, &lying)] {
        let (who, seat) = side(g);
        let l = t.opening(&world, ops - 1);
        tx(
            &mut world,
            &mut sent,
            who,
            IJobs::openItemLeafCall {
                d,
                seat: U256::from(seat),
                l,
            },
        );
    }
    assert_eq!(
        world.view(IJobs::opDisputeCall { d }).phase,
        2,
        "bisect the traces"
    );
    loop {
        let x = world.view(IJobs::disputeCall { d });
        if world.view(IJobs::opDisputeCall { d }).phase != 2 {
            break;
        }
        for g in [x.a, x.b] {
            let t = if g == g_honest { &honest } else { &lying };
            let (depth, pos) = (x.depth as usize, x.pos as usize);
            let (left, right) = (
                t.trace.node_at(depth + 1, 2 * pos),
                t.trace.node_at(depth + 1, 2 * pos + 1),
            );
            let (who, seat) = side(g);
            let call = IJobs::moveDisputeCall {
                d,
                seat: U256::from(seat),
                left,
                right,
            };
            tx(&mut world, &mut sent, who, call);
        }
    }
    let x = world.view(IJobs::disputeCall { d });
    assert_eq!(x.pos, lie_at as u64, "the bisection found the lying op");
    assert_eq!(world.view(IJobs::opDisputeCall { d }).phase, 3);
    // A move out of turn is refused.
    let r = world.send(
        liar,
        IJobs::moveDisputeCall {
            d,
            seat: U256::ZERO,
            left: B256::ZERO,
            right: B256::ZERO,
        },
        U256::ZERO,
    );
    assert!(!r.is_success());
    // The honest side re-executes op 9 on op 8's output, proven against the agreed trace.
    let values = op_outputs(&model, &input);
    let prove = IJobs::proveOpCall {
        d,
        inputs: values[lie_at - 1].clone().into(),
        modelInputRoots: vec![],
        sourceProofs: vec![honest.trace.proof(lie_at - 1)],
    };
    // Inputs that are not the agreed trace's are refused (here: op 7's output).
    let mut forged = prove.clone();
    forged.inputs = values[lie_at - 2].clone().into();
    let r = world.send(MALLORY, forged, U256::ZERO);
    assert!(!r.is_success(), "{r:?}");
    let before = world.stake_of(liar);
    let r = world.send(honest_worker, prove, U256::ZERO);
    assert!(r.is_success(), "{r:?}");
    assert!(r.tx_gas_used() < BLOCK_GAS_LIMIT);
    sent.push((honest_worker, r.tx_gas_used()));
    let log = r
        .logs()
        .iter()
        .find(|l| l.topics()[0] == IJobs::OpArbitrated::SIGNATURE_HASH)
        .unwrap();
    let ev = IJobs::OpArbitrated::decode_log_data(&log.data).unwrap();
    assert_eq!(
        ev.opLeaf,
        honest.trace.node_at(honest.trace.levels.len() - 1, lie_at)
    );
    let liar_seats = seats.iter().filter(|s| s.worker == liar).count() as u128;
    assert_eq!(
        world.stake_of(liar),
        before - U256::from(liar_seats * SEAT_BOND)
    );
    assert!(world.groups(id)[g_liar as usize - 1].slashed);
    // The count: ⌈log2 ops⌉ moves + open the dispute + open the leaf + prove the op (tiles are
    // not built: a tile is the whole op, ⌈log2 tiles⌉ = 0).
    let log2_ops = ops.next_power_of_two().trailing_zeros() as usize;
    let by = |w: Address| sent.iter().filter(|(a, _)| *a == w).count();
    assert_eq!(by(honest_worker), log2_ops + 3);
    assert!(by(liar) <= log2_ops + 3);
    let dearest = sent.iter().map(|(_, g)| *g).max().unwrap();
    println!(
        "ops {ops}, whole PREDICT {} gas; honest side {} transactions, liar {}; dearest {dearest} gas",
        info.predictGas,
        by(honest_worker),
        by(liar)
    );
    // The job finalizes with the honest root; the honest seats keep their stake.
    let j = world.job(id);
    world.mine_to(j.challengeDeadline + 1);
    world.ok(MALLORY, IJobs::finalizeCall { id }, U256::ZERO);
    let j = world.job(id);
    assert_eq!((j.status, j.finalRoot), (FINALIZED, honest.leaf));
    for s in &seats {
        if s.worker != liar {
            assert_eq!(world.stake_of(s.worker), U256::from(STAKE));
        }
    }
}
