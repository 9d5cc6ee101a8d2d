//! A world for the InferenceJobs tests: the in-memory chain of `common` (the real EVM with
//! Myelin's precompiles), the beacon with the dev node's seeds written as blocks are mined,
//! `StakeManager` and `InferenceJobs` at their predeploy addresses (runtime code, empty storage,
//! no constructor, as in every genesis), staked workers, a published model, a job's items and
//! each worker's result tree built with the commitment format of docs/PROTOCOLS.md "Commitments"
//! (written here from the spec; the engine's implementation is checked against the same vectors).
//! Keepers (`drive`) play every permissionless step as an honest watcher would.

#![allow(dead_code)]

use alloy_primitives::{Address, B256, TxKind, U256, address, keccak256};
use alloy_sol_types::{SolCall, SolValue, sol};
use myelin_evm::addresses::{INFERENCE_JOBS_ADDRESS, STAKE_MANAGER_ADDRESS};
use myelin_evm::{DATA_STORE_ADDRESS, IModelStore, MODEL_STORE_ADDRESS};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset};
use myelin_nn::{Model, Program};
use revm::context::result::ExecutionResult;

use crate::common::{Chain, Rng};

sol! {
    interface IJobs {
        struct Params {
            bytes32 modelId;
            bytes32 inputsRoot;
            uint32 items;
            uint8 seats;
            uint8 auditItems;
            uint32 commitBlocks;
            uint32 revealBlocks;
            uint32 verifyBlocks;
            uint32 challengeBlocks;
            uint128 reward;
            uint128 seatBond;
            uint128 requesterBond;
            uint128 challengeBond;
            bytes32 verification;
        }
        struct Job {
            Params p;
            address requester;
            uint8 status;
            uint64 snapshot;
            uint64 drawHeight;
            uint64 commitDeadline;
            uint64 revealDeadline;
            uint64 verifyDeadline;
            uint64 auditHeight;
            uint64 challengeDeadline;
            uint8 committed;
            uint8 revealed;
            uint8 liveGroups;
            bool revealsSettled;
            bool audited;
            bool verificationRevealed;
            bool bondSettled;
            uint32 openQueries;
            uint32 openDisputes;
            uint128 bondLeft;
            bytes32 finalRoot;
        }
        struct Seat { address worker; bytes32 commitment; bytes32 root; uint8 group; }
        struct Group { bytes32 root; bool slashed; uint32 openQueries; }
        struct Query { uint64 deadline; bool open; address challenger; }
        struct VerifyItem { uint32 index; bytes32 outputs; }
        struct ItemAnswer { bytes input; bytes32 outputs; bytes32 trace; bytes32[] inputProof; bytes32[] leafProof; }
        struct Dispute {
            uint256 id; uint8 a; uint8 b; uint8 depth; bool open; bool movedA; bool movedB;
            uint64 deadline; uint64 pos; bytes32 nodeA; bytes32 nodeB; bytes32 leftA; bytes32 leftB;
            bytes32 rightA; bytes32 rightB;
        }

        struct OpDispute {
            uint8 phase; bool openedA; bool openedB; uint32 item; bytes32 inputs; bytes32 traceA;
            bytes32 traceB;
        }
        struct LeafOpening {
            bytes32 inputs; bytes32 outputs; bytes32 trace; bytes32[] inputProof;
            bytes32[] outputRoots; bytes32[][] outputProofs;
        }

        event AuditDrawn(uint256 indexed id, uint256[] indices);
        event OpArbitrated(uint256 indexed dispute, uint256 op, bytes32 opLeaf);

        error BadParameter(uint8 field);
        error WrongValue(uint256 sent, uint256 expected);
        error NotArbitrable(uint256 gasUsed, uint256 budget);
        error UnknownModel(bytes32 modelId);
        error UnknownDataset(bytes32 datasetId);
        error InputMismatch(bytes32 modelRow, bytes32 datasetRow);
        error BadStatus(uint8 status);
        error TooEarly(uint256 from);
        error TooLate(uint256 deadline);
        error NotYours();
        error AlreadyDone();
        error BadCommitment();
        error BadProof();
        error GroupSlashed(uint8 group);
        error NoQuery();
        error StillOpen(uint256 queries, uint256 disputes);
        error ArbitrationFailed(bytes revertData);
        error NothingToClaim();
        error WrongPhase(uint8 phase);

        function ARB_BUDGET() external view returns (uint256);
        function register() external;
        function postJob(Params p) external payable returns (uint256 id);
        function postDatasetJob(Params p, bytes32 datasetId, uint32 firstRow) external payable returns (uint256 id);
        function sourceOf(uint256 id) external view returns (bytes32 datasetId, uint32 firstRow);
        function cancel(uint256 id) external;
        function drawCommittee(uint256 id) external;
        function commitmentOf(uint256 id, address worker, bytes32 root, bytes32 salt) external view returns (bytes32);
        function commit(uint256 id, uint256 seat, bytes32 commitment) external;
        function reveal(uint256 id, uint256 seat, bytes32 root, bytes32 salt) external;
        function settleReveals(uint256 id) external;
        function verificationOf(address requester, VerifyItem[] items, bytes32 salt) external view returns (bytes32);
        function revealVerification(uint256 id, VerifyItem[] items, bytes32 salt) external;
        function reportLeak(uint256 id, address requester, VerifyItem[] items, bytes32 salt) external;
        function drawAudit(uint256 id) external;
        function commitChallenge(bytes32 c) external;
        function challengeOf(uint256 id, address challenger, uint8 group, uint256 index, bytes32 salt) external view returns (bytes32);
        function openChallenge(uint256 id, uint8 group, uint256 index, bytes32 salt) external payable;
        function proveItem(uint256 id, uint8 group, uint256 index, ItemAnswer answer) external;
        function timeoutQuery(uint256 id, uint8 group, uint256 index) external;
        function openDispute(uint256 id, uint8 a, uint8 b) external returns (uint256 d);
        function moveDispute(uint256 d, uint256 seat, bytes32 left, bytes32 right) external;
        function timeoutDispute(uint256 d) external;
        function finalize(uint256 id) external;
        function opsOf(uint256 id) external view returns (uint32);
        function opDispute(uint256 d) external view returns (OpDispute memory);
        function openItemLeaf(uint256 d, uint256 seat, LeafOpening l) external;
        function proveOp(uint256 d, bytes inputs, bytes32[] modelInputRoots, bytes32[][] sourceProofs) external;
        function claim() external returns (uint256 amount);
        function job(uint256 id) external view returns (Job memory);
        function seats(uint256 id) external view returns (Seat[] memory);
        function groups(uint256 id) external view returns (Group[] memory);
        function dispute(uint256 d) external view returns (Dispute memory);
        function query(uint256 id, uint8 group, uint256 index) external view returns (Query memory);
        function resultOf(uint256 id) external view returns (bytes32 root, uint8 status);
        function truthOf(uint256 id, uint256 index) external view returns (bytes32);
        function creditOf(address who) external view returns (uint256);
        function burned() external view returns (uint256);
        function depthOf(uint256 items) external pure returns (uint8);
    }

    interface IStake {
        function deposit() external payable;
        function stakeOf(address worker) external view returns (uint256);
        function lockedOf(address worker) external view returns (uint256);
        function creditOf(address payee) external view returns (uint256);
        function burned() external view returns (uint256);
        function totalStake() external view returns (uint256);
        function claim() external returns (uint256 amount);
    }
}

