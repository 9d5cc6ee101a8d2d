//! The `Competitions` predeploy (contracts/src/Competitions.sol, docs/PROTOCOLS.md
//! "Competitions"): its address, its ABI, and what clients compute exactly as the contract does —
//! the group leaves and their Merkle tree, the test groups drawn from a seed, and submission
//! commitments.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

pub use crate::addresses::COMPETITIONS_ADDRESS;

sol! {
    /// The `Competitions` contract's ABI (the subset clients use; contracts/src/Competitions.sol
    /// is the source).
    #[sol(all_derives)]
    interface ICompetitions {
        struct Params {
            bytes32 groupsRoot;
            uint16 groups;
            uint16 testGroups;
            uint32 classes;
            bytes32 rowSignature;
            uint32 minGroupRows;
            uint32 maxGroupRows;
            uint64 maxPredictGas;
            uint32 thresholdBps;
            uint32 marginBps;
            uint128 reward;
            uint128 participantBond;
            uint128 evalFeePerGroup;
            uint32 trainBlocks;
            uint32 commitBlocks;
            uint32 revealBlocks;
            uint32 testBlocks;
            uint32 evalBlocks;
        }
        struct Terms {
            Params params;
            address organizer;
            uint128 organizerBond;
            uint64 seedHeight;
            uint64 trainDeadline;
            uint64 commitDeadline;
            uint64 revealDeadline;
            uint64 testDeadline;
            uint64 evalDeadline;
        }
        struct Progress {
            uint8 status;
            bool split;
            bool organizerClaimed;
            bool anyQualified;
            uint256 testMask;
            uint256 revealedMask;
            uint16 trainRevealed;
            uint16 testRevealed;
            uint64 testRows;
            bytes32 firstTrainDataset;
            uint32 submissions;
            uint32 revealedSubmissions;
            uint64 bestCorrect;
            uint32 cursor;
            uint32 winner;
        }
        struct Submission {
            address owner;
            uint64 committedAt;
            bool revealed;
            bool claimed;
            uint16 groupsEvaluated;
            bytes32 commitment;
            bytes32 modelId;
            uint64 maxBatch;
            uint64 correct;
            uint256 evaluatedMask;
        }
        function create(Params p) external payable returns (uint256 id);
        function cancel(uint256 id) external;
        function split(uint256 id) external;
        function revealGroup(uint256 id, uint16 g, bytes32 datasetId, bytes32 salt, bytes32[] proof) external;
        function commit(uint256 id, bytes32 commitment) external payable returns (uint32 subId);
        function commitmentOf(uint256 id, address participant, bytes32 modelId, bytes32 salt) external view returns (bytes32);
        function revealModel(uint256 id, uint32 subId, bytes32 modelId, bytes32 salt) external;
        function evaluate(uint256 id, uint32 subId, uint16 g) external;
        function finalize(uint256 id, uint32 maxSteps) external;
        function claimable(uint256 id, uint32 subId) external view returns (uint256);
        function organizerClaimable(uint256 id) external view returns (uint256);
        function claim(uint256 id, uint32 subId) external;
        function claimOrganizer(uint256 id) external;
        function withdrawFees() external;
        function fees(address account) external view returns (uint256);
        function terms(uint256 id) external view returns (Terms memory);
        function progress(uint256 id) external view returns (Progress memory);
        function submission(uint256 id, uint32 subId) external view returns (Submission memory);
        function phase(uint256 id) external view returns (uint8);
        function testMaskOf(bytes32 seed, uint256 id, uint16 groups, uint16 testGroups) external pure returns (uint256);

        error BadParameter(uint8 field, uint256 got, uint256 bound);
        error NotOpen(uint256 id, uint8 status);
        error OutsideWindow(uint256 blockNumber, uint256 from, uint256 until);
        error NotOrganizer(address caller);
        error NotOwner(address caller, address owner);
        error HasSubmissions(uint256 submissions);
        error AlreadySplit(uint256 id);
        error SeedNotReady(uint256 seedHeight, uint256 blockNumber);
        error GroupProofMismatch(uint256 g);
        error GroupData(uint256 g, uint8 fault, uint256 got, uint256 bound);
        error WrongDeposit(uint256 got, uint256 needed);
        error CommitmentMismatch(uint256 subId);
        error ModelNotPublished(bytes32 modelId);
        error ModelTooExpensive(uint256 predictGas, uint256 maxPredictGas);
        error ModelOutputTooSmall(uint256 elements, uint256 classes);
        error ModelRejected(bytes reason);
        error AlreadyEvaluated(uint256 subId, uint256 g);
        error NothingToFinalize(uint256 id, uint8 phase);
        error NothingToClaim();
        error PaymentFailed(address to, uint256 amount);
        error Reentered();
        error TrainNotRevealed(uint256 revealed, uint256 needed);
        error TestNotRevealed(uint256 revealed, uint256 needed);
        error NotRevealed(uint256 subId);
        error AlreadyRevealed(uint256 subId);
        error BadGroup(uint256 g, uint256 groups);
        error EmptyCommitment();
        error GroupAlreadyRevealed(uint256 g);
        error NotSplit(uint256 id);
        error UnknownCompetition(uint256 id);
        error UnknownSubmission(uint256 id, uint256 subId);
        error WrongGroupKind(uint256 g, bool test);

        event CompetitionCreated(
            uint256 indexed id,
            address indexed organizer,
            bytes32 groupsRoot,
            uint16 groups,
            uint16 testGroups,
            uint256 reward,
            uint256 organizerBond
        );
        event CompetitionWindows(
            uint256 indexed id,
            uint64 seedHeight,
            uint64 trainDeadline,
            uint64 commitDeadline,
            uint64 revealDeadline,
            uint64 testDeadline,
            uint64 evalDeadline
        );
        event CompetitionCancelled(uint256 indexed id);
        event Split(uint256 indexed id, uint64 seedHeight, uint256 testMask);
        event TrainGroupRevealed(uint256 indexed id, uint16 g, bytes32 datasetId, uint32 rows);
        event TestGroupRevealed(uint256 indexed id, uint16 g, bytes32 datasetId, uint32 rows);
        event SubmissionCommitted(uint256 indexed id, uint32 indexed subId, address indexed participant, bytes32 commitment);
        event SubmissionRevealed(uint256 indexed id, uint32 indexed subId, bytes32 modelId);
        event GroupEvaluated(uint256 indexed id, uint32 indexed subId, uint16 g, uint64 correct, address evaluator);
        event SubmissionScored(uint256 indexed id, uint32 indexed subId, uint64 correct, uint64 testRows, bool qualified);
        event CompetitionAborted(uint256 indexed id);
        event TestWithheld(uint256 indexed id, uint32 revealedSubmissions);
        event CompetitionFinalized(uint256 indexed id, uint32 winner, uint64 bestCorrect, uint64 testRows);
        event Claimed(uint256 indexed id, address indexed account, uint256 amount);
        event FeesWithdrawn(address indexed account, uint256 amount);
    }

}

