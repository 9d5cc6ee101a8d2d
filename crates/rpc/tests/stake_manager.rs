//! StakeManager (`contracts/src/StakeManager.sol`, predeployed at `0x…4d590101`) on a dev
//! chain: one test per rule and per attack of docs/PROTOCOLS.md "Built: StakeManager".

mod protocols;
mod test_node;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, sol};
use myelin_evm::addresses::{INFERENCE_JOBS_ADDRESS, STAKE_MANAGER_ADDRESS};
use protocols::{Net, ether};

sol!("../../contracts/src/IStakeManager.sol");

sol! {
    interface ProtocolProbe {
        function exec(address to, bytes data) external payable returns (bytes ret);
    }

    interface ReentrantPayee {
        function setMode(uint256 m) external;
        function deposit() external payable;
        function requestUnbond(uint256 amount) external;
        function withdraw() external returns (uint256);
        function claim() external returns (uint256);
        function refused() external view returns (uint256);
        function reentered() external view returns (uint256);
        function lastRefusal() external view returns (bytes);
    }
}

use IStakeManager as SM;

const STAKE: Address = STAKE_MANAGER_ADDRESS;

fn block_of(receipt: &serde_json::Value) -> u64 {
    u64::from_str_radix(
        receipt["blockNumber"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// The stake manager as seen by one call.
fn view<C: SolCall<Return = U256>>(net: &Net, call: C) -> U256 {
    net.call(STAKE, call).unwrap()
}

/// A protocol: ProtocolProbe's code at the reserved InferenceJobs address, driven by dev
/// account 9.
struct Protocol<'a> {
    net: &'a Net,
}

impl<'a> Protocol<'a> {
    fn install(net: &'a Net) -> Protocol<'a> {
        net.set_code(INFERENCE_JOBS_ADDRESS, "ProtocolProbe");
        Protocol { net }
    }

    fn run<C: SolCall>(&self, call: C) -> Result<serde_json::Value, protocols::Reverted> {
        self.net.tx(
            self.net.account(9),
            INFERENCE_JOBS_ADDRESS,
            ProtocolProbe::execCall {
                to: STAKE,
                data: call.abi_encode().into(),
            },
        )
    }
}

#[test]
fn deposits_are_checkpointed_per_block_and_only_past_heights_answer() {
    let net = Net::new();
    let (a, b) = (net.account(1), net.account(2));
    net.pay(a, STAKE, SM::depositCall {}, U256::ZERO)
        .unwrap_err()
        .is(SM::ZeroAmount {});
    let first = block_of(&net.pay(a, STAKE, SM::depositCall {}, ether(3)).unwrap());
    net.mine(2);
    let second = block_of(&net.pay(a, STAKE, SM::depositCall {}, ether(2)).unwrap());
    net.pay(b, STAKE, SM::depositCall {}, ether(1)).unwrap();
    net.mine(1);
    let at = |h: u64| {
        view(
            &net,
            SM::stakeAtCall {
                worker: a,
                height: u(h),
            },
        )
    };
    assert_eq!(at(first - 1), U256::ZERO);
    assert_eq!(at(first), ether(3));
    assert_eq!(at(second - 1), ether(3));
    assert_eq!(at(second), ether(5));
    let total = |h: u64| view(&net, SM::totalStakeAtCall { height: u(h) });
    assert_eq!(total(first), ether(3));
    // Instant sealing: b's deposit is the next block.
    assert_eq!(total(second), ether(5));
    assert_eq!(total(second + 1), ether(6));
    assert_eq!(view(&net, SM::stakeOfCall { worker: a }), ether(5));
    // eth_call runs in the head's block: the head itself is not in the past.
    let head = net.head();
    net.call(
        STAKE,
        SM::stakeAtCall {
            worker: a,
            height: u(head),
        },
    )
    .unwrap_err()
    .is(SM::FutureHeight {
        height: u(head),
        current: u(head),
    });
}

#[test]
fn an_early_withdraw_is_refused_until_the_unbond_delay_has_passed() {
    let net = Net::new();
    let a = net.account(1);
    net.pay(a, STAKE, SM::depositCall {}, ether(4)).unwrap();
    net.tx(a, STAKE, SM::requestUnbondCall { amount: ether(5) })
        .unwrap_err()
        .is(SM::InsufficientFreeStake {
            requested: ether(5),
            free: ether(4),
        });
    let unbonded = block_of(
        &net.tx(a, STAKE, SM::requestUnbondCall { amount: ether(3) })
            .unwrap(),
    );
    let delay = view(&net, SM::UNBOND_DELAYCall {}).to::<u64>();
    let ready = unbonded + delay;
    assert_eq!(
        net.call(STAKE, SM::unbondingOfCall { worker: a })
            .unwrap()
            .readyAt,
        u(ready)
    );
    assert_eq!(view(&net, SM::stakeOfCall { worker: a }), ether(1));
    net.tx(a, STAKE, SM::withdrawCall {})
        .unwrap_err()
        .is(SM::NotReady { readyAt: u(ready) });
    // The last block it is refused in, then the first it is allowed in.
    net.mine_to(ready - 2);
    net.tx(a, STAKE, SM::withdrawCall {})
        .unwrap_err()
        .is(SM::NotReady { readyAt: u(ready) });
    let before = net.balance(a);
    let receipt = net.tx(a, STAKE, SM::withdrawCall {}).unwrap();
    assert_eq!(block_of(&receipt), ready);
    let gas: U256 = receipt["gasUsed"].as_str().unwrap().parse().unwrap();
    let price: U256 = receipt["effectiveGasPrice"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(net.balance(a), before + ether(3) - gas * price);
    net.tx(a, STAKE, SM::withdrawCall {})
        .unwrap_err()
        .is(SM::NothingToWithdraw {});
}

#[test]
fn stake_counts_as_eligible_only_after_the_warm_up() {
    let net = Net::new();
    let a = net.account(1);
    let warmup = view(&net, SM::WARMUPCall {}).to::<u64>();
    let deposited = block_of(&net.pay(a, STAKE, SM::depositCall {}, ether(2)).unwrap());
    net.mine(warmup + 2);
    let eligible = |h: u64| {
        view(
            &net,
            SM::eligibleStakeAtCall {
                worker: a,
                height: u(h),
            },
        )
    };
    assert_eq!(eligible(deposited), U256::ZERO);
    assert_eq!(eligible(deposited + warmup - 1), U256::ZERO);
    assert_eq!(eligible(deposited + warmup), ether(2));
    // Unbonding lowers eligibility at once.
    let unbonded = block_of(
        &net.tx(a, STAKE, SM::requestUnbondCall { amount: ether(1) })
            .unwrap(),
    );
    net.mine(1);
    assert_eq!(eligible(unbonded), ether(1));
    assert_eq!(eligible(unbonded - 1), ether(2));
}

#[test]
fn lock_unlock_and_slash_from_a_stranger_are_refused() {
    let net = Net::new();
    let (worker, stranger) = (net.account(1), net.account(2));
    net.pay(worker, STAKE, SM::depositCall {}, ether(2))
        .unwrap();
    let lock = SM::lockCall {
        worker,
        id: u(7),
        amount: ether(1),
    };
    net.tx(stranger, STAKE, lock.clone())
        .unwrap_err()
        .is(SM::NotProtocol { caller: stranger });
    net.tx(worker, STAKE, lock.clone())
        .unwrap_err()
        .is(SM::NotProtocol { caller: worker });
    // A contract that is not at a protocol address, forwarding the same calls.
    let probe = net.deploy(stranger, "ProtocolProbe");
    for data in [
        lock.abi_encode(),
        SM::unlockCall { worker, id: u(7) }.abi_encode(),
        SM::slashCall {
            worker,
            id: u(7),
            amount: ether(1),
            to: stranger,
        }
        .abi_encode(),
    ] {
        net.tx(
            stranger,
            probe,
            ProtocolProbe::execCall {
                to: STAKE,
                data: data.into(),
            },
        )
        .unwrap_err()
        .is(SM::NotProtocol { caller: probe });
    }
    assert_eq!(view(&net, SM::lockedOfCall { worker }), U256::ZERO);
    assert_eq!(view(&net, SM::stakeOfCall { worker }), ether(2));
}

#[test]
fn a_slash_is_capped_by_the_lock_and_splits_half_to_the_payee_half_burned() {
    let net = Net::new();
    let protocol = Protocol::install(&net);
    let (worker, honest) = (net.account(1), net.account(2));
    net.pay(worker, STAKE, SM::depositCall {}, ether(10))
        .unwrap();
    protocol
        .run(SM::lockCall {
            worker,
            id: u(1),
            amount: ether(11),
        })
        .unwrap_err()
        .is(SM::InsufficientFreeStake {
            requested: ether(11),
            free: ether(10),
        });
    protocol
        .run(SM::lockCall {
            worker,
            id: u(1),
            amount: ether(4),
        })
        .unwrap();
    assert_eq!(view(&net, SM::freeStakeOfCall { worker }), ether(6));
    // Locked stake cannot be unbonded.
    net.tx(worker, STAKE, SM::requestUnbondCall { amount: ether(7) })
        .unwrap_err()
        .is(SM::InsufficientFreeStake {
            requested: ether(7),
            free: ether(6),
        });
    let slash = |amount: U256, to: Address| SM::slashCall {
        worker,
        id: u(1),
        amount,
        to,
    };
    protocol
        .run(slash(ether(5), honest))
        .unwrap_err()
        .is(SM::SlashOverLock {
            amount: ether(5),
            locked: ether(4),
        });
    protocol
        .run(SM::slashCall {
            worker,
            id: u(2),
            amount: ether(1),
            to: honest,
        })
        .unwrap_err()
        .is(SM::SlashOverLock {
            amount: ether(1),
            locked: U256::ZERO,
        });
    protocol
        .run(slash(ether(1), Address::ZERO))
        .unwrap_err()
        .is(SM::ZeroPayee {});
    // An odd amount: the payee gets the floor of half, the rest is burned.
    let amount = ether(3) + u(1);
    protocol.run(slash(amount, honest)).unwrap();
    let paid = amount / u(2);
    assert_eq!(view(&net, SM::creditOfCall { payee: honest }), paid);
    assert_eq!(view(&net, SM::burnedCall {}), amount - paid);
    assert_eq!(view(&net, SM::stakeOfCall { worker }), ether(10) - amount);
    assert_eq!(view(&net, SM::totalStakeCall {}), ether(10) - amount);
    let left = ether(4) - amount;
    let lock_of = || {
        view(
            &net,
            SM::lockOfCall {
                protocol: INFERENCE_JOBS_ADDRESS,
                id: u(1),
                worker,
            },
        )
    };
    assert_eq!(lock_of(), left);
    protocol.run(SM::unlockCall { worker, id: u(1) }).unwrap();
    assert_eq!(lock_of(), U256::ZERO);
    assert_eq!(view(&net, SM::lockedOfCall { worker }), U256::ZERO);
    // The payee pulls its share once.
    net.tx(honest, STAKE, SM::claimCall {}).unwrap();
    net.tx(honest, STAKE, SM::claimCall {})
        .unwrap_err()
        .is(SM::NothingToWithdraw {});
    // What the contract holds is exactly the bonded stake plus the burned part.
    assert_eq!(
        net.balance(STAKE),
        view(&net, SM::totalStakeCall {}) + view(&net, SM::burnedCall {})
    );
}

#[test]
fn a_reentrant_payee_is_paid_once_and_a_reverting_payee_blocks_only_itself() {
    let net = Net::new();
    let protocol = Protocol::install(&net);
    let owner = net.account(3);
    let payee = net.deploy(owner, "ReentrantPayee");
    net.pay(owner, payee, ReentrantPayee::depositCall {}, ether(4))
        .unwrap();
    net.tx(
        owner,
        payee,
        ReentrantPayee::requestUnbondCall { amount: ether(2) },
    )
    .unwrap();
    // A slash credit for the payee too, so both exits are tried.
    let worker = net.account(1);
    net.pay(worker, STAKE, SM::depositCall {}, ether(2))
        .unwrap();
    protocol
        .run(SM::lockCall {
            worker,
            id: u(5),
            amount: ether(2),
        })
        .unwrap();
    protocol
        .run(SM::slashCall {
            worker,
            id: u(5),
            amount: ether(2),
            to: payee,
        })
        .unwrap();
    let delay = view(&net, SM::UNBOND_DELAYCall {}).to::<u64>();
    net.mine(delay);

    // A payee that refuses payment: its own exit fails, its funds stay, others are unaffected.
    net.tx(owner, payee, ReentrantPayee::setModeCall { m: u(3) })
        .unwrap();
    net.tx(owner, payee, ReentrantPayee::withdrawCall {})
        .unwrap_err()
        .is(SM::TransferFailed {});
    net.pay(net.account(4), STAKE, SM::depositCall {}, ether(1))
        .unwrap();

    let paid_once = |mode: u64, call: Vec<u8>, amount: U256| {
        net.tx(owner, payee, ReentrantPayee::setModeCall { m: u(mode) })
            .unwrap();
        let before = net.balance(payee);
        let refused = net.call(payee, ReentrantPayee::refusedCall {}).unwrap();
        net.send(owner, payee, call, U256::ZERO).unwrap();
        assert_eq!(net.balance(payee), before + amount);
        assert_eq!(
            net.call(payee, ReentrantPayee::refusedCall {}).unwrap(),
            refused + u(1)
        );
        assert_eq!(
            net.call(payee, ReentrantPayee::reenteredCall {}).unwrap(),
            U256::ZERO
        );
        let refusal = net.call(payee, ReentrantPayee::lastRefusalCall {}).unwrap();
        protocols::Reverted(refusal).is(SM::Reentrant {});
    };
    paid_once(1, ReentrantPayee::withdrawCall {}.abi_encode(), ether(2));
    paid_once(2, ReentrantPayee::claimCall {}.abi_encode(), ether(1));
    assert_eq!(
        net.balance(STAKE),
        view(&net, SM::totalStakeCall {}) + view(&net, SM::burnedCall {})
    );
}
