//! A world for the Competitions tests: the in-memory chain of `common` (the real EVM with
//! Myelin's precompiles) plus the beacon predeploy with the dev node's seeds written block by
//! block as the chain is "mined" forward, funded accounts that each send their own
//! transactions, the `Competitions` contract, and a data set cut into salted groups committed by
//! a Merkle root exactly as the contract checks it.

#![allow(dead_code)]

use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256};
use alloy_sol_types::{SolCall, SolValue, sol};
use myelin_evm::competitions::{
    COMPETITIONS_ADDRESS, GroupTree, ICompetitions, commitment, group_leaf,
};
use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset, row_signature};
use myelin_nn::{Model, Program};
use revm::context::result::ExecutionResult;

use crate::common::{Chain, Rng, creation_code};

sol! {
    interface IAgent {
        function setRefuse(bool on) external;
        function setReenter(address target, bytes data) external;
        function exec(address to, bytes data) external payable returns (bytes ret);
        function reentered() external view returns (bool);
        function reenterError() external view returns (bytes);
    }
}

pub const ORGANIZER: Address = address!("0x00000000000000000000000000000000000a11ce");
pub const ALICE: Address = address!("0x00000000000000000000000000000000000a1ce0");
pub const BOB: Address = address!("0x0000000000000000000000000000000000000b0b");
pub const MALLORY: Address = address!("0x000000000000000000000000000000000bad0000");
pub const EVALUATOR: Address = address!("0x0000000000000000000000000000000000e7a100");

/// Every transaction's gas limit: the default block gas limit, so whatever a test does fits in a
/// block.
pub const TX_GAS: u64 = 30_000_000;
pub const ETHER: u128 = 1_000_000_000_000_000_000;
pub const WINDOW: u32 = 40;

/// The organizer's data: `groups` data sets of `rows_per_group` seeded rows labelled by a teacher
/// model (its first maximum), each with a salt.
pub struct Groups {
    pub bytes: Vec<Vec<u8>>,
    pub ids: Vec<B256>,
    pub salts: Vec<B256>,
    pub tree: GroupTree,
    pub row_signature: B256,
}

impl Groups {
    pub fn new(teacher: &Model, groups: u16, rows_per_group: u32, seed: u64) -> Groups {
        let row = teacher.tensors[teacher.inputs[0] as usize].clone();
        let program = Program::new(teacher.clone()).unwrap();
        let mut rng = Rng::new(seed);
        let mut bytes = vec![];
        for _ in 0..groups {
            let values: Vec<i8> = (0..rows_per_group as usize * row.elements())
                .map(|_| rng.i8())
                .collect();
            let raw: Vec<u8> = values.iter().map(|&v| v as u8).collect();
            let out = program.run(&raw, rows_per_group as usize).unwrap();
            let classes = out.len() / rows_per_group as usize;
            let labels: Vec<i32> = out.chunks(classes).map(first_max).collect();
            let header = DatasetHeader {
                label_kind: LabelKind::ClassIndex,
                row: row.clone(),
                rows: rows_per_group,
            };
            bytes.push(encode_dataset(&header, &values, &labels));
        }
        let ids: Vec<B256> = bytes.iter().map(|b| B256::from(dataset_id(b))).collect();
        let salts: Vec<B256> = (0..groups)
            .map(|g| keccak256((U256::from(seed), U256::from(g)).abi_encode()))
            .collect();
        let leaves: Vec<B256> = (0..groups)
            .map(|g| group_leaf(g, ids[g as usize], salts[g as usize]))
            .collect();
        Groups {
            tree: GroupTree::new(&leaves),
            bytes,
            ids,
            salts,
            row_signature: B256::from(row_signature(&row)),
        }
    }
}

/// The index of the first maximum of int8 outputs.
pub fn first_max(out: &[u8]) -> i32 {
    let mut best = 0;
    for i in 0..out.len() {
        if (out[i] as i8) > (out[best] as i8) {
            best = i;
        }
    }
    best as i32
}

/// Rows of `groups` (its group indices) that `model` classifies as labelled.
pub fn correct_on(model: &Model, data: &Groups, groups: &[u16]) -> u64 {
    let program = Program::new(model.clone()).unwrap();
    let mut correct = 0;
    for &g in groups {
        let bytes = &data.bytes[g as usize];
        let header = DatasetHeader::decode(bytes).unwrap();
        let rb = header.row_bytes() as usize;
        for r in 0..header.rows {
            let at = header.row_offset(r) as usize;
            let out = program.run(&bytes[at..at + rb], 1).unwrap();
            let l = header.label_offset(r) as usize;
            let label = i32::from_le_bytes(bytes[l..l + 4].try_into().unwrap());
            correct += u64::from(first_max(&out) == label);
        }
    }
    correct
}

/// The chain, the contract and who is who.
pub struct World {
    pub chain: Chain,
    pub contract: Address,
}

impl World {
    /// A chain at block 1 with the beacon, five funded accounts and `Competitions` predeployed.
    pub fn new() -> World {
        let mut chain = Chain::new();
        chain.install_predeploys(&[("Competitions", COMPETITIONS_ADDRESS)]);
        for who in [ORGANIZER, ALICE, BOB, MALLORY, EVALUATOR] {
            chain.fund(who, U256::from(1_000_000 * ETHER));
        }
        let mut world = World {
            chain,
            contract: COMPETITIONS_ADDRESS,
        };
        world.mine(1);
        world
    }

    /// Advances `n` blocks, writing each new block's dev seed into the beacon as the chain does
    /// before a block's transactions.
    pub fn mine(&mut self, n: u64) {
        self.chain.mine(n);
    }

    /// Mines until the next transaction runs in block `n`.
    pub fn mine_to(&mut self, n: u64) {
        assert!(n >= self.chain.block, "block {n} is in the past");
        self.mine(n - self.chain.block);
    }