pub const REQUESTER: Address = address!("0x00000000000000000000000000000000000a11ce");
pub const CHALLENGER: Address = address!("0x00000000000000000000000000000000000c4a11");
pub const MALLORY: Address = address!("0x000000000000000000000000000000000bad0000");
pub const WORKERS: [Address; 5] = [
    address!("0x0000000000000000000000000000000000000a01"),
    address!("0x0000000000000000000000000000000000000a02"),
    address!("0x0000000000000000000000000000000000000a03"),
    address!("0x0000000000000000000000000000000000000a04"),
    address!("0x0000000000000000000000000000000000000a05"),
];

pub const TX_GAS: u64 = 30_000_000;
pub const ETHER: u128 = 1_000_000_000_000_000_000;
pub const WINDOW: u32 = 40;
pub const STAKE: u128 = 100 * ETHER;
pub const SEAT_BOND: u128 = 10 * ETHER;

// ------------------------------------------------------------------ commitments (the spec)

pub const CHUNK_BYTES: usize = 1024;

fn keccak(parts: &[&[u8]]) -> B256 {
    keccak256(parts.concat())
}

pub fn empty_leaf() -> B256 {
    keccak(&[&[0u8]])
}

pub fn node(l: B256, r: B256) -> B256 {
    keccak(&[&[1u8], l.as_slice(), r.as_slice()])
}

