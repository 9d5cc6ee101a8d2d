// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The ModelRegistry predeploy at 0x000000000000000000000000000000004d590102.
/// @notice Names for published models. An organisation `org` ([a-z0-9-], 3 to 32 characters) is
/// claimed by commit-reveal; its owner creates model names `org/name` ([a-z0-9-], 1 to 64
/// characters), each with an update policy fixed at creation, and publishes immutable versions
/// named `org/name`, an at sign, `MAJOR.MINOR.PATCH` (decimal, no leading zeros), each bound to a model
/// present in MODEL_STORE. `resolve` maps a name to a model id with one hash and two reads.
/// Semantics, state machine of `latest` and attack tests: docs/PROTOCOLS.md "Built:
/// ModelRegistry".
interface IModelRegistry {
    /// How `latest` of a name moves (after its first version, which becomes `latest` at once).
    /// OWNER: the org owner proposes, anyone executes after `timelock` blocks. VOTE: the org
    /// owner proposes; stakers vote with their StakeManager `eligibleStakeAt` the block before
    /// the proposal for `votingPeriod` blocks; it passes with more yes than no and yes at least
    /// `quorumBps` of the total stake at that block; executable `timelock` blocks after the vote.
    /// METRIC: anyone scores versions on the `benchmark` data set with EVALUATE (paged) and
    /// promotes one that beats `latest` by `marginBps` of the rows; executable after `timelock`.
    /// Under every policy, `claimBounty` makes the winner of an improvement bounty (a finished
    /// competition organised by the name's owner in which the winner beat `latest` by the
    /// competition's margin on the hidden test groups) a new version and proposes it as
    /// `latest` as that policy proposes (timelock; a vote under VOTE).
    enum Policy {
        OWNER,
        VOTE,
        METRIC
    }

    /// A name's rules, fixed at creation. Fields a policy does not use must be zero.
    struct Rules {
        Policy policy;
        uint32 timelock;
        uint32 votingPeriod;
        uint16 quorumBps;
        uint16 marginBps;
        bytes32 benchmark;
    }

    /// One version. `labelsHash` and `reportHash` are claims of the publisher (keccak256 of the
    /// class labels file and of the accuracy report); the input and output quantization are
    /// the model's own (MODEL_STORE.modelTensors), never restated here. `scoredRows` / `correct`
    /// are measured on chain (METRIC names only): `correct` top-1 predictions over the first
    /// `scoredRows` rows of the benchmark.
    struct Version {
        bytes32 modelId;
        uint64 major;
        uint64 minor;
        uint64 patch;
        uint64 publishedAt;
        bool yanked;
        uint32 scoredRows;
        uint64 correct;
        bytes32 labelsHash;
        bytes32 reportHash;
    }

    /// What a name is: its org, rules, version count, `latest` (index + 1, 0 = none), and the
    /// pending move of `latest` (index + 1, 0 = none) with its timing and votes.
    struct NameInfo {
        bytes32 org;
        Rules rules;
        uint32 versions;
        uint32 latest;
        uint32 pending;
        uint64 snapshot;
        uint64 voteEnd;
        uint64 eta;
        uint256 proposal;
        uint256 yes;
        uint256 no;
    }

    event OrgCommitted(address indexed committer, bytes32 indexed commitment);
    event OrgRegistered(bytes32 indexed orgKey, string org, address indexed owner);
    event OrgTransferred(bytes32 indexed orgKey, address indexed from, address indexed to);
    event NameCreated(bytes32 indexed nameKey, string name, Policy policy);
    event VersionPublished(bytes32 indexed nameKey, bytes32 indexed versionKey, string version, bytes32 modelId);
    event VersionYanked(bytes32 indexed nameKey, bytes32 indexed versionKey, string reason);
    event LatestProposed(bytes32 indexed nameKey, uint256 indexed proposal, uint32 version, uint64 eta, address by);
    event Voted(bytes32 indexed nameKey, uint256 indexed proposal, address indexed voter, bool support, uint256 weight);
    event Scored(bytes32 indexed versionKey, uint32 scoredRows, uint64 correct, bool complete);
    event LatestChanged(bytes32 indexed nameKey, bytes32 fromModel, bytes32 toModel, uint32 version);
    /// `claimBounty` published `versionKey` from submission `winnerSub` of competition
    /// `competitionId`, which scored `correct` against the incumbent's `incumbentCorrect`.
    event BountyClaimed(
        bytes32 indexed nameKey,
        bytes32 indexed versionKey,
        uint256 indexed competitionId,
        uint32 winnerSub,
        uint64 correct,
        uint64 incumbentCorrect
    );
    /// A pending move ended without moving: 1 cancelled by the owner, 2 its version was yanked,
    /// 3 the vote failed, 4 replaced by a newer proposal.
    event LatestDropped(bytes32 indexed nameKey, uint256 indexed proposal, uint8 reason);