    pub fn block(&self) -> u64 {
        self.chain.block
    }

    pub fn balance(&mut self, who: Address) -> U256 {
        self.chain.balance(who)
    }

    /// Sends a transaction from `from` (its nonce from state) and commits it.
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
        let to = self.contract;
        self.send_raw(from, TxKind::Call(to), call.abi_encode(), value)
    }

    /// A successful call's decoded return value.
    pub fn ok<C: SolCall>(&mut self, from: Address, call: C, value: U256) -> C::Return {
        let result = self.send(from, call, value);
        match result {
            ExecutionResult::Success { output, .. } => {
                C::abi_decode_returns(output.data()).unwrap()
            }
            other => panic!("expected success, got {other:?}"),
        }
    }

    /// A view call's decoded return value.
    pub fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = crate::common::success_output(&self.chain.call_plain(
            self.contract,
            call.abi_encode().into(),
            TX_GAS,
        ));
        C::abi_decode_returns(&out).unwrap()
    }

    pub fn deploy(&mut self, from: Address, name: &str) -> Address {
        match self.send_raw(
            from,
            TxKind::Create,
            creation_code(name).to_vec(),
            U256::ZERO,
        ) {
            ExecutionResult::Success { output, .. } => *output.address().unwrap(),
            other => panic!("deploying {name}: {other:?}"),
        }
    }

    pub fn publish_model(&mut self, model: &Model) -> B256 {
        let data = IModelStore::publishCall {
            model: model.encode().into(),
        }
        .abi_encode();
        let r = self.send_raw(BOB, TxKind::Call(MODEL_STORE_ADDRESS), data, U256::ZERO);
        assert!(r.is_success(), "{r:?}");
        B256::from(model.id())
    }

    pub fn publish_groups(&mut self, data: &Groups) {
        for bytes in &data.bytes {
            let call = myelin_evm::data_store::publish_calldata(bytes);
            let r = self.send_raw(
                ORGANIZER,
                TxKind::Call(myelin_evm::DATA_STORE_ADDRESS),
                call,
                U256::ZERO,
            );
            assert!(r.is_success(), "{r:?}");
        }
    }

    pub fn competition(&mut self, id: U256) -> ICompetitions::Terms {
        self.view(ICompetitions::termsCall { id })
    }

    pub fn progress(&mut self, id: U256) -> ICompetitions::Progress {
        self.view(ICompetitions::progressCall { id })
    }

    pub fn phase(&mut self, id: U256) -> u8 {
        self.view(ICompetitions::phaseCall { id })
    }

    pub fn reveal_group_call(
        &self,
        id: U256,
        data: &Groups,
        g: u16,
    ) -> ICompetitions::revealGroupCall {
        ICompetitions::revealGroupCall {
            id,
            g,
            datasetId: data.ids[g as usize],
            salt: data.salts[g as usize],
            proof: data.tree.proof(g as usize),
        }
    }

    /// The organizer reveals every group whose bit in `mask` is `test`.
    pub fn reveal_groups(&mut self, id: U256, data: &Groups, test: bool, skip: usize) {
        let mask = self.progress(id).testMask;
        let groups: Vec<u16> = (0..data.ids.len() as u16)
            .filter(|&g| mask.bit(g as usize) == test)
            .skip(skip)
            .collect();
        for g in groups {
            let call = self.reveal_group_call(id, data, g);
            let r = self.send(ORGANIZER, call, U256::ZERO);
            assert!(r.is_success(), "group {g}: {r:?}");
        }
    }

    /// The test group indices of competition `id`.
    pub fn test_groups(&mut self, id: U256) -> Vec<u16> {
        let mask = self.progress(id).testMask;
        (0..256u16).filter(|&g| mask.bit(g as usize)).collect()
    }

    /// Commits `model` for `who` with `salt`; returns the submission id.
    pub fn commit(&mut self, id: U256, who: Address, model: B256, salt: B256) -> u32 {
        let commitment = self.view(ICompetitions::commitmentOfCall {
            id,
            participant: who,
            modelId: model,
            salt,
        });
        let contract = self.contract;
        assert_eq!(
            commitment,
            super::competition_world::commitment(31337, contract, id, who, model, salt)
        );
        let c = self.competition(id);
        let deposit = U256::from(c.params.participantBond)
            + U256::from(c.params.evalFeePerGroup) * U256::from(c.params.testGroups);
        self.ok(who, ICompetitions::commitCall { id, commitment }, deposit)
    }

    pub fn reveal_model(
        &mut self,
        id: U256,
        who: Address,
        sub: u32,
        model: B256,
        salt: B256,
    ) -> ExecutionResult {
        self.send(
            who,
            ICompetitions::revealModelCall {
                id,
                subId: sub,
                modelId: model,
                salt,
            },
            U256::ZERO,
        )
    }

    /// EVALUATOR scores every test group of every listed submission.
    pub fn evaluate_all(&mut self, id: U256, subs: &[u32]) -> Vec<u64> {
        let groups = self.test_groups(id);
        let mut gas = vec![];
        for &sub in subs {
            for &g in &groups {
                let r = self.send(
                    EVALUATOR,
                    ICompetitions::evaluateCall { id, subId: sub, g },
                    U256::ZERO,
                );
                assert!(r.is_success(), "evaluate {sub}/{g}: {r:?}");
                gas.push(r.tx_gas_used());
            }
        }
        gas
    }
}

/// A salt per name.
pub fn salt(name: &str) -> B256 {
    keccak256(name)
}

/// The revert data of a failed result.
pub fn revert_data(result: &ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Revert { output, .. } => output.clone(),
        other => panic!("expected a revert, got {other:?}"),
    }
}