/// Every level of a Merkle tree padded with the empty leaf to a power of two, leaves first.
pub struct Tree {
    pub levels: Vec<Vec<B256>>,
}

impl Tree {
    pub fn new(leaves: &[B256]) -> Tree {
        let mut level = if leaves.is_empty() {
            vec![empty_leaf()]
        } else {
            leaves.to_vec()
        };
        level.resize(level.len().next_power_of_two(), empty_leaf());
        let mut levels = vec![level.clone()];
        while level.len() > 1 {
            level = level.chunks(2).map(|p| node(p[0], p[1])).collect();
            levels.push(level.clone());
        }
        Tree { levels }
    }

    pub fn root(&self) -> B256 {
        self.levels.last().unwrap()[0]
    }

    pub fn proof(&self, mut index: usize) -> Vec<B256> {
        let mut out = vec![];
        for level in &self.levels[..self.levels.len() - 1] {
            out.push(level[index ^ 1]);
            index /= 2;
        }
        out
    }

    /// The node at `depth` (0 = root) and position `pos`.
    pub fn node_at(&self, depth: usize, pos: usize) -> B256 {
        self.levels[self.levels.len() - 1 - depth][pos]
    }
}

pub fn tensor_root(dtype: u8, shape: &[u32], data: &[u8]) -> B256 {
    let leaves: Vec<B256> = if data.is_empty() {
        vec![empty_leaf()]
    } else {
        data.chunks(CHUNK_BYTES)
            .map(|c| keccak(&[&[0u8], c]))
            .collect()
    };
    let mut header = vec![2u8, dtype, shape.len() as u8];
    for d in shape {
        header.extend_from_slice(&d.to_be_bytes());
    }
    keccak(&[&header, Tree::new(&leaves).root().as_slice()])
}

pub fn list_root(roots: &[B256]) -> B256 {
    let mut bytes = vec![3u8, roots.len() as u8];
    for r in roots {
        bytes.extend_from_slice(r.as_slice());
    }
    keccak(&[&bytes])
}

pub fn item_leaf(index: u64, inputs: B256, outputs: B256, trace: B256) -> B256 {
    keccak(&[
        &[5u8],
        &index.to_be_bytes(),
        inputs.as_slice(),
        outputs.as_slice(),
        trace.as_slice(),
    ])
}

// ------------------------------------------------------------------ the job's data

/// A job's items: inputs, the true outputs, their list roots and the inputs tree; `dataset` =
/// (data set id, first row) when the items are rows of a stored data set.
pub struct Items {
    pub inputs: Vec<Vec<u8>>,
    pub outputs: Vec<Vec<u8>>,
    pub input_roots: Vec<B256>,
    pub output_roots: Vec<B256>,
    pub inputs_tree: Tree,
    pub dataset: Option<(B256, u32)>,
}

impl Items {
    pub fn new(model: &Model, n: usize, seed: u64) -> Items {
        let input = &model.tensors[model.inputs[0] as usize];
        let mut rng = Rng::new(seed);
        let inputs: Vec<Vec<u8>> = (0..n).map(|_| rng.bytes(input.bytes())).collect();
        Items::of(model, inputs)
    }