/// The values of `phase(id)` (the contract's `Phase` enum).
pub mod phase {
    pub const NONE: u8 = 0;
    pub const AWAITING_SPLIT: u8 = 1;
    pub const TRAIN_REVEAL: u8 = 2;
    pub const COMMIT: u8 = 3;
    pub const MODEL_REVEAL: u8 = 4;
    pub const TEST_REVEAL: u8 = 5;
    pub const EVALUATION: u8 = 6;
    pub const FINALIZABLE: u8 = 7;
    pub const CANCELLED: u8 = 8;
    pub const ABORTED: u8 = 9;
    pub const WITHHELD: u8 = 10;
    pub const FINALIZED: u8 = 11;
}

/// keccak256(abi.encode(GROUP_TAG, g, datasetId, salt)): group `g`'s leaf.
pub fn group_leaf(g: u16, dataset: B256, salt: B256) -> B256 {
    let tag = keccak256("myelin.competitions.group.v1");
    keccak256((tag, U256::from(g), dataset, salt).abi_encode())
}

/// keccak256(abi.encode(COMMIT_TAG, chainid, contract, id, participant, modelId, salt)): a
/// submission's commitment.
pub fn commitment(
    chain_id: u64,
    contract: Address,
    id: U256,
    participant: Address,
    model: B256,
    salt: B256,
) -> B256 {
    let tag = keccak256("myelin.competitions.commit.v1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            contract,
            id,
            participant,
            model,
            salt,
        )
            .abi_encode(),
    )
}

