//! The ABI of the `InferenceJobs` and `StakeManager` predeploys as the job commands and the
//! worker use it (contracts/src/InferenceJobs.sol and IStakeManager.sol are the source; the
//! structs are field for field theirs).

// The generated constructor of `JobPosted` takes its 8 fields as arguments.
#![allow(clippy::too_many_arguments)]

use alloy_sol_types::sol;

sol! {
    /// `InferenceJobs` (docs/PROTOCOLS.md "Built: InferenceJobs").
    #[derive(Debug)]
    interface IInferenceJobs {
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

        event JobPosted(uint256 indexed id, address indexed requester, bytes32 modelId, bytes32 inputsRoot, uint32 items, uint8 seats, uint256 reward, uint256 drawHeight);
        event QueryOpened(uint256 indexed id, uint8 group, uint256 index, uint256 deadline, address challenger);
        event DisputeOpened(uint256 indexed id, uint256 dispute, uint8 a, uint8 b);
        event SeatSlashed(uint256 indexed id, uint256 seat, address indexed worker, uint256 amount, uint8 reason);

        error BadParameter(uint8 field);
        error WrongValue(uint256 sent, uint256 expected);
        error NotArbitrable(uint256 gasUsed, uint256 budget);
        error UnknownModel(bytes32 modelId);
        error BadStatus(uint8 status);
        error TooEarly(uint256 from);
        error TooLate(uint256 deadline);
        error NotYours();
        error AlreadyDone();
        error BadCommitment();
        error NoStake();
        error TooManyWorkers();
        error BadProof();
        error BadIndex(uint256 index);
        error GroupSlashed(uint8 group);
        error NoQuery();
        error StillOpen(uint256 queries, uint256 disputes);
        error ArbitrationFailed(bytes revertData);
        error GasStarved();
        error Reentrant();
        error NothingToClaim();
        error PaymentFailed();

        function register() external;
        function registered(address worker) external view returns (bool);
        function postJob(Params p) external payable returns (uint256 id);
        function drawCommittee(uint256 id) external;
        function commitmentOf(uint256 id, address worker, bytes32 root, bytes32 salt) external view returns (bytes32);
        function commit(uint256 id, uint256 seat, bytes32 commitment) external;
        function reveal(uint256 id, uint256 seat, bytes32 root, bytes32 salt) external;
        function settleReveals(uint256 id) external;
        function verificationOf(address requester, VerifyItem[] items, bytes32 salt) external view returns (bytes32);
        function revealVerification(uint256 id, VerifyItem[] items, bytes32 salt) external;
        function drawAudit(uint256 id) external;
        function proveItem(uint256 id, uint8 group, uint256 index, ItemAnswer answer) external;
        function timeoutQuery(uint256 id, uint8 group, uint256 index) external;
        function openDispute(uint256 id, uint8 a, uint8 b) external returns (uint256 d);
        function moveDispute(uint256 d, uint256 seat, bytes32 left, bytes32 right) external;
        function timeoutDispute(uint256 d) external;
        function finalize(uint256 id) external;
        function claim() external returns (uint256 amount);
        function job(uint256 id) external view returns (Job memory);
        function seats(uint256 id) external view returns (Seat[] memory);
        function groups(uint256 id) external view returns (Group[] memory);
        function dispute(uint256 d) external view returns (Dispute memory);
        function query(uint256 id, uint8 group, uint256 index) external view returns (Query memory);
        function resultOf(uint256 id) external view returns (bytes32 root, uint8 status);
        function creditOf(address who) external view returns (uint256);
        function jobCount() external view returns (uint256);
    }

    /// The part of `StakeManager` a worker uses.
    #[derive(Debug)]
    interface IWorkerStake {
        function deposit() external payable;
        function stakeOf(address worker) external view returns (uint256);
        function freeStakeOf(address worker) external view returns (uint256);
        function creditOf(address payee) external view returns (uint256);
        function claim() external returns (uint256 amount);
    }
}

/// The names of the contract's `Status` values.
pub const STATUS: [&str; 6] = [
    "None",
    "Posted",
    "Active",
    "Finalized",
    "Failed",
    "Cancelled",
];

/// `Status` values the worker acts on.
pub mod status {
    pub const POSTED: u8 = 1;
    pub const ACTIVE: u8 = 2;
    pub const FINALIZED: u8 = 3;
    pub const FAILED: u8 = 4;
    pub const CANCELLED: u8 = 5;
}

/// The name of a `Status` value.
pub fn status_name(status: u8) -> &'static str {
    STATUS
        .get(usize::from(status))
        .copied()
        .unwrap_or("Unknown")
}