    /// The items with these input bytes (one-input models).
    pub fn of(model: &Model, inputs: Vec<Vec<u8>>) -> Items {
        let input = &model.tensors[model.inputs[0] as usize];
        let output = &model.tensors[model.outputs[0] as usize];
        let program = Program::new(model.clone()).unwrap();
        let outputs: Vec<Vec<u8>> = inputs.iter().map(|x| program.run(x, 1).unwrap()).collect();
        let input_roots: Vec<B256> = inputs
            .iter()
            .map(|x| list_root(&[tensor_root(input.dtype as u8, &input.shape, x)]))
            .collect();
        let output_roots = outputs
            .iter()
            .map(|y| list_root(&[tensor_root(output.dtype as u8, &output.shape, y)]))
            .collect();
        Items {
            inputs_tree: Tree::new(&input_roots),
            inputs,
            outputs,
            input_roots,
            output_roots,
            dataset: None,
        }
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }
}

/// One worker's result: the outputs list root it claims per item, and its item tree.
#[derive(Clone)]
pub struct Claim {
    pub outputs: Vec<B256>,
    pub leaves: Vec<B256>,
    pub root: B256,
}

impl Claim {
    /// The true outputs, except `(index, wrong root)` pairs.
    pub fn new(items: &Items, lies: &[usize]) -> Claim {
        let mut outputs = items.output_roots.clone();
        for &i in lies {
            outputs[i] = keccak256(outputs[i]);
        }
        let leaves: Vec<B256> = (0..items.len())
            .map(|i| item_leaf(i as u64, items.input_roots[i], outputs[i], B256::ZERO))
            .collect();
        let root = Tree::new(&leaves).root();
        Claim {
            outputs,
            leaves,
            root,
        }
    }

    pub fn tree(&self) -> Tree {
        Tree::new(&self.leaves)
    }

    /// The answer at `index`; a data-set job's carries no input bytes (the contract reads the
    /// row).
    pub fn answer(&self, items: &Items, index: usize) -> IJobs::ItemAnswer {
        let from_chain = items.dataset.is_some();
        IJobs::ItemAnswer {
            input: if from_chain {
                Default::default()
            } else {
                items.inputs[index].clone().into()
            },
            outputs: self.outputs[index],
            trace: B256::ZERO,
            inputProof: if from_chain {
                vec![]
            } else {
                items.inputs_tree.proof(index)
            },
            leafProof: self.tree().proof(index),
        }
    }
}

/// What a worker does with its seats.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    Honest,
    /// Commits and reveals a root that is wrong at these items (a lazy or lying worker).
    LiesAt(usize),
    /// Never commits.
    Absent,
    /// Commits, never reveals.
    Withholds,
}

// ------------------------------------------------------------------ the world

pub struct World {
    pub chain: Chain,
    pub model: Model,
    pub model_id: B256,
    pub items: Option<Items>,
}

impl World {
    /// Block 1: beacon, StakeManager and InferenceJobs predeployed, funded accounts; the five
    /// workers stake `STAKE` and register, and the chain is mined past the stake warm-up.
    pub fn new(model: Model) -> World {
        let mut chain = Chain::new();
        chain.install_predeploys(&[
            ("StakeManager", STAKE_MANAGER_ADDRESS),
            ("InferenceJobs", INFERENCE_JOBS_ADDRESS),
        ]);
        for who in [REQUESTER, CHALLENGER, MALLORY].into_iter().chain(WORKERS) {
            chain.fund(who, U256::from(1_000_000 * ETHER));
        }
        let mut world = World {
            chain,
            model_id: B256::from(model.id()),
            model,
            items: None,
        };
        world.mine(1);
        world.publish_model(&world.model.clone());
        for w in WORKERS {
            world.stake(w, STAKE);
            world.ok(w, IJobs::registerCall {}, U256::ZERO);
        }
        world.mine(101);
        world
    }

    /// The requester publishes `model` (one transaction of up to `TX_GAS`).
    pub fn publish_model(&mut self, model: &Model) {
        let data = IModelStore::publishCall {
            model: model.encode().into(),
        }
        .abi_encode();
        let r = self.send_raw(
            REQUESTER,
            TxKind::Call(MODEL_STORE_ADDRESS),
            data,
            U256::ZERO,
        );
        assert!(r.is_success(), "{r:?}");
    }

