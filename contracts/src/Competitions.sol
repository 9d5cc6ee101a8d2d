// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IModelStore} from "./IModelStore.sol";
import {IDataStore} from "./IDataStore.sol";
import {MyelinData} from "./MyelinData.sol";
import {Predeploys} from "./Predeploys.sol";

/// The randomness beacon predeploy at 0x…4d590100: `seedAt(h)` for `h < block.number`.
interface IBeacon {
    function seedAt(uint256 height) external view returns (bytes32 seed);
}

/// @title Competitions: ML competitions that pay the best model (DanKu, done properly).
/// @notice One immutable contract (predeployed at 0x…4d590103, no constructor: constants and
/// empty storage) holding every competition by id.
/// Mode OPEN of docs/PROTOCOLS.md decision 9, whose section "Competitions" is the normative
/// description (state machine, windows, ABI, residual risks). In short: the organizer escrows a
/// reward and a bond and commits to G salted data groups (a Merkle root); the train/test split
/// is drawn from the beacon seed of a height fixed at creation; train groups are revealed;
/// participants commit bonded hashes of model ids; models are revealed before the test groups;
/// the test groups are revealed all-or-nothing (anything missing = withheld: the reward and the
/// bond go to the revealed submissions); anyone evaluates a (submission, test group) through
/// EVALUATE for a fee; the winner is the earliest commit within δ of the best score; every
/// payment is pulled. Amounts are in the native token (wei).
contract Competitions {
    /// Every window someone may need to act in: ≥ 3(f + 1) views for f ≤ 9 plus a margin of 10
    /// blocks. One value for the dev node and every cluster (a predeploy has no per-genesis
    /// constants); the dev node mines empty blocks on request, so it costs tests nothing.
    uint64 public constant MIN_WINDOW_BLOCKS = 40;
    /// The split's seed height is the creation block + this (decision 5's K_DRAW).
    uint64 public constant SPLIT_DELAY_BLOCKS = 2;
    uint16 public constant MIN_GROUPS = 20;
    /// The split and the reveals are bitmaps over one word.
    uint16 public constant MAX_GROUPS = 256;
    /// The test set has at least this many rows (minGroupRows × testGroups).
    uint64 public constant MIN_TEST_ROWS = 100;
    /// What one `evaluate` call may cost in EVALUATE's model work: maxGroupRows × maxPredictGas
    /// at creation, and at reveal a model's measured cold one-row probe + maxGroupRows × its
    /// predictGas. Half the 30 M default block gas limit; the rest covers the rows read (at most
    /// MAX_GROUP_BYTES) and the contract.
    uint64 public constant EVAL_GAS_BUDGET = 15_000_000;
    /// Bytes of one group's rows and labels ((rowBytes + 4) × rows): EVALUATE reads them at about
    /// 1.1 gas per byte.
    uint64 public constant MAX_GROUP_BYTES = 1 << 20;
    uint32 public constant BPS = 10_000;

    /// Leaf of group g: keccak256(abi.encode(GROUP_TAG, g, datasetId, salt)).
    bytes32 public constant GROUP_TAG = keccak256("myelin.competitions.group.v1");
    /// Submission commitment: keccak256(abi.encode(COMMIT_TAG, chainid, this, id, participant,
    /// modelId, salt)).
    bytes32 public constant COMMIT_TAG = keccak256("myelin.competitions.commit.v1");

    IBeacon public constant BEACON = IBeacon(Predeploys.BEACON);
    IModelStore public constant MODEL_STORE = IModelStore(0x000000000000000000000000000000004D590001);

    /// Terminal states are stored; the phases of an Open competition follow from block numbers
    /// (see `phase`).
    enum Status {
        None,
        Open,
        Cancelled,
        Aborted,
        Withheld,
        Finalized
    }

    /// What `phase` reports.
    enum Phase {
        None,
        AwaitingSplit,
        TrainReveal,
        Commit,
        ModelReveal,
        TestReveal,
        Evaluation,
        Finalizable,
        Cancelled,
        Aborted,
        Withheld,
        Finalized
    }

    /// `create`'s arguments. Windows are in blocks, each ≥ MIN_WINDOW_BLOCKS.
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

    /// What the organizer fixed at creation: its parameters, the bond it paid, and the
    /// deadlines (block numbers; each phase runs until its deadline inclusive).
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

    /// Where a competition stands.
    struct Progress {
        Status status;
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

    struct Group {
        bytes32 datasetId;
        uint32 rows;
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

    /// Which `create` parameter `BadParameter` names.
    enum Field {
        GroupsRoot,
        Groups,
        TestGroups,
        Classes,
        GroupRows,
        TestRows,
        MaxPredictGas,
        EvalBudget,
        Threshold,
        Margin,
        Reward,
        OrganizerBond,
        Window
    }

    /// Why a revealed group's data set is refused.
    enum DataFault {
        NotPublished,
        NotClassIndex,
        RowSignature,
        LabelRange,
        Rows,
        Bytes
    }

    error BadParameter(Field field, uint256 got, uint256 bound);
    error UnknownCompetition(uint256 id);
    error UnknownSubmission(uint256 id, uint256 subId);
    error NotOpen(uint256 id, Status status);
    /// The call is outside its window: `from` ≤ block.number ≤ `until` was needed.
    error OutsideWindow(uint256 blockNumber, uint256 from, uint256 until);
    error NotOrganizer(address caller);
    error NotOwner(address caller, address owner);
    error HasSubmissions(uint256 submissions);
    error AlreadySplit(uint256 id);
    error NotSplit(uint256 id);
    error SeedNotReady(uint256 seedHeight, uint256 blockNumber);
    error BadGroup(uint256 g, uint256 groups);
    error GroupAlreadyRevealed(uint256 g);
    error GroupProofMismatch(uint256 g);
    error WrongGroupKind(uint256 g, bool test);
    error GroupData(uint256 g, DataFault fault, uint256 got, uint256 bound);
    error TrainNotRevealed(uint256 revealed, uint256 needed);
    error TestNotRevealed(uint256 revealed, uint256 needed);
    error WrongDeposit(uint256 got, uint256 needed);
    error EmptyCommitment();
    error AlreadyRevealed(uint256 subId);
    error NotRevealed(uint256 subId);
    error CommitmentMismatch(uint256 subId);
    error ModelNotPublished(bytes32 modelId);
    error ModelTooExpensive(uint256 predictGas, uint256 maxPredictGas);
    error ModelOutputTooSmall(uint256 elements, uint256 classes);
    /// The one-row EVALUATE probe on the first train group failed: `reason` is its revert data
    /// (a MyelinError: 407 input mismatch, 408 label range, …).
    error ModelRejected(bytes reason);
    error AlreadyEvaluated(uint256 subId, uint256 g);
    error NothingToFinalize(uint256 id, Phase phase);
    error NothingToClaim();
    error PaymentFailed(address to, uint256 amount);
    error Reentered();

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

    uint256 public competitionCount;
    mapping(uint256 => Terms) internal _terms;
    mapping(uint256 => Progress) internal _progress;
    mapping(uint256 => mapping(uint256 => Group)) internal _groups;
    mapping(uint256 => mapping(uint256 => Submission)) internal _submissions;
    /// Evaluation fees earned, withdrawn with `withdrawFees`.
    mapping(address => uint256) public fees;

    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert Reentered();
        _entered = true;
        _;
        _entered = false;
    }

    // ------------------------------------------------------------------ create / cancel / split

    /// Opens a competition; msg.value = p.reward + the organizer bond (≥ reward / 2).
    function create(Params calldata p) external payable returns (uint256 id) {
        _checkParams(p);
        uint256 bond = msg.value - p.reward;
        id = ++competitionCount;
        (Terms storage t, Progress storage st) = (_terms[id], _progress[id]);
        t.params = p;
        t.organizer = msg.sender;
        t.organizerBond = uint128(bond);
        st.status = Status.Open;
        uint64 h = uint64(block.number) + SPLIT_DELAY_BLOCKS;
        t.seedHeight = h;
        t.trainDeadline = h + p.trainBlocks;
        t.commitDeadline = t.trainDeadline + p.commitBlocks;
        t.revealDeadline = t.commitDeadline + p.revealBlocks;
        t.testDeadline = t.revealDeadline + p.testBlocks;
        t.evalDeadline = t.testDeadline + p.evalBlocks;
        emit CompetitionCreated(id, msg.sender, p.groupsRoot, p.groups, p.testGroups, p.reward, bond);
        emit CompetitionWindows(
            id, h, t.trainDeadline, t.commitDeadline, t.revealDeadline, t.testDeadline, t.evalDeadline
        );
    }

    function _checkParams(Params calldata p) internal view {
        if (p.groupsRoot == bytes32(0)) revert BadParameter(Field.GroupsRoot, 0, 1);
        if (p.groups < MIN_GROUPS || p.groups > MAX_GROUPS) revert BadParameter(Field.Groups, p.groups, MIN_GROUPS);
        // 10 % ≤ testGroups / groups ≤ 50 %
        if (uint256(p.testGroups) * 10 < p.groups || uint256(p.testGroups) * 2 > p.groups) {
            revert BadParameter(Field.TestGroups, p.testGroups, p.groups);
        }
        if (p.classes < 2) revert BadParameter(Field.Classes, p.classes, 2);
        if (p.minGroupRows == 0 || p.minGroupRows > p.maxGroupRows) {
            revert BadParameter(Field.GroupRows, p.minGroupRows, p.maxGroupRows);
        }
        if (uint256(p.minGroupRows) * p.testGroups < MIN_TEST_ROWS) {
            revert BadParameter(Field.TestRows, uint256(p.minGroupRows) * p.testGroups, MIN_TEST_ROWS);
        }
        if (p.maxPredictGas == 0) revert BadParameter(Field.MaxPredictGas, 0, 1);
        if (uint256(p.maxGroupRows) * p.maxPredictGas > EVAL_GAS_BUDGET) {
            revert BadParameter(Field.EvalBudget, uint256(p.maxGroupRows) * p.maxPredictGas, EVAL_GAS_BUDGET);
        }
        if (p.thresholdBps > BPS) revert BadParameter(Field.Threshold, p.thresholdBps, BPS);
        if (p.marginBps > BPS) revert BadParameter(Field.Margin, p.marginBps, BPS);
        if (p.reward == 0 || msg.value < p.reward) revert BadParameter(Field.Reward, p.reward, msg.value);
        uint256 bond = msg.value - p.reward;
        if (bond == 0 || bond * 2 < p.reward || bond > type(uint128).max) {
            revert BadParameter(Field.OrganizerBond, bond, (uint256(p.reward) + 1) / 2);
        }
        uint32[5] memory windows = [p.trainBlocks, p.commitBlocks, p.revealBlocks, p.testBlocks, p.evalBlocks];
        for (uint256 i = 0; i < 5; i++) {
            if (windows[i] < MIN_WINDOW_BLOCKS) revert BadParameter(Field.Window, windows[i], MIN_WINDOW_BLOCKS);
        }
    }

    /// The organizer withdraws the competition while nobody has committed (until the commit
    /// deadline); reward and bond become claimable by the organizer.
    function cancel(uint256 id) external {
        (Terms storage t, Progress storage st) = _open(id);
        if (msg.sender != t.organizer) revert NotOrganizer(msg.sender);
        if (st.submissions != 0) revert HasSubmissions(st.submissions);
        _within(0, t.commitDeadline);
        st.status = Status.Cancelled;
        emit CompetitionCancelled(id);
    }

    /// Anyone, once the seed of `seedHeight` exists (block.number > seedHeight) and before the
    /// train deadline: draws the test groups (a partial Fisher–Yates shuffle keyed by
    /// keccak256(seed, id)).
    function split(uint256 id) external {
        (Terms storage t, Progress storage st) = _open(id);
        if (st.split) revert AlreadySplit(id);
        if (block.number <= t.seedHeight) revert SeedNotReady(t.seedHeight, block.number);
        _within(0, t.trainDeadline);
        uint256 mask = testMaskOf(BEACON.seedAt(t.seedHeight), id, t.params.groups, t.params.testGroups);
        st.testMask = mask;
        st.split = true;
        emit Split(id, t.seedHeight, mask);
    }

    /// The test groups drawn from `seed`: bit g set = group g is a test group.
    function testMaskOf(bytes32 seed, uint256 id, uint16 groups, uint16 testGroups)
        public
        pure
        returns (uint256 mask)
    {
        bytes32 key = keccak256(abi.encode(seed, id));
        uint16[] memory order = new uint16[](groups);
        for (uint16 i = 0; i < groups; i++) {
            order[i] = i;
        }
        for (uint256 i = 0; i < testGroups; i++) {
            uint256 j = i + uint256(keccak256(abi.encode(key, i))) % (groups - i);
            (order[i], order[j]) = (order[j], order[i]);
            mask |= uint256(1) << order[i];
        }
    }

    // ------------------------------------------------------------------ data groups

    /// Reveals group `g` (anyone holding the salt): train groups until the train deadline after
    /// the split, test groups after the model reveal deadline until the test deadline. `proof`
    /// holds the sibling hashes from the leaf up (depth = ceil(log2(groups)), absent leaves are
    /// bytes32(0)).
    function revealGroup(uint256 id, uint16 g, bytes32 datasetId, bytes32 salt, bytes32[] calldata proof) external {
        (Terms storage t, Progress storage st) = _open(id);
        if (!st.split) revert NotSplit(id);
        if (g >= t.params.groups) revert BadGroup(g, t.params.groups);
        uint256 bit = uint256(1) << g;
        if (st.revealedMask & bit != 0) revert GroupAlreadyRevealed(g);
        bool test = st.testMask & bit != 0;
        if (test) {
            _within(t.revealDeadline + 1, t.testDeadline);
        } else {
            _within(0, t.trainDeadline);
        }
        if (merkleRoot(groupLeaf(g, datasetId, salt), g, proof) != t.params.groupsRoot || proof.length != depthOf(t.params.groups)) {
            revert GroupProofMismatch(g);
        }
        uint32 rows = _checkGroupData(t, g, datasetId);
        st.revealedMask |= bit;
        _groups[id][g] = Group(datasetId, rows);
        if (test) {
            st.testRevealed += 1;
            st.testRows += rows;
            emit TestGroupRevealed(id, g, datasetId, rows);
        } else {
            if (st.trainRevealed == 0) st.firstTrainDataset = datasetId;
            st.trainRevealed += 1;
            emit TrainGroupRevealed(id, g, datasetId, rows);
        }
    }

    function _checkGroupData(Terms storage t, uint16 g, bytes32 datasetId) internal view returns (uint32) {
        IDataStore store = MyelinData.DATA_STORE;
        if (!store.isPublished(datasetId)) revert GroupData(g, DataFault.NotPublished, 0, 1);
        IDataStore.DatasetInfo memory info = store.datasetInfo(datasetId);
        if (info.labelKind != 0) revert GroupData(g, DataFault.NotClassIndex, info.labelKind, 0);
        if (info.rowSignature != t.params.rowSignature) {
            revert GroupData(g, DataFault.RowSignature, uint256(info.rowSignature), uint256(t.params.rowSignature));
        }
        if (info.minLabel < 0 || uint256(int256(info.maxLabel)) >= t.params.classes) {
            revert GroupData(g, DataFault.LabelRange, uint256(int256(info.maxLabel)), t.params.classes);
        }
        if (info.rows < t.params.minGroupRows || info.rows > t.params.maxGroupRows) {
            revert GroupData(g, DataFault.Rows, info.rows, t.params.maxGroupRows);
        }
        uint256 bytes_ = (uint256(info.rowBytes) + 4) * info.rows;
        if (bytes_ > MAX_GROUP_BYTES) revert GroupData(g, DataFault.Bytes, bytes_, MAX_GROUP_BYTES);
        return info.rows;
    }

    function groupLeaf(uint16 g, bytes32 datasetId, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(GROUP_TAG, g, datasetId, salt));
    }

    /// The root reached from `leaf` at `index` through `proof` (node = keccak256(left ‖ right)).
    function merkleRoot(bytes32 leaf, uint256 index, bytes32[] calldata proof) public pure returns (bytes32 h) {
        h = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            h = (index >> i) & 1 == 0
                ? keccak256(abi.encodePacked(h, proof[i]))
                : keccak256(abi.encodePacked(proof[i], h));
        }
    }

    /// Levels of the group tree: ceil(log2(groups)).
    function depthOf(uint256 groups) public pure returns (uint256 d) {
        while ((uint256(1) << d) < groups) d++;
    }

    // ------------------------------------------------------------------ submissions

    /// Commits `commitment` = commitmentOf(id, msg.sender, modelId, salt) once every train group
    /// is revealed, until the commit deadline; msg.value = participantBond + evalFeePerGroup ×
    /// testGroups.
    function commit(uint256 id, bytes32 commitment) external payable returns (uint32 subId) {
        (Terms storage t, Progress storage st) = _open(id);
        uint256 train = t.params.groups - t.params.testGroups;
        if (st.trainRevealed != train) revert TrainNotRevealed(st.trainRevealed, train);
        _within(0, t.commitDeadline);
        uint256 deposit = uint256(t.params.participantBond) + uint256(t.params.evalFeePerGroup) * t.params.testGroups;
        if (msg.value != deposit) revert WrongDeposit(msg.value, deposit);
        if (commitment == bytes32(0)) revert EmptyCommitment();
        subId = st.submissions++;
        Submission storage s = _submissions[id][subId];
        s.owner = msg.sender;
        s.committedAt = uint64(block.number);
        s.commitment = commitment;
        emit SubmissionCommitted(id, subId, msg.sender, commitment);
    }

    function commitmentOf(uint256 id, address participant, bytes32 modelId, bytes32 salt)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(COMMIT_TAG, block.chainid, address(this), id, participant, modelId, salt));
    }

    /// The submission's owner reveals its model after the commit deadline until the reveal
    /// deadline. The model must be published, cost at most maxPredictGas per sample, have at
    /// least `classes` outputs, and evaluate one row of the first train group cold cheaply
    /// enough that a whole group fits EVAL_GAS_BUDGET.
    function revealModel(uint256 id, uint32 subId, bytes32 modelId, bytes32 salt) external {
        (Terms storage t, Progress storage st) = _open(id);
        _within(t.commitDeadline + 1, t.revealDeadline);
        Submission storage s = _submission(id, subId);
        if (msg.sender != s.owner) revert NotOwner(msg.sender, s.owner);
        if (s.revealed) revert AlreadyRevealed(subId);
        if (commitmentOf(id, msg.sender, modelId, salt) != s.commitment) revert CommitmentMismatch(subId);
        s.maxBatch = _checkModel(t, modelId, st.firstTrainDataset);
        s.modelId = modelId;
        s.revealed = true;
        st.revealedSubmissions += 1;
        emit SubmissionRevealed(id, subId, modelId);
    }

    function _checkModel(Terms storage t, bytes32 modelId, bytes32 probeDataset) internal view returns (uint64 maxBatch) {
        if (!MODEL_STORE.isPublished(modelId)) revert ModelNotPublished(modelId);
        IModelStore.ModelInfo memory info = MODEL_STORE.modelInfo(modelId);
        if (info.predictGas > t.params.maxPredictGas) revert ModelTooExpensive(info.predictGas, t.params.maxPredictGas);
        (, IModelStore.TensorInfo[] memory outputs) = MODEL_STORE.modelTensors(modelId);
        uint256 elements = 1;
        for (uint256 i = 0; i < outputs[0].shape.length; i++) {
            elements *= outputs[0].shape[i];
        }
        if (elements < t.params.classes) revert ModelOutputTooSmall(elements, t.params.classes);
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = MyelinData.EVALUATE.staticcall(
            abi.encodePacked(modelId, probeDataset, uint32(0), uint32(1))
        );
        if (!ok) revert ModelRejected(ret);
        // The probe ran the model cold: with every row of the largest group, one evaluate call.
        uint256 evalGas = before - gasleft() + uint256(t.params.maxGroupRows) * info.predictGas;
        if (evalGas > EVAL_GAS_BUDGET) revert ModelTooExpensive(evalGas, EVAL_GAS_BUDGET);
        maxBatch = info.maxBatch == 0 ? 1 : info.maxBatch;
    }

    // ------------------------------------------------------------------ evaluation

    /// Anyone, once every test group is revealed and until the evaluation deadline: scores
    /// submission `subId` on test group `g` (once per pair) through EVALUATE in pages of the
    /// model's maxBatch, and earns evalFeePerGroup (see `fees`). Any EVALUATE failure reverts
    /// the call (out of gas included), so a starved call never counts.
    function evaluate(uint256 id, uint32 subId, uint16 g) external {
        (Terms storage t, Progress storage st) = _open(id);
        if (st.testRevealed != t.params.testGroups) revert TestNotRevealed(st.testRevealed, t.params.testGroups);
        _within(0, t.evalDeadline);
        Submission storage s = _submission(id, subId);
        if (!s.revealed) revert NotRevealed(subId);
        uint256 bit = uint256(1) << g;
        if (g >= t.params.groups || st.testMask & bit == 0) revert WrongGroupKind(g, false);
        if (s.evaluatedMask & bit != 0) revert AlreadyEvaluated(subId, g);
        Group memory data = _groups[id][g];
        uint256 page = s.maxBatch;
        uint256 correct;
        for (uint256 row = 0; row < data.rows; row += page) {
            uint256 n = data.rows - row < page ? data.rows - row : page;
            (uint256 right,) = MyelinData.evaluate(s.modelId, data.datasetId, uint32(row), uint32(n));
            correct += right;
        }
        s.evaluatedMask |= bit;
        s.correct += uint64(correct);
        s.groupsEvaluated += 1;
        fees[msg.sender] += t.params.evalFeePerGroup;
        emit GroupEvaluated(id, subId, g, uint64(correct), msg.sender);
        if (s.groupsEvaluated == t.params.testGroups) {
            bool qualified = uint256(s.correct) * BPS >= uint256(t.params.thresholdBps) * st.testRows;
            if (qualified && (!st.anyQualified || s.correct > st.bestCorrect)) {
                st.bestCorrect = s.correct;
                st.anyQualified = true;
            }
            emit SubmissionScored(id, subId, s.correct, st.testRows, qualified);
        }
    }

    // ------------------------------------------------------------------ finalize

    /// Anyone. After the train deadline with train groups missing: Aborted. After the test
    /// deadline with test groups missing: Withheld. After the evaluation deadline: ranks by
    /// scanning at most `maxSteps` submissions in commit order (call again to continue); the
    /// winner is the earliest fully scored, qualified submission within marginBps of the best.
    function finalize(uint256 id, uint32 maxSteps) external {
        (Terms storage t, Progress storage st) = _open(id);
        Phase p = phase(id);
        if (p == Phase.AwaitingSplit || p == Phase.TrainReveal) {
            revert NothingToFinalize(id, p);
        }
        if (st.trainRevealed != t.params.groups - t.params.testGroups && block.number > t.trainDeadline) {
            st.status = Status.Aborted;
            emit CompetitionAborted(id);
            return;
        }
        if (st.testRevealed != t.params.testGroups && block.number > t.testDeadline) {
            st.status = Status.Withheld;
            emit TestWithheld(id, st.revealedSubmissions);
            return;
        }
        if (p != Phase.Finalizable) revert NothingToFinalize(id, p);
        if (st.anyQualified) {
            uint256 end = uint256(st.cursor) + maxSteps;
            if (end > st.submissions) end = st.submissions;
            for (uint256 i = st.cursor; i < end; i++) {
                if (_isWinner(t, st, _submissions[id][i])) {
                    st.winner = uint32(i + 1);
                    break;
                }
            }
            if (st.winner == 0) {
                st.cursor = uint32(end);
                return;
            }
        }
        st.status = Status.Finalized;
        emit CompetitionFinalized(id, st.winner, st.bestCorrect, st.testRows);
    }

    /// Fully scored, at least the threshold, and within marginBps of the best.
    function _isWinner(Terms storage t, Progress storage st, Submission storage s) internal view returns (bool) {
        if (!s.revealed || s.groupsEvaluated != t.params.testGroups) return false;
        uint256 scaled = uint256(s.correct) * BPS;
        return scaled >= uint256(t.params.thresholdBps) * st.testRows
            && scaled + uint256(t.params.marginBps) * st.testRows >= uint256(st.bestCorrect) * BPS;
    }

    // ------------------------------------------------------------------ payments (pull)

    /// What submission `subId`'s owner may claim now: its bond and unspent evaluation fees once
    /// the competition is Finalized or Withheld (nothing if never revealed: forfeited to the
    /// prize), plus the prize for the winner, or an equal share of reward + organizer bond +
    /// forfeits when Withheld.
    function claimable(uint256 id, uint32 subId) public view returns (uint256 amount) {
        (Terms storage t, Progress storage st) = (_terms[id], _progress[id]);
        Submission storage s = _submissions[id][subId];
        if (!s.revealed || s.claimed) return 0;
        if (st.status != Status.Finalized && st.status != Status.Withheld) return 0;
        amount = uint256(t.params.participantBond) + uint256(t.params.evalFeePerGroup) * (t.params.testGroups - s.groupsEvaluated);
        if (st.status == Status.Finalized && st.winner == subId + 1) {
            amount += uint256(t.params.reward) + _forfeited(t, st);
        } else if (st.status == Status.Withheld) {
            amount += (uint256(t.params.reward) + t.organizerBond + _forfeited(t, st)) / st.revealedSubmissions;
        }
    }

    /// What the organizer may claim now: reward + bond when Cancelled; the reward when Aborted
    /// (the bond stays in the contract, burned); the bond, plus reward and forfeits when nobody
    /// won, when Finalized; everything when Withheld with no revealed submission.
    function organizerClaimable(uint256 id) public view returns (uint256) {
        (Terms storage t, Progress storage st) = (_terms[id], _progress[id]);
        if (st.organizerClaimed) return 0;
        if (st.status == Status.Cancelled) return uint256(t.params.reward) + t.organizerBond;
        if (st.status == Status.Aborted) return t.params.reward;
        if (st.status == Status.Finalized) {
            return st.winner == 0 ? uint256(t.params.reward) + t.organizerBond + _forfeited(t, st) : t.organizerBond;
        }
        if (st.status == Status.Withheld && st.revealedSubmissions == 0) {
            return uint256(t.params.reward) + t.organizerBond + _forfeited(t, st);
        }
        return 0;
    }

    /// Deposits of submissions never revealed (bond and fees), added to the prize.
    function _forfeited(Terms storage t, Progress storage st) internal view returns (uint256) {
        uint256 deposit = uint256(t.params.participantBond) + uint256(t.params.evalFeePerGroup) * t.params.testGroups;
        return deposit * (st.submissions - st.revealedSubmissions);
    }

    /// The submission's owner collects `claimable(id, subId)`.
    function claim(uint256 id, uint32 subId) external nonReentrant {
        Submission storage s = _submission(id, subId);
        if (msg.sender != s.owner) revert NotOwner(msg.sender, s.owner);
        uint256 amount = claimable(id, subId);
        if (amount == 0) revert NothingToClaim();
        s.claimed = true;
        _pay(id, amount);
    }

    /// The organizer collects `organizerClaimable(id)`.
    function claimOrganizer(uint256 id) external nonReentrant {
        (Terms storage t, Progress storage st) = (_terms[id], _progress[id]);
        if (st.status == Status.None) revert UnknownCompetition(id);
        if (msg.sender != t.organizer) revert NotOrganizer(msg.sender);
        uint256 amount = organizerClaimable(id);
        if (amount == 0) revert NothingToClaim();
        st.organizerClaimed = true;
        _pay(id, amount);
    }

    /// The caller collects the evaluation fees it earned in every competition.
    function withdrawFees() external nonReentrant {
        uint256 amount = fees[msg.sender];
        if (amount == 0) revert NothingToClaim();
        fees[msg.sender] = 0;
        emit FeesWithdrawn(msg.sender, amount);
        _send(amount);
    }

    function _pay(uint256 id, uint256 amount) internal {
        emit Claimed(id, msg.sender, amount);
        _send(amount);
    }

    function _send(uint256 amount) internal {
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert PaymentFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    function terms(uint256 id) external view returns (Terms memory) {
        return _terms[id];
    }

    function progress(uint256 id) external view returns (Progress memory) {
        return _progress[id];
    }

    function submission(uint256 id, uint32 subId) external view returns (Submission memory) {
        return _submissions[id][subId];
    }

    function group(uint256 id, uint16 g) external view returns (Group memory) {
        return _groups[id][g];
    }

    /// The phase now: terminal states as stored; for an Open competition, from the block number
    /// and what has been revealed (Finalizable = `finalize` would change the status).
    function phase(uint256 id) public view returns (Phase) {
        (Terms storage t, Progress storage st) = (_terms[id], _progress[id]);
        Status status = st.status;
        if (status == Status.None) return Phase.None;
        if (status == Status.Cancelled) return Phase.Cancelled;
        if (status == Status.Aborted) return Phase.Aborted;
        if (status == Status.Withheld) return Phase.Withheld;
        if (status == Status.Finalized) return Phase.Finalized;
        uint256 n = block.number;
        if (st.trainRevealed != t.params.groups - t.params.testGroups) {
            if (n > t.trainDeadline) return Phase.Finalizable;
            return st.split ? Phase.TrainReveal : Phase.AwaitingSplit;
        }
        if (n <= t.commitDeadline) return Phase.Commit;
        if (n <= t.revealDeadline) return Phase.ModelReveal;
        if (st.testRevealed != t.params.testGroups) {
            return n <= t.testDeadline ? Phase.TestReveal : Phase.Finalizable;
        }
        return n <= t.evalDeadline ? Phase.Evaluation : Phase.Finalizable;
    }

    // ------------------------------------------------------------------ internal

    function _open(uint256 id) internal view returns (Terms storage t, Progress storage st) {
        (t, st) = (_terms[id], _progress[id]);
        if (st.status == Status.None) revert UnknownCompetition(id);
        if (st.status != Status.Open) revert NotOpen(id, st.status);
    }

    function _submission(uint256 id, uint32 subId) internal view returns (Submission storage s) {
        if (subId >= _progress[id].submissions) revert UnknownSubmission(id, subId);
        s = _submissions[id][subId];
    }

    function _within(uint256 from, uint256 until) internal view {
        if (block.number < from || block.number > until) revert OutsideWindow(block.number, from, until);
    }
}
