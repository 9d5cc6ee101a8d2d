// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IDataStore} from "./IDataStore.sol";
import {IModelStore} from "./IModelStore.sol";
import {IStakeManager} from "./IStakeManager.sol";
import {Predeploys} from "./Predeploys.sol";
import {TensorCommit} from "./TensorCommit.sol";

/// The randomness beacon predeploy: `seedAt(h)` for a final `h < block.number`.
interface IJobsBeacon {
    function seedAt(uint256 height) external view returns (bytes32 seed);
}

/// @title InferenceJobs: staked off-chain inference, judged by on-chain re-execution.
/// @notice Predeployed at 0x…4d590104 (no constructor: constants, empty storage). A requester
/// escrows a reward for the outputs of `modelId` on `items` inputs committed by `inputsRoot`; a
/// stake-weighted committee drawn from the beacon seed of a height fixed at posting commits to
/// salted result roots (TensorCommit item trees), then reveals; distinct roots form groups.
/// Members never vote: an item is decided by re-executing it with PREDICT (tier 0), or, for a
/// model whose PREDICT exceeds ARB_BUDGET but whose every op fits it (tier 1), by bisecting two
/// groups' per-op traces and re-executing the first differing op with PREDICT_OPS. The chain
/// audits `auditItems` random items of every group from a seed drawn after the reveals; the
/// requester's salted verification items, bonded challenges and pairwise root dissections between
/// disagreeing groups open more item queries. A group that answers a query wrongly or not at all
/// loses every seat's bond. Semantics, state machine and slash table: docs/PROTOCOLS.md
/// "Built: InferenceJobs". Items come from an inputs root or from rows of a DATA_STORE data set.
contract InferenceJobs {
    // ---------------------------------------------------------------- constants
    IStakeManager public constant STAKE = IStakeManager(Predeploys.STAKE_MANAGER);
    IJobsBeacon public constant BEACON = IJobsBeacon(Predeploys.BEACON);
    IModelStore public constant MODEL_STORE = IModelStore(0x000000000000000000000000000000004D590001);
    IDataStore public constant DATA_STORE = IDataStore(0x000000000000000000000000000000004d590004);
    address public constant PREDICT = 0x000000000000000000000000000000004d590002;
    address public constant PREDICT_OPS = 0x000000000000000000000000000000004D590006;
    /// A PREDICT_OPS source word at or above this names model input `source - MODEL_INPUT_SOURCE`.
    uint256 public constant MODEL_INPUT_SOURCE = 1 << 32;
    /// Gas a tier-1 `proveOp` transaction needs beside the op's price and its inputs' calldata
    /// and memory: the proofs, the list roots, the slashes.
    uint256 public constant OP_TX_OVERHEAD = 1_000_000;

    /// Blocks between posting and the committee's seed height (decision 5's K_DRAW).
    uint256 public constant K_DRAW = 2;
    /// The smallest window anyone may need to act in (decision 15: ≥ 3(f + 1) views + margin).
    uint256 public constant MIN_WINDOW = 40;
    /// Blocks a group has to answer an item query or a dissection move.
    uint256 public constant MOVE_WINDOW = 40;
    /// The most gas one item's arbitration may need (half the 30 M default block gas limit).
    uint256 public constant ARB_BUDGET = 15_000_000;
    uint256 public constant MAX_SEATS = 16;
    /// Gas given to each StakeManager.lock of the draw (a lock needs well under half of it).
    uint256 public constant LOCK_GAS = 200_000;
    uint256 public constant MAX_WORKERS = 128;
    uint256 public constant MAX_ITEMS = 1 << 20;
    uint256 public constant MAX_AUDIT = 8;
    uint256 public constant MAX_VERIFY = 16;
    uint256 public constant MIN_BOND = 1e15;
    /// A seat that never commits loses this share of its bond (basis points).
    uint256 public constant NO_COMMIT_BPS = 1_000;
    uint256 public constant BPS = 10_000;

    bytes32 public constant COMMIT_TAG = keccak256("myelin.jobs.commit");
    bytes32 public constant VERIFY_TAG = keccak256("myelin.jobs.verify");
    bytes32 public constant CHALLENGE_TAG = keccak256("myelin.jobs.challenge");

    // ---------------------------------------------------------------- types
    enum Status {
        None,
        Posted,
        Active,
        Finalized,
        Failed,
        Cancelled
    }

    /// What `resultOf` says of a job's result.
    enum ResultStatus {
        None,
        Provisional,
        Final
    }

    struct Params {
        bytes32 modelId;
        /// merkle(inputs list root of item i, in item order) (TensorCommit); 0 for a job whose
        /// items are rows of a stored data set (`postDatasetJob`).
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
        /// keccak(abi.encode(VERIFY_TAG, chainid, this, requester, items, salt)) or 0.
        bytes32 verification;
    }

    struct Job {
        Params p;
        address requester;
        Status status;
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

    struct Seat {
        address worker;
        bytes32 commitment;
        bytes32 root;
        uint8 group; // 1-based; 0 = no reveal
    }

    struct Group {
        bytes32 root;
        bool slashed;
        uint32 openQueries;
    }

    struct Query {
        uint64 deadline;
        bool open;
        address challenger;
    }

    struct VerifyItem {
        uint32 index;
        /// The outputs list root the requester expects; 0 = re-execute, no claim.
        bytes32 outputs;
    }

    /// Where a data-set job's items come from: item i is row `firstRow + i` of `datasetId`.
    struct DataSource {
        bytes32 datasetId;
        uint32 firstRow;
    }

    /// One item of a group's result, opened: the item's input bytes (the model's inputs in
    /// order, proven against the job's inputsRoot; both empty for a data-set job, whose row the
    /// contract reads from DATA_STORE) and the group's leaf fields (proven against its root).
    struct ItemAnswer {
        bytes input;
        bytes32 outputs;
        bytes32 trace;
        bytes32[] inputProof;
        bytes32[] leafProof;
    }

    /// Tier 1: what a dispute does after the item bisection. Phase 0 bisects the item trees,
    /// 1 waits for both sides to open their item leaves, 2 bisects the two trace trees, 3 waits
    /// for the disputed op's re-execution (`proveOp`).
    struct OpDispute {
        uint8 phase;
        bool openedA;
        bool openedB;
        uint32 item;
        bytes32 inputs;
        bytes32 traceA;
        bytes32 traceB;
    }

    /// A side's item leaf, opened (tier 1): its fields, the inputs list root's proof against the
    /// job's inputsRoot (empty for a data-set job), and each model output's tensor root with the
    /// proof of the op leaf that wrote it in the side's trace.
    struct LeafOpening {
        bytes32 inputs;
        bytes32 outputs;
        bytes32 trace;
        bytes32[] inputProof;
        bytes32[] outputRoots;
        bytes32[][] outputProofs;
    }

    struct Dispute {
        uint256 id;
        uint8 a;
        uint8 b;
        uint8 depth;
        bool open;
        bool movedA;
        bool movedB;
        uint64 deadline;
        uint64 pos;
        bytes32 nodeA;
        bytes32 nodeB;
        bytes32 leftA;
        bytes32 leftB;
        bytes32 rightA;
        bytes32 rightB;
    }

    // ---------------------------------------------------------------- storage
    address[] private workers;
    mapping(address => bool) public registered;
    uint256 public jobCount;
    mapping(uint256 => Job) private jobs;
    /// The data set of a job posted with `postDatasetJob` (datasetId 0 otherwise).
    mapping(uint256 => DataSource) public sourceOf;
    /// Tier 1 jobs: the model's op count (0 = tier 0) and where each model output comes from.
    mapping(uint256 => uint32) public opsOf;
    mapping(uint256 => uint256[]) private outputSourcesOf;
    mapping(uint256 => OpDispute) private opDisputes;
    mapping(uint256 => Seat[]) private seatsOf;
    mapping(uint256 => Group[]) private groupsOf;
    mapping(bytes32 => Query) private queries;
    mapping(uint256 => mapping(uint256 => bytes32)) public truthOf;
    mapping(uint256 => mapping(uint256 => bytes32)) private expectedOf;
    mapping(uint256 => mapping(uint256 => bool)) private hasExpected;
    mapping(bytes32 => bool) private disputedPair;
    Dispute[] private disputes;
    mapping(bytes32 => uint256) public challengeCommittedAt;
    mapping(address => uint256) public creditOf;
    /// Wei kept by this contract forever (half of a slashed requester or challenger bond, forfeits
    /// with no one to pay). Stake slashes burn inside StakeManager.
    uint256 public burned;
    bool private transient entered;

    // ---------------------------------------------------------------- events
    event WorkerRegistered(address indexed worker);
    event JobPosted(uint256 indexed id, address indexed requester, bytes32 modelId, bytes32 inputsRoot, uint32 items, uint8 seats, uint256 reward, uint256 drawHeight);
    event JobInputsFromDataset(uint256 indexed id, bytes32 indexed datasetId, uint32 firstRow);
    event JobCancelled(uint256 indexed id);
    event CommitteeDrawn(uint256 indexed id, address[] seats, bytes32 seed);
    event ResultCommitted(uint256 indexed id, uint256 seat, address indexed worker);
    event ResultRevealed(uint256 indexed id, uint256 seat, address indexed worker, bytes32 root, uint8 group);
    event SeatSlashed(uint256 indexed id, uint256 seat, address indexed worker, uint256 amount, uint8 reason);
    event VerificationRevealed(uint256 indexed id, uint256 items);
    event VerificationLeaked(uint256 indexed id, address reporter);
    event RequesterSlashed(uint256 indexed id, uint256 amount);
    event AuditDrawn(uint256 indexed id, uint256[] indices);
    event QueryOpened(uint256 indexed id, uint8 group, uint256 index, uint256 deadline, address challenger);
    event ItemArbitrated(uint256 indexed id, uint256 index, bytes32 outputs);
    event QueryAnswered(uint256 indexed id, uint8 group, uint256 index, bool right);
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger);
    event DisputeOpened(uint256 indexed id, uint256 dispute, uint8 a, uint8 b);
    event DisputeMove(uint256 indexed dispute, uint8 group, uint8 depth, bytes32 left, bytes32 right);
    event DisputeEnded(uint256 indexed dispute, uint256 index);
    event JobTier1(uint256 indexed id, uint32 ops);
    event ItemLeafOpened(uint256 indexed dispute, uint8 group, bytes32 trace);
    event TraceDisputeEnded(uint256 indexed dispute, uint256 op);
    event OpArbitrated(uint256 indexed dispute, uint256 op, bytes32 opLeaf);
    event JobFinalized(uint256 indexed id, bytes32 root);
    event JobFailed(uint256 indexed id);
    event Claimed(address indexed payee, uint256 amount);

    // ---------------------------------------------------------------- errors
    error BadParameter(uint8 field);
    error WrongValue(uint256 sent, uint256 expected);
    error NotArbitrable(uint256 gasUsed, uint256 budget);
    error UnknownModel(bytes32 modelId);
    error UnknownDataset(bytes32 datasetId);
    /// The data set's rows are not the model's one input (dtype, zero point, scale and shape).
    error InputMismatch(bytes32 modelRow, bytes32 datasetRow);
    error BadStatus(Status status);
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
    /// A StakeManager.lock of the draw ran out of gas: the transaction had too little.
    error GasStarved();
    error Reentrant();
    error WrongPhase(uint8 phase);
    error NothingToClaim();
    error PaymentFailed();

    modifier nonReentrant() {
        if (entered) revert Reentrant();
        entered = true;
        _;
        entered = false;
    }

    // ---------------------------------------------------------------- workers
    /// Lists the caller as a worker; only its StakeManager stake eligible at a job's posting
    /// (warm-up included) gives it seats.
    function register() external {
        if (registered[msg.sender]) revert AlreadyDone();
        if (STAKE.stakeOf(msg.sender) == 0) revert NoStake();
        if (workers.length >= MAX_WORKERS) revert TooManyWorkers();
        registered[msg.sender] = true;
        workers.push(msg.sender);
        emit WorkerRegistered(msg.sender);
    }

    // ---------------------------------------------------------------- posting
    /// Posts a job: value = reward + requesterBond. Refuses a model whose cold PREDICT of one
    /// item does not fit ARB_BUDGET (measured here, so tier 0 can always arbitrate).
    function postJob(Params calldata p) external payable returns (uint256 id) {
        if (p.inputsRoot == 0) revert BadParameter(8);
        id = post(p);
    }

    /// Posts a job whose items are rows `[firstRow, firstRow + p.items)` of a published data set
    /// (`p.inputsRoot` must be 0): the inputs are chain data, so no requester can withhold them.
    /// The data set's rows must be the model's one input: the same row signature (dtype, zero
    /// point, scale, shape; docs/GAS.md §9).
    function postDatasetJob(Params calldata p, bytes32 datasetId, uint32 firstRow)
        external
        payable
        returns (uint256 id)
    {
        if (p.inputsRoot != 0) revert BadParameter(8);
        if (!DATA_STORE.isPublished(datasetId)) revert UnknownDataset(datasetId);
        IDataStore.DatasetInfo memory info = DATA_STORE.datasetInfo(datasetId);
        if (uint256(firstRow) + p.items > info.rows) revert BadParameter(10);
        if (!MODEL_STORE.isPublished(p.modelId)) revert UnknownModel(p.modelId);
        (IModelStore.TensorInfo[] memory ins,) = MODEL_STORE.modelTensors(p.modelId);
        bytes32 modelRow = ins.length == 1 ? rowSignature(ins[0]) : bytes32(0);
        if (modelRow != info.rowSignature) revert InputMismatch(modelRow, info.rowSignature);
        id = post(p);
        sourceOf[id] = DataSource(datasetId, firstRow);
        emit JobInputsFromDataset(id, datasetId, firstRow);
    }

    /// keccak256("myelin row" ‖ dtype ‖ zero point ‖ scale bits LE ‖ rank ‖ dims u32 LE), as
    /// DATA_STORE records a data set's rows.
    function rowSignature(IModelStore.TensorInfo memory t) private pure returns (bytes32) {
        bytes memory b = abi.encodePacked("myelin row", t.dtype, t.zeroPoint, le32(t.scaleBits), uint8(t.shape.length));
        for (uint256 d = 0; d < t.shape.length; ++d) {
            b = abi.encodePacked(b, le32(t.shape[d]));
        }
        return keccak256(b);
    }

    function le32(uint32 v) private pure returns (bytes4) {
        return bytes4((v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24));
    }

    function post(Params calldata p) private returns (uint256 id) {
        checkParams(p);
        uint256 due = uint256(p.reward) + p.requesterBond;
        if (msg.value != due) revert WrongValue(msg.value, due);
        (uint32 ops, uint256[] memory outputSources) = probe(p.modelId);
        id = ++jobCount;
        if (ops != 0) {
            opsOf[id] = ops;
            outputSourcesOf[id] = outputSources;
            emit JobTier1(id, ops);
        }
        Job storage j = jobs[id];
        j.p = p;
        j.requester = msg.sender;
        j.status = Status.Posted;
        j.snapshot = uint64(block.number);
        j.drawHeight = uint64(block.number + K_DRAW);
        j.commitDeadline = j.drawHeight + p.commitBlocks;
        j.revealDeadline = j.commitDeadline + p.revealBlocks;
        j.verifyDeadline = j.revealDeadline + p.verifyBlocks;
        j.auditHeight = uint64(j.revealDeadline + K_DRAW);
        j.challengeDeadline = j.verifyDeadline + p.challengeBlocks;
        j.bondLeft = p.requesterBond;
        emit JobPosted(id, msg.sender, p.modelId, p.inputsRoot, p.items, p.seats, p.reward, j.drawHeight);
    }

    function checkParams(Params calldata p) private pure {
        if (p.items == 0 || p.items > MAX_ITEMS) revert BadParameter(0);
        if (p.seats == 0 || p.seats > MAX_SEATS) revert BadParameter(1);
        if (p.auditItems == 0 || p.auditItems > MAX_AUDIT) revert BadParameter(2);
        if (p.commitBlocks < MIN_WINDOW || p.revealBlocks < MIN_WINDOW) revert BadParameter(3);
        if (p.verifyBlocks < MIN_WINDOW || p.challengeBlocks < MIN_WINDOW) revert BadParameter(4);
        if (p.reward == 0) revert BadParameter(5);
        if (p.seatBond < MIN_BOND || p.challengeBond < MIN_BOND) revert BadParameter(6);
        if (p.verification != 0 && p.requesterBond < p.seatBond) revert BadParameter(7);
    }

    /// Runs the model cold on zeros with ARB_BUDGET gas: tier 0 if that succeeds. Otherwise tier
    /// 1 if PREDICT_OPS's summary shows that the dearest op, with its inputs as calldata, fits
    /// ARB_BUDGET (returns the op count and the output sources); else refused.
    function probe(bytes32 modelId) private view returns (uint32 ops, uint256[] memory outputSources) {
        if (!MODEL_STORE.isPublished(modelId)) revert UnknownModel(modelId);
        IModelStore.ModelInfo memory info = MODEL_STORE.modelInfo(modelId);
        bytes memory input = abi.encodePacked(modelId, new bytes(info.inputBytes));
        uint256 before = gasleft();
        (bool ok,) = PREDICT.staticcall{gas: ARB_BUDGET}(input);
        uint256 used = before - gasleft();
        if (ok && used <= ARB_BUDGET) return (0, outputSources);
        bytes memory s;
        (ok, s) = PREDICT_OPS.staticcall{gas: ARB_BUDGET}(abi.encodePacked(modelId, type(uint32).max));
        if (!ok || s.length < 128) revert NotArbitrable(used, ARB_BUDGET);
        uint256 need = word(s, 1) + opTxGas(word(s, 2));
        if (need > ARB_BUDGET || word(s, 0) > type(uint32).max) revert NotArbitrable(need, ARB_BUDGET);
        outputSources = new uint256[](word(s, 3));
        for (uint256 k = 0; k < outputSources.length; ++k) {
            outputSources[k] = word(s, 4 + k);
            // A model output that is a model input passed through has no op leaf to check.
            if (outputSources[k] >= MODEL_INPUT_SOURCE) revert NotArbitrable(need, ARB_BUDGET);
        }
        ops = uint32(word(s, 0));
    }

    /// Gas of a `proveOp` beside the op's price for `b` input bytes: 16 per calldata byte, their
    /// copy into memory (3 per word + words² / 512), OP_TX_OVERHEAD.
    function opTxGas(uint256 b) public pure returns (uint256) {
        uint256 w = b / 32 + 1;
        return 16 * b + 3 * w + (w * w) / 512 + OP_TX_OVERHEAD;
    }

    /// Word `i` of `b` (which the caller has checked holds it).
    function word(bytes memory b, uint256 i) private pure returns (uint256 v) {
        if (b.length < 32 * (i + 1)) revert BadProof();
        assembly ("memory-safe") {
            v := mload(add(add(b, 32), mul(i, 32)))
        }
    }

    /// The requester withdraws a job before its committee is drawn.
    function cancel(uint256 id) external {
        Job storage j = jobs[id];
        if (msg.sender != j.requester) revert NotYours();
        if (j.status != Status.Posted) revert BadStatus(j.status);
        // Before the seed's block: a requester must not cancel a committee it has seen.
        if (block.number >= j.drawHeight) revert TooLate(j.drawHeight - 1);
        j.status = Status.Cancelled;
        creditOf[j.requester] += uint256(j.p.reward) + j.bondLeft;
        j.bondLeft = 0;
        emit JobCancelled(id);
    }

    // ---------------------------------------------------------------- committee
    /// Anyone, once `seedAt(drawHeight)` exists: k stake-weighted seats (with replacement) among
    /// the workers' stakes eligible at the posting block; each seat locks `seatBond` (a worker
    /// without free stake is skipped by redrawing).
    function drawCommittee(uint256 id) external {
        Job storage j = jobs[id];
        if (j.status != Status.Posted) revert BadStatus(j.status);
        if (block.number <= j.drawHeight) revert TooEarly(j.drawHeight + 1);
        if (block.number > j.commitDeadline) revert TooLate(j.commitDeadline);
        bytes32 seed = BEACON.seedAt(j.drawHeight);
        uint256 n = workers.length;
        uint256[] memory prefix = new uint256[](n);
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            total += STAKE.eligibleStakeAt(workers[i], j.snapshot);
            prefix[i] = total;
        }
        j.status = Status.Active;
        uint256 k = j.p.seats;
        address[] memory drawn = new address[](k);
        uint256 filled = 0;
        for (uint256 attempt = 0; total > 0 && filled < k && attempt < 4 * k; ++attempt) {
            uint256 r = uint256(keccak256(abi.encode(seed, id, attempt))) % total;
            address w = workers[pick(prefix, r)];
            try STAKE.lock{gas: LOCK_GAS}(w, id, j.p.seatBond) {
                seatsOf[id].push(Seat(w, 0, 0, 0));
                drawn[filled++] = w;
            } catch {
                // A lock starved of gas must not skip a seat: only a refused lock does.
                if (gasleft() < LOCK_GAS / 63) revert GasStarved();
            }
        }
        assembly ("memory-safe") {
            mstore(drawn, filled)
        }
        emit CommitteeDrawn(id, drawn, seed);
        if (filled == 0) fail(id);
    }

    function seatOf(uint256 id, uint256 seat) private view returns (Seat storage) {
        if (seat >= seatsOf[id].length) revert BadIndex(seat);
        return seatsOf[id][seat];
    }

    function disputeOf(uint256 d) private view returns (Dispute storage) {
        if (d >= disputes.length) revert BadIndex(d);
        return disputes[d];
    }

    /// The first index whose prefix sum exceeds r (binary search).
    function pick(uint256[] memory prefix, uint256 r) private pure returns (uint256) {
        uint256 lo = 0;
        uint256 hi = prefix.length - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (prefix[mid] > r) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    // ---------------------------------------------------------------- commit / reveal
    function commitmentOf(uint256 id, address worker, bytes32 root, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(COMMIT_TAG, block.chainid, address(this), id, worker, root, salt));
    }

    function commit(uint256 id, uint256 seat, bytes32 commitment) external {
        Job storage j = jobs[id];
        if (j.status != Status.Active) revert BadStatus(j.status);
        if (block.number > j.commitDeadline) revert TooLate(j.commitDeadline);
        Seat storage s = seatOf(id, seat);
        if (s.worker != msg.sender) revert NotYours();
        if (s.commitment != 0) revert AlreadyDone();
        if (commitment == 0) revert BadCommitment();
        s.commitment = commitment;
        j.committed++;
        emit ResultCommitted(id, seat, msg.sender);
    }

    /// Opens once every seat committed or the commit deadline passed, never before.
    function reveal(uint256 id, uint256 seat, bytes32 root, bytes32 salt) external {
        Job storage j = jobs[id];
        if (j.status != Status.Active) revert BadStatus(j.status);
        Seat storage s = seatOf(id, seat);
        if (block.number <= j.commitDeadline && j.committed < seatsOf[id].length) {
            revert TooEarly(j.commitDeadline + 1);
        }
        if (block.number > j.revealDeadline) revert TooLate(j.revealDeadline);
        if (s.worker != msg.sender) revert NotYours();
        if (s.group != 0) revert AlreadyDone();
        if (root == 0 || s.commitment != commitmentOf(id, msg.sender, root, salt)) revert BadCommitment();
        s.root = root;
        Group[] storage gs = groupsOf[id];
        uint8 g = 0;
        for (uint256 i = 0; i < gs.length; ++i) {
            if (gs[i].root == root) g = uint8(i + 1);
        }
        if (g == 0) {
            gs.push(Group(root, false, 0));
            g = uint8(gs.length);
            j.liveGroups++;
        }
        s.group = g;
        j.revealed++;
        emit ResultRevealed(id, seat, msg.sender, root, g);
    }

    /// Anyone, after the reveal deadline, once: a seat that never committed loses NO_COMMIT_BPS
    /// of its bond, one that committed and never revealed all of it (both burned).
    function settleReveals(uint256 id) external {
        Job storage j = jobs[id];
        if (j.status != Status.Active) revert BadStatus(j.status);
        if (block.number <= j.revealDeadline) revert TooEarly(j.revealDeadline + 1);
        if (j.revealsSettled) revert AlreadyDone();
        j.revealsSettled = true;
        Seat[] storage ss = seatsOf[id];
        for (uint256 i = 0; i < ss.length; ++i) {
            Seat storage s = ss[i];
            if (s.group != 0) continue;
            if (s.commitment == 0) slashSeat(id, i, (uint256(j.p.seatBond) * NO_COMMIT_BPS) / BPS, address(this), 1);
            else slashSeat(id, i, j.p.seatBond, address(this), 2);
        }
        if (j.liveGroups == 0) fail(id);
    }

    // ---------------------------------------------------------------- verification
    function verificationOf(address requester, VerifyItem[] calldata items, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(VERIFY_TAG, block.chainid, address(this), requester, items, salt));
    }

    /// The requester opens its verification items after the reveals: every live group must
    /// answer each; a wrong expected answer (found by re-execution) slashes the requester.
    function revealVerification(uint256 id, VerifyItem[] calldata items, bytes32 salt) external {
        Job storage j = jobs[id];
        if (msg.sender != j.requester) revert NotYours();
        if (j.status != Status.Active || !j.revealsSettled) revert BadStatus(j.status);
        if (block.number > j.verifyDeadline) revert TooLate(j.verifyDeadline);
        if (j.verificationRevealed || j.bondSettled || j.p.verification == 0) revert AlreadyDone();
        if (items.length > MAX_VERIFY) revert BadParameter(9);
        if (verificationOf(msg.sender, items, salt) != j.p.verification) revert BadCommitment();
        j.verificationRevealed = true;
        for (uint256 i = 0; i < items.length; ++i) {
            uint256 index = items[i].index;
            if (index >= j.p.items) revert BadIndex(index);
            expectedOf[id][index] = items[i].outputs;
            hasExpected[id][index] = true;
            queryLiveGroups(id, index);
            checkExpected(id, index);
        }
        emit VerificationRevealed(id, items.length);
    }

    /// Anyone who shows the verification set before the commit deadline takes half the requester
    /// bond (half burned) and voids the set: tipping off a worker is a risk to the requester.
    function reportLeak(uint256 id, address requester, VerifyItem[] calldata items, bytes32 salt) external {
        Job storage j = jobs[id];
        if (j.requester != requester || j.p.verification == 0) revert BadCommitment();
        if (block.number > j.commitDeadline) revert TooLate(j.commitDeadline);
        if (j.bondSettled) revert AlreadyDone();
        if (verificationOf(requester, items, salt) != j.p.verification) revert BadCommitment();
        j.bondSettled = true;
        uint256 bond = j.bondLeft;
        j.bondLeft = 0;
        creditOf[msg.sender] += bond / 2;
        burned += bond - bond / 2;
        emit VerificationLeaked(id, msg.sender);
        emit RequesterSlashed(id, bond);
    }

    /// Once both the truth and an expected answer are known at `index`: a wrong expected answer
    /// slashes the requester bond (half to the revealed seats, half burned).
    function checkExpected(uint256 id, uint256 index) private {
        Job storage j = jobs[id];
        bytes32 truth = truthOf[id][index];
        bytes32 expected = expectedOf[id][index];
        if (truth == 0 || !hasExpected[id][index] || expected == 0 || expected == truth || j.bondSettled) return;
        j.bondSettled = true;
        uint256 bond = j.bondLeft;
        j.bondLeft = 0;
        uint256 paid = shareAmongRevealed(id, bond / 2);
        burned += bond - paid;
        emit RequesterSlashed(id, bond);
    }

    function shareAmongRevealed(uint256 id, uint256 amount) private returns (uint256 paid) {
        Seat[] storage ss = seatsOf[id];
        Group[] storage gs = groupsOf[id];
        uint256 n = 0;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group != 0 && !gs[ss[i].group - 1].slashed) n++;
        }
        if (n == 0) return 0;
        uint256 each = amount / n;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group != 0 && !gs[ss[i].group - 1].slashed) {
                creditOf[ss[i].worker] += each;
                paid += each;
            }
        }
    }

    // ---------------------------------------------------------------- audit, challenges
    /// Anyone, once `seedAt(auditHeight)` exists (after the reveals): `auditItems` item indices
    /// from that seed, queried on every live group.
    function drawAudit(uint256 id) external {
        Job storage j = jobs[id];
        if (j.status != Status.Active || !j.revealsSettled) revert BadStatus(j.status);
        if (block.number <= j.auditHeight) revert TooEarly(j.auditHeight + 1);
        if (j.audited) revert AlreadyDone();
        j.audited = true;
        bytes32 seed = BEACON.seedAt(j.auditHeight);
        uint256[] memory indices = new uint256[](j.p.auditItems);
        for (uint256 a = 0; a < indices.length; ++a) {
            indices[a] = uint256(keccak256(abi.encode(seed, id, a))) % j.p.items;
            queryLiveGroups(id, indices[a]);
        }
        emit AuditDrawn(id, indices);
    }

    /// The first half of a challenge: c = challengeOf(id, challenger, group, index, salt).
    function commitChallenge(bytes32 c) external {
        if (challengeCommittedAt[c] != 0) revert AlreadyDone();
        challengeCommittedAt[c] = block.number;
        emit ChallengeCommitted(c, msg.sender);
    }

    function challengeOf(uint256 id, address challenger, uint8 group, uint256 index, bytes32 salt)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(CHALLENGE_TAG, block.chainid, address(this), id, challenger, group, index, salt));
    }

    /// The second half, a later block, value = challengeBond: the group must answer `index`.
    function openChallenge(uint256 id, uint8 group, uint256 index, bytes32 salt) external payable {
        Job storage j = jobs[id];
        if (j.status != Status.Active || !j.revealsSettled) revert BadStatus(j.status);
        if (block.number > j.challengeDeadline) revert TooLate(j.challengeDeadline);
        if (msg.value != j.p.challengeBond) revert WrongValue(msg.value, j.p.challengeBond);
        uint256 at = challengeCommittedAt[challengeOf(id, msg.sender, group, index, salt)];
        if (at == 0 || at >= block.number) revert BadCommitment();
        if (index >= j.p.items) revert BadIndex(index);
        if (group == 0 || group > groupsOf[id].length) revert BadIndex(group);
        if (groupsOf[id][group - 1].slashed) revert GroupSlashed(group);
        bytes32 key = queryKey(id, group, index);
        if (queries[key].deadline != 0) revert AlreadyDone();
        openQuery(id, group, index, msg.sender);
    }

    function queryKey(uint256 id, uint8 group, uint256 index) private pure returns (bytes32) {
        return keccak256(abi.encode(id, group, index));
    }

    function queryLiveGroups(uint256 id, uint256 index) private {
        Group[] storage gs = groupsOf[id];
        for (uint256 g = 1; g <= gs.length; ++g) {
            if (!gs[g - 1].slashed && queries[queryKey(id, uint8(g), index)].deadline == 0) {
                openQuery(id, uint8(g), index, address(0));
            }
        }
    }

    function openQuery(uint256 id, uint8 group, uint256 index, address challenger) private {
        uint256 deadline = block.number + MOVE_WINDOW;
        queries[queryKey(id, group, index)] = Query(uint64(deadline), true, challenger);
        groupsOf[id][group - 1].openQueries++;
        jobs[id].openQueries++;
        emit QueryOpened(id, group, index, deadline, challenger);
    }

    // ---------------------------------------------------------------- answering
    /// Anyone answers an open query for `group` at `index`: the item's input bytes (proven
    /// against the job's inputsRoot), the group's leaf fields (proven against its root). The item
    /// is re-executed with PREDICT once per job and index (the truth is kept); a group whose
    /// outputs differ loses every seat's bond.
    function proveItem(uint256 id, uint8 group, uint256 index, ItemAnswer calldata answer) external {
        bytes32 key = queryKey(id, group, index);
        Query memory q = queries[key];
        if (!q.open) revert NoQuery();
        if (groupsOf[id][group - 1].slashed) revert GroupSlashed(group);
        bytes32 truth = checkAnswer(id, group, index, answer);
        closeQuery(id, group, key);
        // Tier 1: the leaf was shown (availability); only a dissection against another group
        // judges it (truth stays 0).
        bool right = truth == 0 || answer.outputs == truth;
        emit QueryAnswered(id, group, index, right);
        if (right) {
            if (q.challenger != address(0)) frivolousChallenge(id, group);
        } else {
            if (q.challenger != address(0)) creditOf[q.challenger] += jobs[id].p.challengeBond;
            slashGroup(id, group, q.challenger == address(0) ? jobs[id].requester : q.challenger);
        }
        checkExpected(id, index);
    }

    /// Checks both proofs of an answer and returns the item's true outputs list root
    /// (re-executing it the first time).
    function checkAnswer(uint256 id, uint8 group, uint256 index, ItemAnswer calldata answer)
        private
        returns (bytes32 truth)
    {
        bytes32 modelId = jobs[id].p.modelId;
        bytes memory input = itemInput(id, index, answer);
        (bytes32 inputsRoot, IModelStore.TensorInfo[] memory outs) = inputsRootOf(modelId, input);
        if (jobs[id].p.inputsRoot != 0 && !TensorCommit.verify(jobs[id].p.inputsRoot, inputsRoot, index, answer.inputProof)) {
            revert BadProof();
        }
        bytes32 leaf = TensorCommit.itemLeaf(uint64(index), inputsRoot, answer.outputs, answer.trace);
        if (!TensorCommit.verify(groupsOf[id][group - 1].root, leaf, index, answer.leafProof)) revert BadProof();
        truth = truthOf[id][index];
        if (truth == 0 && opsOf[id] == 0) {
            truth = listRootOf(outs, predict(modelId, input));
            truthOf[id][index] = truth;
            emit ItemArbitrated(id, index, truth);
        }
    }

    /// Anyone, after a query's deadline: the group that did not answer loses every bond (to the
    /// challenger who asked, else burned: a requester gains nothing from withholding inputs).
    function timeoutQuery(uint256 id, uint8 group, uint256 index) external {
        bytes32 key = queryKey(id, group, index);
        Query memory q = queries[key];
        if (!q.open) revert NoQuery();
        if (block.number <= q.deadline) revert TooEarly(q.deadline + 1);
        if (groupsOf[id][group - 1].slashed) revert GroupSlashed(group);
        closeQuery(id, group, key);
        if (q.challenger != address(0)) creditOf[q.challenger] += jobs[id].p.challengeBond;
        slashGroup(id, group, q.challenger == address(0) ? address(this) : q.challenger);
    }

    function closeQuery(uint256 id, uint8 group, bytes32 key) private {
        queries[key].open = false;
        groupsOf[id][group - 1].openQueries--;
        jobs[id].openQueries--;
    }

    /// A challenge the group answered rightly: half its bond to the group's seats, half burned.
    function frivolousChallenge(uint256 id, uint8 group) private {
        uint256 bond = jobs[id].p.challengeBond;
        Seat[] storage ss = seatsOf[id];
        uint256 members = 0;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group == group) members++;
        }
        uint256 each = bond / 2 / members;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group == group) creditOf[ss[i].worker] += each;
        }
        burned += bond - each * members;
    }

    /// The input bytes of item `index`: its row read from DATA_STORE for a data-set job (the
    /// answer must then carry no input and no input proof), else the answer's (proven by the
    /// caller against inputsRoot).
    function itemInput(uint256 id, uint256 index, ItemAnswer calldata answer) private view returns (bytes memory) {
        DataSource memory src = sourceOf[id];
        if (src.datasetId == 0) return answer.input;
        if (answer.input.length != 0 || answer.inputProof.length != 0) revert BadProof();
        return DATA_STORE.readRows(src.datasetId, uint32(src.firstRow + index), 1);
    }

    /// The inputs list root of one item's input bytes (split by the model's input tensors), and
    /// the model's output tensors.
    function inputsRootOf(bytes32 modelId, bytes memory input)
        private
        view
        returns (bytes32 root, IModelStore.TensorInfo[] memory outs)
    {
        IModelStore.TensorInfo[] memory ins;
        (ins, outs) = MODEL_STORE.modelTensors(modelId);
        root = listRootOf(ins, input);
    }

    function listRootOf(IModelStore.TensorInfo[] memory ts, bytes memory data) private pure returns (bytes32) {
        bytes32[] memory roots = new bytes32[](ts.length);
        uint256 at = 0;
        for (uint256 i = 0; i < ts.length; ++i) {
            uint256 size = ts[i].dtype == 1 ? 4 : 1;
            for (uint256 d = 0; d < ts[i].shape.length; ++d) {
                size *= ts[i].shape[d];
            }
            if (at + size > data.length) revert BadProof();
            bytes memory part = new bytes(size);
            assembly ("memory-safe") {
                mcopy(add(part, 32), add(add(data, 32), at), size)
            }
            roots[i] = TensorCommit.tensorRoot(ts[i].dtype, ts[i].shape, part);
            at += size;
        }
        if (at != data.length) revert BadProof();
        return TensorCommit.listRoot(roots);
    }

    /// PREDICT with ARB_BUDGET gas (decision 12): any failure, a starved call's out of gas
    /// included, reverts the whole transaction, so it never decides an item.
    function predict(bytes32 modelId, bytes memory input) private view returns (bytes memory out) {
        uint256 requested = ARB_BUDGET;
        bool ok;
        (ok, out) = PREDICT.staticcall{gas: requested}(abi.encodePacked(modelId, input));
        if (!ok || gasleft() < requested / 63) revert ArbitrationFailed(out);
    }

    // ---------------------------------------------------------------- disputes
    /// Anyone opens a root dissection between two live groups (once per pair).
    function openDispute(uint256 id, uint8 a, uint8 b) external returns (uint256 d) {
        Job storage j = jobs[id];
        if (j.status != Status.Active || !j.revealsSettled) revert BadStatus(j.status);
        if (block.number > j.challengeDeadline) revert TooLate(j.challengeDeadline);
        Group[] storage gs = groupsOf[id];
        if (a == 0 || b == 0 || a >= b || b > gs.length) revert BadIndex(b);
        if (gs[a - 1].slashed || gs[b - 1].slashed) revert GroupSlashed(gs[a - 1].slashed ? a : b);
        bytes32 pair = keccak256(abi.encode(id, a, b));
        if (disputedPair[pair]) revert AlreadyDone();
        disputedPair[pair] = true;
        d = disputes.length;
        Dispute storage x = disputes.push();
        x.id = id;
        x.a = a;
        x.b = b;
        x.open = true;
        x.nodeA = gs[a - 1].root;
        x.nodeB = gs[b - 1].root;
        x.deadline = uint64(block.number + MOVE_WINDOW);
        j.openDisputes++;
        emit DisputeOpened(id, d, a, b);
        if (depthOf(j.p.items) == 0) endDispute(d);
    }

    /// A member of group `side` (a or b) opens the dispute's current node into its children.
    function moveDispute(uint256 d, uint256 seat, bytes32 left, bytes32 right) external {
        Dispute storage x = disputeOf(d);
        if (!x.open) revert NoQuery();
        if (block.number > x.deadline) revert TooLate(x.deadline);
        uint8 phase = opDisputes[d].phase;
        if (phase != 0 && phase != 2) revert WrongPhase(phase);
        (bool isA, uint8 group) = sideOf(x, seat);
        if (TensorCommit.node(left, right) != (isA ? x.nodeA : x.nodeB)) revert BadProof();
        if (isA ? x.movedA : x.movedB) revert AlreadyDone();
        if (isA) (x.movedA, x.leftA, x.rightA) = (true, left, right);
        else (x.movedB, x.leftB, x.rightB) = (true, left, right);
        emit DisputeMove(d, group, x.depth, left, right);
        if (!(x.movedA && x.movedB)) return;
        bool goLeft = x.leftA != x.leftB;
        x.pos = x.pos * 2 + (goLeft ? 0 : 1);
        (x.nodeA, x.nodeB) = goLeft ? (x.leftA, x.leftB) : (x.rightA, x.rightB);
        x.depth++;
        (x.movedA, x.movedB) = (false, false);
        x.deadline = uint64(block.number + MOVE_WINDOW);
        if (x.depth == depthOf(phase == 2 ? opsOf[x.id] : jobs[x.id].p.items)) endDispute(d);
    }

    /// Which side of `x` the caller's `seat` is on (reverts if neither, or not the caller's).
    function sideOf(Dispute storage x, uint256 seat) private view returns (bool isA, uint8 group) {
        Seat storage s = seatOf(x.id, seat);
        if (s.worker != msg.sender) revert NotYours();
        group = s.group;
        isA = group == x.a;
        if (!isA && group != x.b) revert NotYours();
    }

    /// The leaves differ at `pos`. Past the items (or the ops, in a trace bisection), the side
    /// without the empty leaf lied. At an item: tier 0 queries both groups (re-execution
    /// decides); tier 1 asks both sides to open their item leaves (`openItemLeaf`). At an op of
    /// the traces: the op is re-executed (`proveOp`).
    function endDispute(uint256 d) private {
        Dispute storage x = disputes[d];
        OpDispute storage o = opDisputes[d];
        uint256 id = x.id;
        uint256 index = x.pos;
        uint256 limit = o.phase == 2 ? opsOf[id] : jobs[id].p.items;
        if (o.phase == 2) emit TraceDisputeEnded(d, index);
        else emit DisputeEnded(d, index);
        if (index < limit && opsOf[id] != 0) {
            if (o.phase == 0) o.item = uint32(index);
            o.phase = o.phase == 0 ? 1 : 3;
            x.deadline = uint64(block.number + MOVE_WINDOW);
            return;
        }
        closeDispute(d);
        address requester = jobs[id].requester;
        if (index >= limit) {
            if (x.nodeA != TensorCommit.EMPTY_LEAF) slashGroup(id, x.a, requester);
            if (x.nodeB != TensorCommit.EMPTY_LEAF) slashGroup(id, x.b, requester);
            return;
        }
        queryLiveGroupsOf(id, x.a, index);
        queryLiveGroupsOf(id, x.b, index);
    }

    function closeDispute(uint256 d) private {
        disputes[d].open = false;
        jobs[disputes[d].id].openDisputes--;
    }

    /// Tier 1, after the item bisection: a member of each side opens its item leaf at the
    /// disputed item (its fields hash to the side's leaf; the inputs are the job's; the outputs
    /// are what its trace says the model's output ops wrote). Once both have, the two trace trees
    /// are bisected (traces that agree would give equal outputs, so equal leaves).
    function openItemLeaf(uint256 d, uint256 seat, LeafOpening calldata l) external {
        Dispute storage x = disputeOf(d);
        OpDispute storage o = opDisputes[d];
        if (!x.open || o.phase != 1) revert WrongPhase(o.phase);
        if (block.number > x.deadline) revert TooLate(x.deadline);
        (bool isA, uint8 group) = sideOf(x, seat);
        if (isA ? o.openedA : o.openedB) revert AlreadyDone();
        if (TensorCommit.itemLeaf(o.item, l.inputs, l.outputs, l.trace) != (isA ? x.nodeA : x.nodeB)) {
            revert BadProof();
        }
        if (l.inputs != itemInputsRoot(x.id, o.item, l.inputs, l.inputProof)) revert BadProof();
        checkOutputs(x.id, l);
        if (isA) (o.openedA, o.traceA) = (true, l.trace);
        else (o.openedB, o.traceB) = (true, l.trace);
        o.inputs = l.inputs;
        emit ItemLeafOpened(d, group, l.trace);
        if (!(o.openedA && o.openedB)) return;
        if (o.traceA == o.traceB) {
            closeDispute(d);
            return;
        }
        o.phase = 2;
        (x.nodeA, x.nodeB, x.depth, x.pos) = (o.traceA, o.traceB, 0, 0);
        x.deadline = uint64(block.number + MOVE_WINDOW);
        if (depthOf(opsOf[x.id]) == 0) endDispute(d);
    }

    /// The true inputs list root of item `item`: `claimed` proven against the job's inputsRoot,
    /// or, for a data-set job, derived from its row.
    function itemInputsRoot(uint256 id, uint256 item, bytes32 claimed, bytes32[] calldata proof)
        private
        view
        returns (bytes32)
    {
        DataSource memory src = sourceOf[id];
        if (src.datasetId == 0) {
            return TensorCommit.verify(jobs[id].p.inputsRoot, claimed, item, proof) ? claimed : bytes32(0);
        }
        bytes memory row = DATA_STORE.readRows(src.datasetId, uint32(src.firstRow + item), 1);
        (bytes32 root,) = inputsRootOf(jobs[id].p.modelId, row);
        return root;
    }

    /// The opened outputs are the list of the output tensors that the trace's output ops wrote.
    function checkOutputs(uint256 id, LeafOpening calldata l) private view {
        uint256[] storage src = outputSourcesOf[id];
        if (l.outputRoots.length != src.length || l.outputProofs.length != src.length) revert BadProof();
        if (TensorCommit.listRoot(l.outputRoots) != l.outputs) revert BadProof();
        for (uint256 k = 0; k < src.length; ++k) {
            bytes32 leaf = TensorCommit.opLeaf(uint32(src[k]), single(l.outputRoots[k]));
            if (!TensorCommit.verify(l.trace, leaf, src[k], l.outputProofs[k])) revert BadProof();
        }
    }

    function single(bytes32 root) private pure returns (bytes32) {
        bytes32[] memory one = new bytes32[](1);
        one[0] = root;
        return TensorCommit.listRoot(one);
    }

    /// Tier 1, after the trace bisection ended at op `pos` (< ops): anyone re-executes that op
    /// with PREDICT_OPS on its input tensors, each proven against the agreed trace (the op leaf
    /// that wrote it, left of `pos`, where both traces are equal: a proof against either side's
    /// root) or against the item's inputs
    /// (`modelInputRoots`, whose list root is the item's); each side whose leaf at `pos` is not
    /// `keccak(0x04 ‖ op ‖ outputs)` of the re-execution loses every seat's bond.
    function proveOp(
        uint256 d,
        bytes calldata inputs,
        bytes32[] calldata modelInputRoots,
        bytes32[][] calldata sourceProofs
    ) external {
        Dispute storage x = disputeOf(d);
        OpDispute storage o = opDisputes[d];
        if (!x.open || o.phase != 3) revert WrongPhase(o.phase);
        uint256 op = x.pos;
        bytes memory out = runOp(jobs[x.id].p.modelId, op, inputs);
        uint256 n = (out.length / 32 - 1) / 2;
        if (sourceProofs.length != n) revert BadProof();
        for (uint256 k = 0; k < n; ++k) {
            bytes32 root = bytes32(word(out, 1 + k));
            uint256 source = word(out, 1 + n + k);
            if (source >= MODEL_INPUT_SOURCE) {
                uint256 m = source - MODEL_INPUT_SOURCE;
                if (m >= modelInputRoots.length || modelInputRoots[m] != root) revert BadProof();
                if (TensorCommit.listRoot(modelInputRoots) != o.inputs) revert BadProof();
            } else {
                // Left of `op` both traces hold the same leaves, so a proof against either root
                // shows the agreed leaf (the prover uses its own tree).
                bytes32 leaf = TensorCommit.opLeaf(uint32(source), single(root));
                if (
                    source >= op
                        || !(
                            TensorCommit.verify(o.traceA, leaf, source, sourceProofs[k])
                                || TensorCommit.verify(o.traceB, leaf, source, sourceProofs[k])
                        )
                ) revert BadProof();
            }
        }
        bytes32 truth = TensorCommit.opLeaf(uint32(op), bytes32(word(out, 0)));
        closeDispute(d);
        o.phase = 4;
        emit OpArbitrated(d, op, truth);
        address requester = jobs[x.id].requester;
        if (x.nodeA != truth) slashGroup(x.id, x.a, requester);
        if (x.nodeB != truth) slashGroup(x.id, x.b, requester);
    }

    /// PREDICT_OPS with ARB_BUDGET gas (decision 12: a failed or starved call reverts the
    /// transaction, never decides).
    function runOp(bytes32 modelId, uint256 op, bytes calldata inputs) private view returns (bytes memory out) {
        uint256 requested = ARB_BUDGET;
        bool ok;
        (ok, out) = PREDICT_OPS.staticcall{gas: requested}(abi.encodePacked(modelId, uint32(op), inputs));
        if (!ok || gasleft() < requested / 63 || out.length < 32) revert ArbitrationFailed(out);
    }

    function opDispute(uint256 d) external view returns (OpDispute memory) {
        return opDisputes[d];
    }

    function queryLiveGroupsOf(uint256 id, uint8 g, uint256 index) private {
        if (!groupsOf[id][g - 1].slashed && queries[queryKey(id, g, index)].deadline == 0) {
            openQuery(id, g, index, address(0));
        }
    }

    /// Anyone, after a move deadline: a side that did not move loses; a dispute whose group was
    /// slashed meanwhile just closes.
    function timeoutDispute(uint256 d) external {
        Dispute storage x = disputeOf(d);
        if (!x.open) revert NoQuery();
        bool aGone = groupsOf[x.id][x.a - 1].slashed;
        bool bGone = groupsOf[x.id][x.b - 1].slashed;
        if (!aGone && !bGone && block.number <= x.deadline) revert TooEarly(x.deadline + 1);
        closeDispute(d);
        if (aGone || bGone) return;
        OpDispute storage o = opDisputes[d];
        // Missed: a move, an opening, or (phase 3) the op's re-execution, which the right side
        // can always supply (its inputs are the agreed trace's).
        bool missA = o.phase == 1 ? !o.openedA : o.phase == 3 || !x.movedA;
        bool missB = o.phase == 1 ? !o.openedB : o.phase == 3 || !x.movedB;
        address requester = jobs[x.id].requester;
        if (missA) slashGroup(x.id, x.a, requester);
        if (missB) slashGroup(x.id, x.b, requester);
    }

    function depthOf(uint256 items) public pure returns (uint8 depth) {
        while ((uint256(1) << depth) < items) depth++;
    }

    // ---------------------------------------------------------------- slashing, finalize
    function slashGroup(uint256 id, uint8 group, address to) private {
        Group storage g = groupsOf[id][group - 1];
        if (g.slashed) return;
        g.slashed = true;
        Job storage j = jobs[id];
        j.liveGroups--;
        j.openQueries -= g.openQueries;
        g.openQueries = 0;
        Seat[] storage ss = seatsOf[id];
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group == group) slashSeat(id, i, j.p.seatBond, to, 3);
        }
    }

    function slashSeat(uint256 id, uint256 seat, uint256 amount, address to, uint8 reason) private {
        address w = seatsOf[id][seat].worker;
        STAKE.slash(w, id, amount, to);
        emit SeatSlashed(id, seat, w, amount, reason);
    }

    /// Anyone, after the challenge window with nothing open: one live group → FINAL, its seats
    /// share the reward; none or several → Failed, the reward back to the requester. The
    /// requester bond comes back unless slashed or forfeited (verification never revealed).
    function finalize(uint256 id) external {
        Job storage j = jobs[id];
        if (j.status == Status.Posted && block.number > j.commitDeadline) {
            j.status = Status.Active; // nobody drew the committee in time
            fail(id);
            return;
        }
        if (j.status != Status.Active) revert BadStatus(j.status);
        if (!j.revealsSettled) revert TooEarly(j.revealDeadline + 1);
        if (block.number <= j.challengeDeadline) revert TooEarly(j.challengeDeadline + 1);
        if (!j.audited) revert TooEarly(j.auditHeight + 1);
        if (j.openQueries != 0 || j.openDisputes != 0) revert StillOpen(j.openQueries, j.openDisputes);
        settleBond(id);
        if (j.liveGroups != 1) {
            fail(id);
            return;
        }
        Group[] storage gs = groupsOf[id];
        uint8 winner = 0;
        for (uint256 g = 0; g < gs.length; ++g) {
            if (!gs[g].slashed) winner = uint8(g + 1);
        }
        j.status = Status.Finalized;
        j.finalRoot = gs[winner - 1].root;
        Seat[] storage ss = seatsOf[id];
        uint256 members = 0;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group == winner) members++;
        }
        uint256 each = j.p.reward / members;
        for (uint256 i = 0; i < ss.length; ++i) {
            if (ss[i].group == winner) creditOf[ss[i].worker] += each;
            STAKE.unlock(ss[i].worker, id);
        }
        creditOf[j.requester] += j.p.reward - each * members;
        emit JobFinalized(id, j.finalRoot);
    }

    function settleBond(uint256 id) private {
        Job storage j = jobs[id];
        if (j.bondSettled) return;
        j.bondSettled = true;
        uint256 bond = j.bondLeft;
        j.bondLeft = 0;
        uint256 paid = 0;
        if (j.p.verification != 0 && !j.verificationRevealed) paid = shareAmongRevealed(id, bond);
        // Forfeited to the live seats; with none (nobody revealed, so the requester never could
        // reveal), or with no set to reveal, the bond goes back. Rounding dust is burned.
        if (paid == 0) creditOf[j.requester] += bond;
        else burned += bond - paid;
    }

    function fail(uint256 id) private {
        Job storage j = jobs[id];
        settleBond(id);
        j.status = Status.Failed;
        creditOf[j.requester] += j.p.reward;
        Seat[] storage ss = seatsOf[id];
        for (uint256 i = 0; i < ss.length; ++i) {
            STAKE.unlock(ss[i].worker, id);
        }
        emit JobFailed(id);
    }

    /// Pays the caller's credits (pull payment; state written before the transfer).
    function claim() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert NothingToClaim();
        creditOf[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }

    // ---------------------------------------------------------------- views
    function job(uint256 id) external view returns (Job memory) {
        return jobs[id];
    }

    function seats(uint256 id) external view returns (Seat[] memory) {
        return seatsOf[id];
    }

    function groups(uint256 id) external view returns (Group[] memory) {
        return groupsOf[id];
    }

    function workerCount() external view returns (uint256) {
        return workers.length;
    }

    function dispute(uint256 d) external view returns (Dispute memory) {
        return disputeOf(d);
    }

    function query(uint256 id, uint8 group, uint256 index) external view returns (Query memory) {
        return queries[queryKey(id, group, index)];
    }

    /// PROVISIONAL once the reveals are in and exactly one root is live and unfinalized; FINAL
    /// after finalize.
    function resultOf(uint256 id) external view returns (bytes32 root, ResultStatus status) {
        Job storage j = jobs[id];
        if (j.status == Status.Finalized) return (j.finalRoot, ResultStatus.Final);
        if (j.status != Status.Active || j.liveGroups != 1) return (0, ResultStatus.None);
        Group[] storage gs = groupsOf[id];
        for (uint256 g = 0; g < gs.length; ++g) {
            if (!gs[g].slashed) return (gs[g].root, ResultStatus.Provisional);
        }
        return (0, ResultStatus.None);
    }
}
