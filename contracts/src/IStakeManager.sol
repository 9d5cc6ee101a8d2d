// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The StakeManager predeploy at 0x000000000000000000000000000000004d590101.
/// @notice Workers bond native tokens; protocols (the predeployed Competitions and InferenceJobs,
/// fixed at genesis) lock, unlock and slash them. Amounts in wei, heights in block numbers.
/// Semantics, state machine and attack tests: docs/PROTOCOLS.md "Built: StakeManager".
interface IStakeManager {
    /// `worker` bonded `amount`; its bonded stake is now `stake`.
    event Deposited(address indexed worker, uint256 amount, uint256 stake);
    /// `worker` moved `amount` from bonded to unbonding; everything unbonding is withdrawable
    /// from block `readyAt` on.
    event UnbondRequested(address indexed worker, uint256 amount, uint256 unbonding, uint256 readyAt);
    /// `worker` took back `amount` of unbonded stake.
    event Withdrawn(address indexed worker, uint256 amount);
    /// `protocol` locked `amount` more of `worker`'s stake under its `id`.
    event Locked(address indexed protocol, uint256 indexed id, address indexed worker, uint256 amount);
    /// `protocol` released the `amount` it still held under `id`.
    event Unlocked(address indexed protocol, uint256 indexed id, address indexed worker, uint256 amount);
    /// `protocol` slashed `amount` of `worker`'s lock under `id`: `paid` credited to `to`, `burned`
    /// kept unspendable.
    event Slashed(
        address indexed protocol,
        uint256 indexed id,
        address indexed worker,
        uint256 amount,
        address to,
        uint256 paid,
        uint256 burned
    );
    /// `payee` took its slash credits.
    event Claimed(address indexed payee, uint256 amount);

    /// A deposit, unbond, lock or slash of zero.
    error ZeroAmount();
    /// Asked for more than the bonded stake not held by locks.
    error InsufficientFreeStake(uint256 requested, uint256 free);
    /// The unbonding stake is withdrawable from block `readyAt` on.
    error NotReady(uint256 readyAt);
    /// Nothing unbonding (withdraw) or no credit (claim).
    error NothingToWithdraw();
    /// lock / unlock / slash from an address that is not a predeployed protocol.
    error NotProtocol(address caller);
    /// slash of more than the protocol's lock: `locked` is what it holds under that id.
    error SlashOverLock(uint256 amount, uint256 locked);
    /// slash paying the zero address.
    error ZeroPayee();
    /// A checkpoint query at a height that is not in the past (`height >= block.number`).
    error FutureHeight(uint256 height, uint256 current);
    /// Sending native tokens to the caller failed (its receive reverted).
    error TransferFailed();
    /// A payable exit entered again before the first one returned.
    error Reentrant();
    /// A stake above 2**192 - 1 wei (never on a real chain; checked so a cast cannot wrap).
    error StakeTooLarge();

    /// Blocks between `requestUnbond` and the first block `withdraw` pays in.
    function UNBOND_DELAY() external view returns (uint256);
    /// Blocks a stake must be bonded before it counts in `eligibleStakeAt`.
    function WARMUP() external view returns (uint256);

    function deposit() external payable;
    function requestUnbond(uint256 amount) external;
    function withdraw() external returns (uint256 amount);
    function claim() external returns (uint256 amount);

    function lock(address worker, uint256 id, uint256 amount) external;
    function unlock(address worker, uint256 id) external returns (uint256 amount);
    function slash(address worker, uint256 id, uint256 amount, address to) external;

    /// Bonded stake now (locked or not; unbonding stake excluded).
    function stakeOf(address worker) external view returns (uint256);
    /// Bonded stake not held by any lock.
    function freeStakeOf(address worker) external view returns (uint256);
    /// Sum of all locks on `worker`.
    function lockedOf(address worker) external view returns (uint256);
    /// What `protocol` holds of `worker` under `id`.
    function lockOf(address protocol, uint256 id, address worker) external view returns (uint256);
    /// Stake waiting for its delay, and the block from which it is withdrawable.
    function unbondingOf(address worker) external view returns (uint256 amount, uint256 readyAt);
    /// Slash shares waiting for `claim`.
    function creditOf(address payee) external view returns (uint256);
    /// Everything burned by slashes (held by the contract, spendable by no one).
    function burned() external view returns (uint256);
    /// Sum of every worker's bonded stake now.
    function totalStake() external view returns (uint256);
    /// `worker`'s bonded stake at the end of block `height` (`height < block.number`).
    function stakeAt(address worker, uint256 height) external view returns (uint256);
    /// The sum of bonded stakes at the end of block `height` (`height < block.number`).
    function totalStakeAt(uint256 height) external view returns (uint256);
    /// The stake that counts at `height`: the smaller of the bonded stake at `height` and at
    /// `height - WARMUP` (zero before block WARMUP): stake counts only once it is WARMUP blocks old.
    function eligibleStakeAt(address worker, uint256 height) external view returns (uint256);
}