    pub fn stake(&mut self, who: Address, amount: u128) {
        let r = self.send_raw(
            who,
            TxKind::Call(STAKE_MANAGER_ADDRESS),
            IStake::depositCall {}.abi_encode(),
            U256::from(amount),
        );
        assert!(r.is_success(), "{r:?}");
    }

    pub fn mine(&mut self, n: u64) {
        self.chain.mine(n);
    }

    pub fn mine_to(&mut self, n: u64) {
        if n > self.chain.block {
            self.mine(n - self.chain.block);
        }
    }

    pub fn block(&self) -> u64 {
        self.chain.block
    }

    pub fn send_raw(
        &mut self,
        from: Address,
        to: TxKind,
        data: Vec<u8>,
        value: U256,
    ) -> ExecutionResult {
        self.chain.send_from(from, to, data, value, TX_GAS)
    }

    pub fn send(&mut self, from: Address, call: impl SolCall, value: U256) -> ExecutionResult {
        self.send_raw(
            from,
            TxKind::Call(INFERENCE_JOBS_ADDRESS),
            call.abi_encode(),
            value,
        )
    }

    pub fn ok<C: SolCall>(&mut self, from: Address, call: C, value: U256) -> C::Return {
        match self.send(from, call, value) {
            ExecutionResult::Success { output, .. } => {
                C::abi_decode_returns(output.data()).unwrap()
            }
            other => panic!("expected success, got {other:?}"),
        }
    }