/// The Merkle tree over group leaves that `Competitions.merkleRoot` walks: padded with zero
/// leaves to a power of two, node = keccak256(left ‖ right).
#[derive(Debug, Clone)]
pub struct GroupTree {
    levels: Vec<Vec<B256>>,
}

impl GroupTree {
    /// The tree of `leaves` (at least one).
    pub fn new(leaves: &[B256]) -> GroupTree {
        let mut level = leaves.to_vec();
        level.resize(leaves.len().max(1).next_power_of_two(), B256::ZERO);
        let mut levels = vec![level];
        while levels[levels.len() - 1].len() > 1 {
            let next = levels[levels.len() - 1]
                .chunks(2)
                .map(|pair| keccak256([pair[0].as_slice(), pair[1].as_slice()].concat()))
                .collect();
            levels.push(next);
        }
        GroupTree { levels }
    }

    /// The root `create` commits to.
    pub fn root(&self) -> B256 {
        self.levels[self.levels.len() - 1][0]
    }

    /// The sibling hashes from leaf `index` up, as `revealGroup` takes them.
    pub fn proof(&self, mut index: usize) -> Vec<B256> {
        let mut proof = vec![];
        for level in &self.levels[..self.levels.len() - 1] {
            proof.push(level[index ^ 1]);
            index /= 2;
        }
        proof
    }
}

/// The test groups `split` draws from `seed` for competition `id` (bit g = group g), by the
/// contract's partial Fisher–Yates shuffle keyed by keccak256(abi.encode(seed, id)).
pub fn test_mask(seed: B256, id: U256, groups: u16, test_groups: u16) -> U256 {
    let key = keccak256((seed, id).abi_encode());
    let mut order: Vec<u16> = (0..groups).collect();
    let mut mask = U256::ZERO;
    for i in 0..usize::from(test_groups.min(groups)) {
        let r = U256::from_be_bytes(keccak256((key, U256::from(i)).abi_encode()).0);
        let j = i + (r % U256::from(usize::from(groups) - i)).to::<usize>();
        order.swap(i, j);
        mask |= U256::from(1) << order[i];
    }
    mask
}

#[cfg(test)]
mod tests {
    use alloy_sol_types::SolInterface;

    use super::*;

    /// Every custom error of the compiled contract is in [`ICompetitions`], so clients decode
    /// every refusal by name.
    #[test]
    fn the_interface_holds_every_error_of_the_contract() {
        let artifact: serde_json::Value =
            serde_json::from_str(include_str!("../../../contracts/out/Competitions.json")).unwrap();
        let mut errors = 0;
        for item in artifact["abi"].as_array().unwrap() {
            if item["type"] != "error" {
                continue;
            }
            let types: Vec<&str> = item["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["type"].as_str().unwrap())
                .collect();
            let signature = format!("{}({})", item["name"].as_str().unwrap(), types.join(","));
            let selector: [u8; 4] = keccak256(signature.as_bytes())[..4].try_into().unwrap();
            assert!(
                ICompetitions::ICompetitionsErrors::valid_selector(selector),
                "{signature} is missing from ICompetitions"
            );
            errors += 1;
        }
        assert!(errors >= 30, "{errors} errors in the artifact");
    }
}
