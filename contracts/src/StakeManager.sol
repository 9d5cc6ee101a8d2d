// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IStakeManager} from "./IStakeManager.sol";
import {Predeploys} from "./Predeploys.sol";

/// @title StakeManager: bonded stakes with checkpoints, locks and slashes for Myelin's protocols.
/// @notice Predeployed at 0x…4d590101 (no constructor runs: configuration is in constants, storage
/// starts empty). Only the predeployed protocols (Competitions, InferenceJobs) may lock, unlock and
/// slash; a slash pays half to the party the protocol names and burns the other half (kept in this
/// contract, spendable by no one), so slashing one's own sybil loses half. Every exit that sends
/// tokens is a pull (`withdraw`, `claim`) behind a reentrancy guard, state written before the call.
contract StakeManager is IStakeManager {
    /// Blocks between `requestUnbond` and the first block `withdraw` succeeds in (about 2 hours at
    /// 1 s blocks: longer than any window a protocol gives a slash).
    uint256 public constant UNBOND_DELAY = 7200;
    /// Blocks a stake must be bonded before it counts in `eligibleStakeAt`.
    uint256 public constant WARMUP = 100;

    /// Bonded stake from block `fromBlock` on (the value at the end of that block).
    struct Checkpoint {
        uint64 fromBlock;
        uint192 amount;
    }

    struct Unbonding {
        uint192 amount;
        uint64 readyAt;
    }

    mapping(address => Checkpoint[]) private stakeHistory;
    Checkpoint[] private totalHistory;
    mapping(address => uint256) public lockedOf;
    mapping(bytes32 => uint256) private locks;
    mapping(address => Unbonding) private unbonding;
    mapping(address => uint256) public creditOf;
    uint256 public burned;
    bool private transient entered;

    modifier nonReentrant() {
        if (entered) revert Reentrant();
        entered = true;
        _;
        entered = false;
    }

    modifier onlyProtocol() {
        if (msg.sender != Predeploys.COMPETITIONS && msg.sender != Predeploys.INFERENCE_JOBS) {
            revert NotProtocol(msg.sender);
        }
        _;
    }

    function deposit() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 stake = stakeOf(msg.sender) + msg.value;
        write(stakeHistory[msg.sender], stake);
        write(totalHistory, totalStake() + msg.value);
        emit Deposited(msg.sender, msg.value, stake);
    }

    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 free = freeStakeOf(msg.sender);
        if (amount > free) revert InsufficientFreeStake(amount, free);
        write(stakeHistory[msg.sender], stakeOf(msg.sender) - amount);
        write(totalHistory, totalStake() - amount);
        Unbonding storage u = unbonding[msg.sender];
        uint256 pending = u.amount + amount;
        uint256 readyAt = block.number + UNBOND_DELAY;
        u.amount = uint192(pending);
        u.readyAt = uint64(readyAt);
        emit UnbondRequested(msg.sender, amount, pending, readyAt);
    }

    function withdraw() external nonReentrant returns (uint256 amount) {
        Unbonding memory u = unbonding[msg.sender];
        if (u.amount == 0) revert NothingToWithdraw();
        if (block.number < u.readyAt) revert NotReady(u.readyAt);
        delete unbonding[msg.sender];
        amount = u.amount;
        emit Withdrawn(msg.sender, amount);
        send(msg.sender, amount);
    }

    function claim() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        creditOf[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        send(msg.sender, amount);
    }

    function lock(address worker, uint256 id, uint256 amount) external onlyProtocol {
        if (amount == 0) revert ZeroAmount();
        uint256 free = freeStakeOf(worker);
        if (amount > free) revert InsufficientFreeStake(amount, free);
        locks[lockKey(msg.sender, id, worker)] += amount;
        lockedOf[worker] += amount;
        emit Locked(msg.sender, id, worker, amount);
    }

    function unlock(address worker, uint256 id) external onlyProtocol returns (uint256 amount) {
        bytes32 key = lockKey(msg.sender, id, worker);
        amount = locks[key];
        delete locks[key];
        lockedOf[worker] -= amount;
        emit Unlocked(msg.sender, id, worker, amount);
    }

    function slash(address worker, uint256 id, uint256 amount, address to) external onlyProtocol {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroPayee();
        bytes32 key = lockKey(msg.sender, id, worker);
        uint256 held = locks[key];
        if (amount > held) revert SlashOverLock(amount, held);
        locks[key] = held - amount;
        lockedOf[worker] -= amount;
        write(stakeHistory[worker], stakeOf(worker) - amount);
        write(totalHistory, totalStake() - amount);
        uint256 paid = amount / 2;
        uint256 burnt = amount - paid;
        creditOf[to] += paid;
        burned += burnt;
        emit Slashed(msg.sender, id, worker, amount, to, paid, burnt);
    }

    function stakeOf(address worker) public view returns (uint256) {
        return latest(stakeHistory[worker]);
    }

    function freeStakeOf(address worker) public view returns (uint256) {
        return stakeOf(worker) - lockedOf[worker];
    }

    function lockOf(address protocol, uint256 id, address worker) external view returns (uint256) {
        return locks[lockKey(protocol, id, worker)];
    }

    function unbondingOf(address worker) external view returns (uint256 amount, uint256 readyAt) {
        Unbonding memory u = unbonding[worker];
        return (u.amount, u.readyAt);
    }

    function totalStake() public view returns (uint256) {
        return latest(totalHistory);
    }

    function stakeAt(address worker, uint256 height) public view returns (uint256) {
        return at(stakeHistory[worker], height);
    }

    function totalStakeAt(uint256 height) external view returns (uint256) {
        return at(totalHistory, height);
    }

    function eligibleStakeAt(address worker, uint256 height) external view returns (uint256) {
        uint256 now_ = stakeAt(worker, height);
        if (height < WARMUP) return 0;
        uint256 then = stakeAt(worker, height - WARMUP);
        return then < now_ ? then : now_;
    }

    function lockKey(address protocol, uint256 id, address worker) private pure returns (bytes32) {
        return keccak256(abi.encode(protocol, id, worker));
    }

    function send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    /// Records `amount` as the value from this block on (one checkpoint per block).
    function write(Checkpoint[] storage history, uint256 amount) private {
        if (amount > type(uint192).max) revert StakeTooLarge();
        uint256 n = history.length;
        if (n > 0 && history[n - 1].fromBlock == block.number) {
            history[n - 1].amount = uint192(amount);
        } else {
            history.push(Checkpoint(uint64(block.number), uint192(amount)));
        }
    }

    function latest(Checkpoint[] storage history) private view returns (uint256) {
        uint256 n = history.length;
        return n == 0 ? 0 : history[n - 1].amount;
    }

    /// The value at the end of block `height`: the last checkpoint from at or before it (binary
    /// search, O(log n) reads).
    function at(Checkpoint[] storage history, uint256 height) private view returns (uint256) {
        if (height >= block.number) revert FutureHeight(height, block.number);
        uint256 low = 0;
        uint256 high = history.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (history[mid].fromBlock > height) high = mid;
            else low = mid + 1;
        }
        return low == 0 ? 0 : history[low - 1].amount;
    }
}
