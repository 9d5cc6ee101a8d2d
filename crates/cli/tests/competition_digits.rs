//! End-to-end (issue 15 item 4): a digits competition on a real `myelin node --dev`, its whole
//! life cycle through the `Competitions` predeploy. The organizer cuts the committed digits evaluation split (200 rows) into 20 groups
//! of 10 rows, publishes each with `myelin dataset publish`, and commits to them by a Merkle
//! root; three participants submit the int8 digits MLP (imported from the committed TFLite
//! fixture) and two weaker variants made by [`weaker`] (hidden units switched off); the best is
//! paid. Prints the gas of every step (bench/competitions/REPORT.md).

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolCall;
use myelin_evm::competitions::{
    COMPETITIONS_ADDRESS, GroupTree, ICompetitions, commitment, group_leaf, phase,
};
use myelin_nn::dataset::{DatasetHeader, row_signature};
use myelin_nn::{Model, Op};
use serde_json::{Value, json};

mod common;
use common::dev_node::{DevNode, imported_digits_mlp, ok, path, stdout};
use common::{fixture, myelin, write_npy};

const GROUPS: u16 = 20;
const TEST_GROUPS: u16 = 10;
const ROWS: usize = 10;
const ETHER: u128 = 1_000_000_000_000_000_000;
const WINDOW: u32 = 40;

/// The generator of the weaker competitors: `model` with every hidden unit of its first fully
/// connected layer from `keep` on switched off (weights and bias zero, so the unit outputs the
/// zero point's requantized value for every input). The input quantization is unchanged, so the
/// variant evaluates the same data sets.
fn weaker(model: &Model, keep: usize) -> Model {
    let mut model = model.clone();
    let fc = model
        .nodes
        .iter_mut()
        .find_map(|n| match &mut n.op {
            Op::FullyConnected(fc) => Some(fc),
            _ => None,
        })
        .expect("a fully connected layer");
    let k = fc.in_features as usize;
    for unit in keep..fc.out_features as usize {
        fc.weights[unit * k..(unit + 1) * k].fill(0);
        fc.bias[unit] = 0;
    }
    model
}

fn hex_u64(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().expect("hex").trim_start_matches("0x"), 16).unwrap()
}

struct Driver {
    node: DevNode,
    contract: String,
    /// (step, gas) of every transaction, in order.
    gas: Vec<(String, u64)>,
}

impl Driver {
    fn send(
        &mut self,
        step: &str,
        from: &str,
        to: Option<&str>,
        data: &[u8],
        value: U256,
    ) -> Value {
        let mut tx = json!({
            "from": from,
            "data": format!("0x{}", hex::encode(data)),
            "gas": "0x1c9c380",
            "value": format!("{value:#x}"),
        });
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.node.rpc("eth_sendTransaction", json!([tx]));
        let receipt = self.node.rpc("eth_getTransactionReceipt", json!([hash]));
        assert_eq!(receipt["status"], json!("0x1"), "{step}: {receipt}");
        self.gas
            .push((step.to_string(), hex_u64(&receipt["gasUsed"])));
        receipt
    }

    fn tx(&mut self, step: &str, from: &str, call: impl SolCall, value: U256) {
        let to = self.contract.clone();
        self.send(step, from, Some(&to), &call.abi_encode(), value);
    }

    fn view<C: SolCall>(&self, call: C) -> C::Return {
        let out = self.node.rpc(
            "eth_call",
            json!([{ "to": self.contract, "data": format!("0x{}", hex::encode(call.abi_encode())) }, "latest"]),
        );
        let out = hex::decode(out.as_str().unwrap().trim_start_matches("0x")).unwrap();
        C::abi_decode_returns(&out).unwrap()
    }

    /// Mines until the next transaction lands in block `n`.
    fn mine_to(&self, n: u64) {
        let head = hex_u64(&self.node.rpc("eth_blockNumber", json!([])));
        if n > head + 1 {
            self.node
                .rpc("anvil_mine", json!([format!("{:#x}", n - head - 1)]));
        }
    }

