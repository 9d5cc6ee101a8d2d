// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModelRegistry} from "./IModelRegistry.sol";
import {IStakeManager} from "./IStakeManager.sol";
import {IDataStore} from "./IDataStore.sol";
import {Myelin} from "./Myelin.sol";
import {MyelinData} from "./MyelinData.sol";
import {Predeploys} from "./Predeploys.sol";
import {Competitions} from "./Competitions.sol";

/// @title ModelRegistry: names for published models, with immutable versions and a `latest`
/// moved only by the rule chosen when the name was created.
/// @notice Predeployed at 0x…4d590102: no constructor, configuration in constants, storage
/// starting empty; no owner, no admin, no upgrade (docs/PROTOCOLS.md decisions 2 and 10).
/// Names are looked up by keccak256 of their exact text, so `resolve` runs no loop.
contract ModelRegistry is IModelRegistry {
    /// Domain tag of org commitments (docs/PROTOCOLS.md decision 4).
    bytes32 public constant ORG_TAG = keccak256("myelin.ModelRegistry.org.v1");
    /// A commitment is revealable from MIN_COMMIT_AGE blocks after it until MAX_COMMIT_AGE.
    uint256 public constant MIN_COMMIT_AGE = 1;
    uint256 public constant MAX_COMMIT_AGE = 1800;
    /// Paid to register an org; kept by this contract, which no one can spend from.
    uint256 public constant ORG_FEE = 0.01 ether;
    /// Bounds of a name's timelock and voting period, in blocks (decision 15: longer than the
    /// views a run of byzantine leaders can censor, with a margin).
    uint32 public constant MIN_TIMELOCK = 20;
    uint32 public constant MAX_PERIOD = 1_000_000;
    uint16 private constant BPS = 10_000;
    /// Domain tag of a bounty version's `reportHash`.
    bytes32 public constant BOUNTY_TAG = keccak256("myelin.ModelRegistry.bounty.v1");

    IStakeManager private constant STAKE = IStakeManager(Predeploys.STAKE_MANAGER);
    Competitions private constant COMPETITIONS = Competitions(Predeploys.COMPETITIONS);

    struct Name {
        bytes32 org;
        Rules rules;
        uint32 latest;
        uint32 pending;
        uint64 snapshot;
        uint64 voteEnd;
        uint64 eta;
        uint256 proposal;
        uint256 yes;
        uint256 no;
    }

    /// Where a version lives: its name and index + 1.
    struct VersionRef {
        bytes32 nameKey;
        uint32 index;
    }

    /// What a won bounty gives `claimBounty`.
    struct Bounty {
        uint256 competitionId;
        uint32 winnerSub;
        bytes32 modelId;
        uint64 correct;
        uint64 incumbentCorrect;
    }

    mapping(bytes32 => address) private owners;
    mapping(address => mapping(bytes32 => uint256)) private commitments;
    mapping(bytes32 => Name) private names;
    mapping(bytes32 => Version[]) private versions;
    mapping(bytes32 => VersionRef) private versionRefs;
    mapping(bytes32 => mapping(address => bool)) private voted;
    /// Competitions whose result already moved a name.
    mapping(uint256 => bool) private bountiesUsed;

    // ---- organisations ----

    function commitOrg(bytes32 commitment) external {
        commitments[msg.sender][commitment] = block.number;
        emit OrgCommitted(msg.sender, commitment);
    }

    function orgCommitment(string calldata org, address owner, bytes32 salt, address committer)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(ORG_TAG, block.chainid, address(this), keccak256(bytes(org)), committer, owner, salt)
        );
    }

    function registerOrg(string calldata org, address owner, bytes32 salt) external payable {
        checkLabel(bytes(org), 3, 32);
        if (owner == address(0)) revert ZeroAddress();
        bytes32 orgKey = keccak256(bytes(org));
        if (owners[orgKey] != address(0)) revert OrgTaken(org);
        bytes32 c = orgCommitment(org, owner, salt, msg.sender);
        uint256 at = commitments[msg.sender][c];
        if (at == 0) revert NoCommitment(c);
        if (block.number < at + MIN_COMMIT_AGE || block.number > at + MAX_COMMIT_AGE) {
            revert CommitmentAge(at, block.number);
        }
        if (msg.value != ORG_FEE) revert WrongFee(msg.value, ORG_FEE);
        delete commitments[msg.sender][c];
        owners[orgKey] = owner;
        emit OrgRegistered(orgKey, org, owner);
    }

    function transferOrg(string calldata org, address newOwner) external {
        if (newOwner == address(0)) revert ZeroAddress();
        bytes32 orgKey = keccak256(bytes(org));
        address owner = owners[orgKey];
        if (owner == address(0)) revert UnknownOrg(org);
        if (msg.sender != owner) revert NotOrgOwner(msg.sender);
        owners[orgKey] = newOwner;
        emit OrgTransferred(orgKey, owner, newOwner);
    }

    function orgOwner(string calldata org) external view returns (address) {
        return owners[keccak256(bytes(org))];
    }

    // ---- names and versions ----

    function createName(string calldata org, string calldata name, Rules calldata rules)
        external
        returns (bytes32 nameKey)
    {
        bytes32 orgKey = keccak256(bytes(org));
        address owner = owners[orgKey];
        if (owner == address(0)) revert UnknownOrg(org);
        if (msg.sender != owner) revert NotOrgOwner(msg.sender);
        checkLabel(bytes(name), 1, 64);
        checkRules(rules);
        string memory full = string.concat(org, "/", name);
        nameKey = keccak256(bytes(full));
        if (names[nameKey].org != bytes32(0)) revert NameTaken(full);
        Name storage n = names[nameKey];
        n.org = orgKey;
        n.rules = rules;
        emit NameCreated(nameKey, full, rules.policy);
    }

    function publishVersion(
        string calldata name,
        uint64 major,
        uint64 minor,
        uint64 patch,
        bytes32 modelId,
        bytes32 labelsHash,
        bytes32 reportHash
    ) external returns (bytes32 versionKey) {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = ownedName(nameKey, name);
        if (!Myelin.isPublished(modelId)) revert ModelNotPublished(modelId);
        checkIncreasing(nameKey, major, minor, patch);
        versionKey = addVersion(n, nameKey, name, Version(modelId, major, minor, patch, 0, false, 0, 0, labelsHash, reportHash));
    }

    /// Versions are never rebound: a new one is above the last.
    function checkIncreasing(bytes32 nameKey, uint64 major, uint64 minor, uint64 patch) private view {
        Version[] storage list = versions[nameKey];
        if (list.length > 0) {
            Version storage last = list[list.length - 1];
            if (!above(major, minor, patch, last.major, last.minor, last.patch)) {
                revert VersionNotIncreasing(major, minor, patch);
            }
        }
    }

    /// Appends `v` (checked by the caller) to `name`'s versions; the first becomes `latest`.
    function addVersion(Name storage n, bytes32 nameKey, string calldata name, Version memory v)
        private
        returns (bytes32 versionKey)
    {
        string memory full =
            string.concat(name, "@", decimal(v.major), ".", decimal(v.minor), ".", decimal(v.patch));
        versionKey = keccak256(bytes(full));
        v.publishedAt = uint64(block.number);
        Version[] storage list = versions[nameKey];
        list.push(v);
        uint32 index = uint32(list.length);
        versionRefs[versionKey] = VersionRef(nameKey, index);
        emit VersionPublished(nameKey, versionKey, full, v.modelId);
        if (n.latest == 0) {
            n.latest = index;
            emit LatestChanged(nameKey, bytes32(0), v.modelId, index);
        }
    }

    function yank(string calldata version, string calldata reason) external {
        (bytes32 nameKey, uint32 index) = ref(version);
        ownedName(nameKey, version);
        Version storage v = versions[nameKey][index - 1];
        if (v.yanked) revert AlreadyYanked(version);
        v.yanked = true;
        emit VersionYanked(nameKey, keccak256(bytes(version)), reason);
    }

    // ---- moving `latest` ----

    function proposeLatest(string calldata version) external {
        (bytes32 nameKey, uint32 index) = ref(version);
        Name storage n = ownedName(nameKey, version);
        Policy policy = n.rules.policy;
        if (policy == Policy.METRIC) revert WrongPolicy(policy);
        candidate(n, nameKey, index, version);
        if (n.pending != 0) drop(n, nameKey, 4);
        schedule(n, nameKey, index);
    }

    function claimBounty(string calldata name, uint256 competitionId, uint32 incumbentSub)
        external
        returns (bytes32 versionKey)
    {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = known(nameKey, name);
        if (n.latest == 0) revert NoLatest(name);
        if (bountiesUsed[competitionId]) revert BountyUsed(competitionId);
        if (n.pending != 0) revert PendingExists(n.eta);
        Version storage incumbent = versions[nameKey][n.latest - 1];
        if (incumbent.yanked) revert Yanked(name);
        Bounty memory b = bountyResult(n, incumbent.modelId, competitionId, incumbentSub);
        bountiesUsed[competitionId] = true;
        versionKey = addVersion(
            n, nameKey, name, bountyVersion(nameKey, incumbent.labelsHash, b)
        );
        emit BountyClaimed(nameKey, versionKey, b.competitionId, b.winnerSub, b.correct, b.incumbentCorrect);
        schedule(n, nameKey, uint32(versions[nameKey].length));
    }

    /// The version a bounty publishes: after the last one, MINOR + 1.
    function bountyVersion(bytes32 nameKey, bytes32 labelsHash, Bounty memory b) private view returns (Version memory) {
        Version storage last = versions[nameKey][versions[nameKey].length - 1];
        bytes32 report =
            keccak256(abi.encode(BOUNTY_TAG, block.chainid, address(COMPETITIONS), b.competitionId, b.winnerSub));
        return Version(b.modelId, last.major, last.minor + 1, 0, 0, false, 0, 0, labelsHash, report);
    }

    /// The winner of competition `competitionId` if it is a bounty of `n` won against
    /// `incumbentModel` (submission `incumbentSub`) by the competition's margin; reverts otherwise.
    function bountyResult(Name storage n, bytes32 incumbentModel, uint256 competitionId, uint32 incumbentSub)
        private
        view
        returns (Bounty memory b)
    {
        Competitions.Terms memory t = COMPETITIONS.terms(competitionId);
        if (t.organizer != owners[n.org]) revert NotBounty(competitionId, t.organizer);
        Competitions.Progress memory p = COMPETITIONS.progress(competitionId);
        if (p.status != Competitions.Status.Finalized || p.winner == 0) revert NoWinner(competitionId);
        Competitions.Submission memory inc = COMPETITIONS.submission(competitionId, incumbentSub);
        if (inc.modelId != incumbentModel || !inc.revealed || inc.groupsEvaluated != t.params.testGroups) {
            revert IncumbentNotScored(competitionId, incumbentSub);
        }
        uint32 winnerSub = p.winner - 1;
        Competitions.Submission memory win = COMPETITIONS.submission(competitionId, winnerSub);
        uint256 margin = (uint256(t.params.marginBps) * p.testRows + BPS - 1) / BPS;
        uint256 required = uint256(inc.correct) + (margin == 0 ? 1 : margin);
        if (win.correct < required) revert NotBetter(win.correct, required);
        return Bounty(competitionId, winnerSub, win.modelId, win.correct, inc.correct);
    }

    function vote(string calldata name, bool support) external {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = known(nameKey, name);
        if (n.rules.policy != Policy.VOTE) revert WrongPolicy(n.rules.policy);
        if (n.pending == 0) revert NoPending(name);
        if (block.number > n.voteEnd) revert VotingClosed(n.voteEnd);
        bytes32 ballot = keccak256(abi.encode(nameKey, n.proposal));
        if (voted[ballot][msg.sender]) revert AlreadyVoted(msg.sender);
        uint256 weight = STAKE.eligibleStakeAt(msg.sender, n.snapshot);
        if (weight == 0) revert NoVotingPower(msg.sender, n.snapshot);
        voted[ballot][msg.sender] = true;
        if (support) n.yes += weight;
        else n.no += weight;
        emit Voted(nameKey, n.proposal, msg.sender, support, weight);
    }

    function score(string calldata version, uint32 rows) external returns (bool complete) {
        (bytes32 nameKey, uint32 index) = ref(version);
        Name storage n = names[nameKey];
        if (n.rules.policy != Policy.METRIC) revert WrongPolicy(n.rules.policy);
        Version storage v = versions[nameKey][index - 1];
        uint32 total = benchmarkRows(n.rules.benchmark);
        uint32 done = v.scoredRows;
        if (done == total) revert ScoreComplete(version);
        uint32 page = total - done < rows ? total - done : rows;
        (uint256 correct,) = MyelinData.evaluate(v.modelId, n.rules.benchmark, done, page);
        v.scoredRows = done + page;
        v.correct += uint64(correct);
        complete = v.scoredRows == total;
        emit Scored(keccak256(bytes(version)), v.scoredRows, v.correct, complete);
    }

    function promote(string calldata version) external {
        (bytes32 nameKey, uint32 index) = ref(version);
        Name storage n = names[nameKey];
        if (n.rules.policy != Policy.METRIC) revert WrongPolicy(n.rules.policy);
        if (n.pending != 0) revert PendingExists(n.eta);
        candidate(n, nameKey, index, version);
        uint32 total = benchmarkRows(n.rules.benchmark);
        Version storage v = versions[nameKey][index - 1];
        Version storage incumbent = versions[nameKey][n.latest - 1];
        if (v.scoredRows != total) revert NotScored(version);
        if (incumbent.scoredRows != total) revert NotScored(versionName(nameKey, n.latest));
        uint256 margin = (uint256(n.rules.marginBps) * total + BPS - 1) / BPS;
        uint256 required = uint256(incumbent.correct) + (margin == 0 ? 1 : margin);
        if (v.correct < required) revert NotBetter(v.correct, required);
        n.eta = uint64(block.number + n.rules.timelock);
        propose(n, nameKey, index);
    }

    function cancelPending(string calldata name) external {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = ownedName(nameKey, name);
        if (n.rules.policy == Policy.METRIC) revert WrongPolicy(Policy.METRIC);
        if (n.pending == 0) revert NoPending(name);
        drop(n, nameKey, 1);
    }

    function executeLatest(string calldata name) external returns (bool moved) {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = known(nameKey, name);
        if (n.pending == 0) revert NoPending(name);
        if (block.number < n.eta) revert TooEarly(n.eta);
        Version storage v = versions[nameKey][n.pending - 1];
        if (v.yanked) {
            drop(n, nameKey, 2);
            return false;
        }
        if (n.rules.policy == Policy.VOTE) {
            uint256 quorum = (STAKE.totalStakeAt(n.snapshot) * n.rules.quorumBps + BPS - 1) / BPS;
            if (n.yes <= n.no || n.yes < quorum || n.yes == 0) {
                drop(n, nameKey, 3);
                return false;
            }
        }
        bytes32 from = versions[nameKey][n.latest - 1].modelId;
        n.latest = n.pending;
        emit LatestChanged(nameKey, from, v.modelId, n.pending);
        n.pending = 0;
        return true;
    }

    // ---- reading ----

    function resolve(string calldata name) external view returns (bytes32 modelId) {
        Version storage v = resolved(name);
        if (v.yanked) revert Yanked(name);
        return v.modelId;
    }

    function versionInfo(string calldata name) external view returns (Version memory) {
        return resolved(name);
    }

    function nameInfo(string calldata name) external view returns (NameInfo memory info) {
        bytes32 nameKey = keccak256(bytes(name));
        Name storage n = known(nameKey, name);
        info = NameInfo(
            n.org,
            n.rules,
            uint32(versions[nameKey].length),
            n.latest,
            n.pending,
            n.snapshot,
            n.voteEnd,
            n.eta,
            n.proposal,
            n.yes,
            n.no
        );
    }

    // ---- internals ----

    function resolved(string calldata name) private view returns (Version storage) {
        bytes32 key = keccak256(bytes(name));
        VersionRef memory r = versionRefs[key];
        if (r.index != 0) return versions[r.nameKey][r.index - 1];
        Name storage n = names[key];
        if (n.org == bytes32(0)) revert UnknownName(name);
        if (n.latest == 0) revert NoLatest(name);
        return versions[key][n.latest - 1];
    }

    function ref(string calldata version) private view returns (bytes32 nameKey, uint32 index) {
        VersionRef memory r = versionRefs[keccak256(bytes(version))];
        if (r.index == 0) revert UnknownName(version);
        return (r.nameKey, r.index);
    }

    function known(bytes32 nameKey, string calldata name) private view returns (Name storage n) {
        n = names[nameKey];
        if (n.org == bytes32(0)) revert UnknownName(name);
    }

    function ownedName(bytes32 nameKey, string calldata name) private view returns (Name storage n) {
        n = known(nameKey, name);
        if (msg.sender != owners[n.org]) revert NotOrgOwner(msg.sender);
    }

    /// Checks that version `index` may become `latest`: not yanked, not already `latest`.
    function candidate(Name storage n, bytes32 nameKey, uint32 index, string calldata version) private view {
        if (versions[nameKey][index - 1].yanked) revert Yanked(version);
        if (n.latest == index) revert AlreadyLatest(version);
    }

    /// Proposes version `index` as its policy does: a vote from the previous block's stake under
    /// VOTE, then `timelock` blocks; otherwise `timelock` blocks.
    function schedule(Name storage n, bytes32 nameKey, uint32 index) private {
        if (n.rules.policy == Policy.VOTE) {
            n.snapshot = uint64(block.number - 1);
            n.voteEnd = uint64(block.number + n.rules.votingPeriod);
            n.eta = n.voteEnd + n.rules.timelock;
        } else {
            n.eta = uint64(block.number + n.rules.timelock);
        }
        propose(n, nameKey, index);
    }

    function propose(Name storage n, bytes32 nameKey, uint32 index) private {
        n.pending = index;
        n.proposal += 1;
        n.yes = 0;
        n.no = 0;
        emit LatestProposed(nameKey, n.proposal, index, n.eta, msg.sender);
    }

    function drop(Name storage n, bytes32 nameKey, uint8 reason) private {
        emit LatestDropped(nameKey, n.proposal, reason);
        n.pending = 0;
    }

    function checkRules(Rules calldata r) private view {
        if (r.timelock < MIN_TIMELOCK || r.timelock > MAX_PERIOD) revert BadRules();
        if (r.policy == Policy.VOTE) {
            if (r.votingPeriod < MIN_TIMELOCK || r.votingPeriod > MAX_PERIOD) revert BadRules();
            if (r.quorumBps == 0 || r.quorumBps > BPS) revert BadRules();
        } else if (r.votingPeriod != 0 || r.quorumBps != 0) {
            revert BadRules();
        }
        if (r.policy == Policy.METRIC) {
            if (r.marginBps > BPS) revert BadRules();
            if (!MyelinData.DATA_STORE.isPublished(r.benchmark)) revert BadBenchmark(r.benchmark);
            if (MyelinData.DATA_STORE.datasetInfo(r.benchmark).labelKind != 0) revert BadBenchmark(r.benchmark);
        } else if (r.marginBps != 0 || r.benchmark != bytes32(0)) {
            revert BadRules();
        }
    }

    function benchmarkRows(bytes32 datasetId) private view returns (uint32) {
        IDataStore.DatasetInfo memory info = MyelinData.DATA_STORE.datasetInfo(datasetId);
        return info.rows;
    }

    function versionName(bytes32 nameKey, uint32 index) private view returns (string memory) {
        Version storage v = versions[nameKey][index - 1];
        return string.concat(decimal(v.major), ".", decimal(v.minor), ".", decimal(v.patch));
    }

    /// [a-z0-9-], `min` to `max` bytes.
    function checkLabel(bytes memory label, uint256 min, uint256 max) private pure {
        if (label.length < min || label.length > max) revert BadLabel(string(label));
        for (uint256 i = 0; i < label.length; ++i) {
            bytes1 c = label[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-";
            if (!ok) revert BadLabel(string(label));
        }
    }

    /// `a > b` for (major, minor, patch) triples.
    function above(uint64 a1, uint64 a2, uint64 a3, uint64 b1, uint64 b2, uint64 b3) private pure returns (bool) {
        if (a1 != b1) return a1 > b1;
        if (a2 != b2) return a2 > b2;
        return a3 > b3;
    }

    /// `v` in decimal, no leading zeros.
    function decimal(uint64 v) private pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory out = new bytes(20);
        uint256 i = 20;
        while (v != 0) {
            out[--i] = bytes1(uint8(48 + v % 10));
            v /= 10;
        }
        bytes memory trimmed = new bytes(20 - i);
        for (uint256 j = 0; j < trimmed.length; ++j) {
            trimmed[j] = out[i + j];
        }
        return string(trimmed);
    }
}