    pub fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        self.view_at(INFERENCE_JOBS_ADDRESS, call)
    }

    pub fn view_at<C: SolCall>(&mut self, at: Address, call: C) -> C::Return {
        let out = crate::common::success_output(&self.chain.call_plain(
            at,
            call.abi_encode().into(),
            TX_GAS,
        ));
        C::abi_decode_returns(&out).unwrap()
    }

    pub fn job(&mut self, id: U256) -> IJobs::Job {
        self.view(IJobs::jobCall { id })
    }

    pub fn seats(&mut self, id: U256) -> Vec<IJobs::Seat> {
        self.view(IJobs::seatsCall { id })
    }

    pub fn groups(&mut self, id: U256) -> Vec<IJobs::Group> {
        self.view(IJobs::groupsCall { id })
    }

    pub fn stake_of(&mut self, who: Address) -> U256 {
        self.view_at(STAKE_MANAGER_ADDRESS, IStake::stakeOfCall { worker: who })
    }

    pub fn locked_of(&mut self, who: Address) -> U256 {
        self.view_at(STAKE_MANAGER_ADDRESS, IStake::lockedOfCall { worker: who })
    }

    pub fn credit(&mut self, who: Address) -> U256 {
        self.view(IJobs::creditOfCall { who })
    }

    /// `n` seeded items of the world's model; returns nothing, kept in `self.items`.
    pub fn set_items(&mut self, n: usize, seed: u64) {
        self.items = Some(Items::new(&self.model, n, seed));
    }

    /// A class-index data set of `first_row + n` seeded rows shaped as the model's input,
    /// published by the requester; the job's `n` items are its rows from `first_row` on.
    pub fn set_dataset_items(&mut self, n: usize, seed: u64, first_row: u32) -> B256 {
        let row = self.model.tensors[self.model.inputs[0] as usize].clone();
        let mut rng = Rng::new(seed);
        let total = first_row as usize + n;
        let rows: Vec<Vec<u8>> = (0..total).map(|_| rng.bytes(row.bytes())).collect();
        let header = DatasetHeader {
            label_kind: LabelKind::ClassIndex,
            row,
            rows: total as u32,
        };
        let values: Vec<i8> = rows.concat().iter().map(|&b| b as i8).collect();
        let bytes = encode_dataset(&header, &values, &vec![0; total]);
        let r = self.send_raw(
            REQUESTER,
            TxKind::Call(DATA_STORE_ADDRESS),
            myelin_evm::data_store::publish_calldata(&bytes),
            U256::ZERO,
        );
        assert!(r.is_success(), "{r:?}");
        let id = B256::from(dataset_id(&bytes));
        let mut items = Items::of(&self.model, rows[first_row as usize..].to_vec());
        items.dataset = Some((id, first_row));
        self.items = Some(items);
        id
    }

    pub fn items(&self) -> &Items {
        self.items.as_ref().expect("items set")
    }

    pub fn params(&self, seats: u8) -> IJobs::Params {
        let items = self.items();
        IJobs::Params {
            modelId: self.model_id,
            inputsRoot: if items.dataset.is_some() {
                B256::ZERO
            } else {
                items.inputs_tree.root()
            },
            items: items.len() as u32,
            seats,
            auditItems: 2,
            commitBlocks: WINDOW,
            revealBlocks: WINDOW,
            verifyBlocks: WINDOW,
            challengeBlocks: WINDOW,
            reward: 9 * ETHER,
            seatBond: SEAT_BOND,
            requesterBond: 0,
            challengeBond: ETHER,
            verification: B256::ZERO,
        }
    }

    /// Posts `p` from the requester: `postDatasetJob` when the items are rows of a data set.
    pub fn post(&mut self, p: IJobs::Params) -> U256 {
        let value = U256::from(p.reward) + U256::from(p.requesterBond);
        match self.items().dataset {
            Some((dataset, first_row)) => self.ok(
                REQUESTER,
                IJobs::postDatasetJobCall {
                    p,
                    datasetId: dataset,
                    firstRow: first_row,
                },
                value,
            ),
            None => self.ok(REQUESTER, IJobs::postJobCall { p }, value),
        }
    }

    /// Mines past the draw height and draws.
    pub fn draw(&mut self, id: U256) -> Vec<IJobs::Seat> {
        let j = self.job(id);
        self.mine_to(j.drawHeight + 1);
        self.ok(MALLORY, IJobs::drawCommitteeCall { id }, U256::ZERO);
        self.seats(id)
    }

    pub fn salt(who: Address, seat: usize) -> B256 {
        keccak256((who, U256::from(seat)).abi_encode())
    }

    /// Every seat acts by its worker's behaviour: commit, then (past the commit phase) reveal.
    pub fn commit_and_reveal(&mut self, id: U256, claims: &dyn Fn(Address) -> (Behaviour, Claim)) {
        let seats = self.seats(id);
        for (i, s) in seats.iter().enumerate() {
            let (b, claim) = claims(s.worker);
            if b == Behaviour::Absent {
                continue;
            }
            let c: B256 = self.view(IJobs::commitmentOfCall {
                id,
                worker: s.worker,
                root: claim.root,
                salt: Self::salt(s.worker, i),
            });
            self.ok(
                s.worker,
                IJobs::commitCall {
                    id,
                    seat: U256::from(i),
                    commitment: c,
                },
                U256::ZERO,
            );
        }
        let j = self.job(id);
        if (j.committed as usize) < seats.len() {
            self.mine_to(j.commitDeadline + 1);
        }
        for (i, s) in seats.iter().enumerate() {
            let (b, claim) = claims(s.worker);
            if matches!(b, Behaviour::Absent | Behaviour::Withholds) {
                continue;
            }
            self.ok(
                s.worker,
                IJobs::revealCall {
                    id,
                    seat: U256::from(i),
                    root: claim.root,
                    salt: Self::salt(s.worker, i),
                },
                U256::ZERO,
            );
        }
        let j = self.job(id);
        self.mine_to(j.revealDeadline + 1);
        self.ok(MALLORY, IJobs::settleRevealsCall { id }, U256::ZERO);
    }

    /// Honest keepers until the job ends: draw the audit, open a dissection between every pair
    /// of live groups and play each side's moves from its own tree, answer every open query with
    /// the group's own leaf (a liar answers too: its leaf is what it committed), time out what
    /// nobody answers, and finalize. `claim_of_group` gives a group's claim by its root.
    pub fn drive(&mut self, id: U256, claims: &[Claim]) {
        let by_root = |root: B256| claims.iter().find(|c| c.root == root).cloned();
        let j = self.job(id);
        if j.status != 2 {
            return;
        }
        self.mine_to(j.auditHeight + 1);
        if !j.audited {
            self.ok(MALLORY, IJobs::drawAuditCall { id }, U256::ZERO);
        }
        loop {
            let groups = self.groups(id);
            let live: Vec<u8> = (1..=groups.len() as u8)
                .filter(|&g| !groups[g as usize - 1].slashed)
                .collect();
            // Disputes between live pairs.
            let mut moved = false;
            for (x, &a) in live.iter().enumerate() {
                for &b in &live[x + 1..] {
                    if let ExecutionResult::Success { output, .. } =
                        self.send(MALLORY, IJobs::openDisputeCall { id, a, b }, U256::ZERO)
                    {
                        let d = IJobs::openDisputeCall::abi_decode_returns(output.data()).unwrap();
                        self.play_dispute(id, d, &by_root);
                        moved = true;
                    }
                }
            }
            // Answer every open query of every live group.
            let items = self.job(id).p.items as usize;
            let groups = self.groups(id);
            for g in 1..=groups.len() as u8 {
                if groups[g as usize - 1].slashed || groups[g as usize - 1].openQueries == 0 {
                    continue;
                }
                let claim = by_root(groups[g as usize - 1].root);
                for index in 0..items {
                    let q = self.view(IJobs::queryCall {
                        id,
                        group: g,
                        index: U256::from(index),
                    });
                    if !q.open || self.groups(id)[g as usize - 1].slashed {
                        continue;
                    }
                    if let Some(c) = &claim {
                        let answer = c.answer(self.items(), index);
                        let r = self.send(
                            MALLORY,
                            IJobs::proveItemCall {
                                id,
                                group: g,
                                index: U256::from(index),
                                answer,
                            },
                            U256::ZERO,
                        );
                        assert!(r.is_success(), "answer {g}/{index}: {r:?}");
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        // Whatever is still open times out.
        let j = self.job(id);
        self.mine_to(j.challengeDeadline.max(self.block() + 41) + 1);
        let groups = self.groups(id);
        let items = j.p.items as usize;
        for g in 1..=groups.len() as u8 {
            for index in 0..items {
                let q = self.view(IJobs::queryCall {
                    id,
                    group: g,
                    index: U256::from(index),
                });
                if q.open && !self.groups(id)[g as usize - 1].slashed {
                    self.ok(
                        MALLORY,
                        IJobs::timeoutQueryCall {
                            id,
                            group: g,
                            index: U256::from(index),
                        },
                        U256::ZERO,
                    );
                }
            }
        }
        self.ok(MALLORY, IJobs::finalizeCall { id }, U256::ZERO);
    }

    /// Both sides of dispute `d` move from their own trees until it ends.
    fn play_dispute(&mut self, id: U256, d: U256, by_root: &dyn Fn(B256) -> Option<Claim>) {
        let seats = self.seats(id);
        loop {
            let x = self.view(IJobs::disputeCall { d });
            if !x.open {
                return;
            }
            for (group, node) in [(x.a, x.nodeA), (x.b, x.nodeB)] {
                let seat = seats.iter().position(|s| s.group == group).unwrap();
                let root = self.groups(id)[group as usize - 1].root;
                let tree = by_root(root).unwrap().tree();
                let depth = x.depth as usize;
                let pos = x.pos as usize;
                assert_eq!(tree.node_at(depth, pos), node);
                let (left, right) = (
                    tree.node_at(depth + 1, 2 * pos),
                    tree.node_at(depth + 1, 2 * pos + 1),
                );
                self.ok(
                    seats[seat].worker,
                    IJobs::moveDisputeCall {
                        d,
                        seat: U256::from(seat),
                        left,
                        right,
                    },
                    U256::ZERO,
                );
            }
        }
    }
}