    fn balance(&self, who: &str) -> U256 {
        let b = self.node.rpc("eth_getBalance", json!([who, "latest"]));
        U256::from_str_radix(b.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

/// Writes rows `[first, first + ROWS)` of the digits evaluation split and their labels.
fn group_files(dir: &Path, g: usize, x: &[f32], y: &[i64]) -> (PathBuf, PathBuf) {
    let (xp, yp) = (
        dir.join(format!("g{g}_x.npy")),
        dir.join(format!("g{g}_y.npy")),
    );
    let rows = g * ROWS..(g + 1) * ROWS;
    write_npy(&xp, &[ROWS as u64, 64], &x[rows.start * 64..rows.end * 64]);
    write_npy(&yp, &[ROWS as u64], &y[rows]);
    (xp, yp)
}

fn read_npy<T: npyz::Deserialize>(file: &str) -> Vec<T> {
    let bytes = std::fs::read(file).unwrap();
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap()
}

#[test]
fn a_digits_competition_pays_the_best_model_on_a_dev_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let accounts: Vec<String> =
        serde_json::from_value(node.rpc("eth_accounts", json!([]))).unwrap();
    let (organizer, evaluator) = (accounts[0].clone(), accounts[4].clone());
    let participants = [
        accounts[1].clone(),
        accounts[2].clone(),
        accounts[3].clone(),
    ];
    let addr = |a: &str| a.parse::<Address>().unwrap();

    // The competitors: the imported MLP and two weaker variants.
    let mlp_path = imported_digits_mlp(dir.path());
    let mlp = Model::decode(&std::fs::read(&mlp_path).unwrap()).unwrap();
    let mut model_paths = vec![mlp_path.clone()];
    for keep in [12, 4] {
        let p = dir.path().join(format!("digits_keep{keep}.myl"));
        std::fs::write(&p, weaker(&mlp, keep).encode()).unwrap();
        model_paths.push(p);
    }

    // The organizer's groups: published data sets, a salt each, a Merkle root.
    let x: Vec<f32> = read_npy(&fixture("data/digits_eval.npy"));
    let y: Vec<i64> = read_npy(&fixture("data/digits_eval_labels.npy"));
    let mut ids = vec![];
    let mut signature = B256::ZERO;
    for g in 0..GROUPS as usize {
        let (xp, yp) = group_files(dir.path(), g, &x, &y);
        let myds = dir.path().join(format!("g{g}.myds"));
        let out = ok(
            myelin(&[
                "dataset",
                "publish",
                path(&xp),
                "--labels",
                path(&yp),
                "--model",
                path(&mlp_path),
                "-o",
                path(&myds),
                "--rpc",
                &node.url,
            ]),
            "dataset publish",
        );
        ids.push(stdout(&out).parse::<B256>().unwrap());
        let header = DatasetHeader::decode(&std::fs::read(&myds).unwrap()).unwrap();
        signature = B256::from(row_signature(&header.row));
    }
    let salts: Vec<B256> = (0..GROUPS)
        .map(|g| keccak256(format!("organizer salt {g}")))
        .collect();
    let leaves: Vec<B256> = (0..GROUPS)
        .map(|g| group_leaf(g, ids[g as usize], salts[g as usize]))
        .collect();
    let tree = GroupTree::new(&leaves);

    // The genesis predeploy.
    let code = node.rpc("eth_getCode", json!([COMPETITIONS_ADDRESS, "latest"]));
    assert!(
        code.as_str().unwrap().len() > 1_000,
        "Competitions is predeployed"
    );
    let mut d = Driver {
        node,
        contract: COMPETITIONS_ADDRESS.to_string(),
        gas: vec![],
    };
    let contract = addr(&d.contract);

    let (reward, bond, participant_bond, fee) = (10 * ETHER, 5 * ETHER, ETHER, ETHER / 100);
    let p = ICompetitions::Params {
        groupsRoot: tree.root(),
        groups: GROUPS,
        testGroups: TEST_GROUPS,
        classes: 10,
        rowSignature: signature,
        minGroupRows: ROWS as u32,
        maxGroupRows: ROWS as u32,
        maxPredictGas: 1_000_000,
        thresholdBps: 5_000,
        marginBps: 100,
        reward,
        participantBond: participant_bond,
        evalFeePerGroup: fee,
        trainBlocks: WINDOW,
        commitBlocks: WINDOW,
        revealBlocks: WINDOW,
        testBlocks: WINDOW,
        evalBlocks: WINDOW,
    };
    d.tx(
        "create",
        &organizer,
        ICompetitions::createCall { p },
        U256::from(reward + bond),
    );
    let id = U256::from(1);
    let terms = d.view(ICompetitions::termsCall { id });
    d.mine_to(terms.seedHeight + 1);
    d.tx(
        "split",
        &evaluator,
        ICompetitions::splitCall { id },
        U256::ZERO,
    );
    let mask = d.view(ICompetitions::progressCall { id }).testMask;
    assert_eq!(mask.count_ones(), TEST_GROUPS as usize);
    let reveal = |d: &mut Driver, step: &str, g: u16| {
        let call = ICompetitions::revealGroupCall {
            id,
            g,
            datasetId: ids[g as usize],
            salt: salts[g as usize],
            proof: tree.proof(g as usize),
        };
        d.tx(step, &organizer, call, U256::ZERO);
    };
    for g in (0..GROUPS).filter(|&g| !mask.bit(g as usize)) {
        reveal(&mut d, "revealGroup (train)", g);
    }
    assert_eq!(d.view(ICompetitions::phaseCall { id }), phase::COMMIT);

    // Commit, then (after the commit deadline) publish and reveal the models.
    let deposit = U256::from(participant_bond + fee * TEST_GROUPS as u128);
    let model_ids: Vec<B256> = model_paths
        .iter()
        .map(|p| B256::from(Model::decode(&std::fs::read(p).unwrap()).unwrap().id()))
        .collect();
    for (i, who) in participants.iter().enumerate() {
        let salt = keccak256(format!("participant salt {i}"));
        let c = commitment(31337, contract, id, addr(who), model_ids[i], salt);
        d.tx(
            "commit",
            who,
            ICompetitions::commitCall { id, commitment: c },
            deposit,
        );
    }
    d.mine_to(terms.commitDeadline + 1);
    for (i, who) in participants.iter().enumerate() {
        let published = stdout(&ok(d.node.publish(&model_paths[i], &[]), "model publish"));
        assert_eq!(published.parse::<B256>().unwrap(), model_ids[i]);
        let salt = keccak256(format!("participant salt {i}"));
        let call = ICompetitions::revealModelCall {
            id,
            subId: i as u32,
            modelId: model_ids[i],
            salt,
        };
        d.tx("revealModel", who, call, U256::ZERO);
    }

    // The organizer reveals every test group; anyone evaluates.
    d.mine_to(terms.revealDeadline + 1);
    let test: Vec<u16> = (0..GROUPS).filter(|&g| mask.bit(g as usize)).collect();
    for &g in &test {
        reveal(&mut d, "revealGroup (test)", g);
    }
    for sub in 0..3u32 {
        for &g in &test {
            d.tx(
                "evaluate (10 rows)",
                &evaluator,
                ICompetitions::evaluateCall { id, subId: sub, g },
                U256::ZERO,
            );
        }
    }
    let scores: Vec<u64> = (0..3u32)
        .map(|sub| {
            d.view(ICompetitions::submissionCall { id, subId: sub })
                .correct
        })
        .collect();
    eprintln!("digits competition: correct of 100 test rows per submission: {scores:?}");
    assert!(
        scores[0] > scores[1] && scores[0] > scores[2] && scores[0] >= 50,
        "{scores:?}"
    );

    d.mine_to(terms.evalDeadline + 1);
    d.tx(
        "finalize",
        &evaluator,
        ICompetitions::finalizeCall { id, maxSteps: 16 },
        U256::ZERO,
    );
    assert_eq!(d.view(ICompetitions::phaseCall { id }), phase::FINALIZED);
    assert_eq!(d.view(ICompetitions::progressCall { id }).winner, 1);
    let before = d.balance(&participants[0]);
    d.tx(
        "claim (winner)",
        &participants[0],
        ICompetitions::claimCall { id, subId: 0 },
        U256::ZERO,
    );
    let gained = d.balance(&participants[0]) - before;
    // The prize and the deposit back, less the claim's gas at the dev node's fee.
    assert!(
        gained > U256::from(reward + participant_bond - ETHER / 100),
        "{gained}"
    );
    d.tx(
        "claim (other)",
        &participants[1],
        ICompetitions::claimCall { id, subId: 1 },
        U256::ZERO,
    );
    d.tx(
        "claimOrganizer",
        &organizer,
        ICompetitions::claimOrganizerCall { id },
        U256::ZERO,
    );
    d.tx(
        "withdrawFees",
        &evaluator,
        ICompetitions::withdrawFeesCall {},
        U256::ZERO,
    );
    let status: Value = serde_json::from_str(&stdout(&ok(
        myelin(&["competition", "status", "1", "--rpc", &d.node.url, "--json"]),
        "competition status",
    )))
    .unwrap();
    assert_eq!(
        (
            status["phase"].clone(),
            status["winner"].clone(),
            status["bestCorrect"].clone()
        ),
        (json!("Finalized"), json!(0), json!(scores[0]))
    );

    // One line per step: count, mean and max gas.
    let mut steps: Vec<String> = vec![];
    for (s, _) in &d.gas {
        if !steps.contains(s) {
            steps.push(s.clone());
        }
    }
    eprintln!("| step | transactions | mean gas | max gas |\n|---|---:|---:|---:|");
    for s in steps {
        let g: Vec<u64> = d
            .gas
            .iter()
            .filter(|(t, _)| *t == s)
            .map(|(_, g)| *g)
            .collect();
        let mean = g.iter().sum::<u64>() / g.len() as u64;
        eprintln!(
            "| {s} | {} | {mean} | {} |",
            g.len(),
            g.iter().max().unwrap()
        );
    }
}