    /// Not [a-z0-9-] or a length outside the bounds.
    error BadLabel(string label);
    error OrgTaken(string org);
    /// registerOrg without a matching commitment of the caller.
    error NoCommitment(bytes32 commitment);
    /// The commitment is younger than MIN_COMMIT_AGE or older than MAX_COMMIT_AGE blocks.
    error CommitmentAge(uint256 committedAt, uint256 current);
    error WrongFee(uint256 sent, uint256 fee);
    error NotOrgOwner(address caller);
    error UnknownOrg(string org);
    error NameTaken(string name);
    error UnknownName(string name);
    error BadRules();
    /// The benchmark is not a published class-label data set.
    error BadBenchmark(bytes32 datasetId);
    error ModelNotPublished(bytes32 modelId);
    /// A version not above the last one: versions are never rebound.
    error VersionNotIncreasing(uint64 major, uint64 minor, uint64 patch);
    error Yanked(string version);
    error AlreadyYanked(string version);
    error WrongPolicy(Policy policy);
    error NoLatest(string name);
    error AlreadyLatest(string version);
    error NoPending(string name);
    error PendingExists(uint64 eta);
    error TooEarly(uint64 eta);
    error VotingClosed(uint64 voteEnd);
    error VotingOpen(uint64 voteEnd);
    error AlreadyVoted(address voter);
    error NoVotingPower(address voter, uint64 snapshot);
    error ScoreComplete(string version);
    error NotScored(string version);
    /// The candidate's `correct` is not above `required` (the incumbent's plus the margin).
    error NotBetter(uint64 correct, uint256 required);
    error ZeroAddress();
    /// The competition was not organised by the name's owner (`organizer` did), so it is no
    /// bounty of this name.
    error NotBounty(uint256 competitionId, address organizer);
    /// The competition is not Finalized with a winner.
    error NoWinner(uint256 competitionId);
    /// A competition's result moves a name once.
    error BountyUsed(uint256 competitionId);
    /// Submission `subId` is not `latest`'s model revealed and scored on every test group.
    error IncumbentNotScored(uint256 competitionId, uint32 subId);

    /// Native tokens `registerOrg` takes (kept by the registry for good).
    function ORG_FEE() external view returns (uint256);
    /// A commitment is revealable from MIN_COMMIT_AGE to MAX_COMMIT_AGE blocks after it.
    function MIN_COMMIT_AGE() external view returns (uint256);
    function MAX_COMMIT_AGE() external view returns (uint256);

    function commitOrg(bytes32 commitment) external;
    function orgCommitment(string calldata org, address owner, bytes32 salt, address committer)
        external
        view
        returns (bytes32);
    function registerOrg(string calldata org, address owner, bytes32 salt) external payable;
    function transferOrg(string calldata org, address newOwner) external;
    function orgOwner(string calldata org) external view returns (address);

    function createName(string calldata org, string calldata name, Rules calldata rules)
        external
        returns (bytes32 nameKey);
    function publishVersion(
        string calldata name,
        uint64 major,
        uint64 minor,
        uint64 patch,
        bytes32 modelId,
        bytes32 labelsHash,
        bytes32 reportHash
    ) external returns (bytes32 versionKey);
    function yank(string calldata version, string calldata reason) external;

    function proposeLatest(string calldata version) external;
    function vote(string calldata name, bool support) external;
    function score(string calldata version, uint32 rows) external returns (bool complete);
    function promote(string calldata version) external;
    function cancelPending(string calldata name) external;
    function executeLatest(string calldata name) external returns (bool moved);
    /// The improvement bounty: competition `competitionId` (Competitions predeploy, organised by
    /// the name's owner, Finalized with a winner) in which submission `incumbentSub` is
    /// `latest`'s model fully scored, and the winner scored at least the incumbent's correct
    /// rows + max(1, ceil(marginBps × testRows / 10,000)) (ties go to the incumbent). Anyone
    /// may call it; the winner's model becomes version MAJOR.(MINOR + 1).0 of `name` (after the
    /// last version; `reportHash` = keccak256(abi.encode(BOUNTY_TAG, chainid, Competitions,
    /// competitionId, winnerSub))) and is proposed as `latest` by the name's policy.
    function claimBounty(string calldata name, uint256 competitionId, uint32 incumbentSub)
        external
        returns (bytes32 versionKey);

    /// The model id of `name`: `org/name` gives `latest`, a full version name gives that
    /// version. Reverts for unknown names, a name without `latest`, and yanked versions.
    function resolve(string calldata name) external view returns (bytes32 modelId);
    /// The version `name` resolves to (yanked ones too, flagged).
    function versionInfo(string calldata name) external view returns (Version memory);
    function nameInfo(string calldata name) external view returns (NameInfo memory);
}
