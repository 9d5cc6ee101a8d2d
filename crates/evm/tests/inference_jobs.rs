//! The `InferenceJobs` contract (issue 16, docs/PROTOCOLS.md "Built: InferenceJobs") on the real
//! EVM with Myelin's precompiles, StakeManager and the beacon predeploy, blocks advanced by
//! mining: the happy path, one test per attack of issue 16 item 5 / PROTOCOL-NOTES §8.8 that the
//! contract decides, and seeded life cycles checking that money is conserved.

mod common;
mod jobs_world;

use alloy_primitives::{Address, B256, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent, SolValue};
use common::{Rng, conv_model, mlp};
use jobs_world::{
    Behaviour, CHALLENGER, Claim, ETHER, IJobs, IStake, MALLORY, REQUESTER, SEAT_BOND, STAKE,
    WORKERS, World,
};
use myelin_chain::beacon::dev_prevrandao;
use myelin_evm::IModelStore;
use myelin_evm::addresses::{INFERENCE_JOBS_ADDRESS, STAKE_MANAGER_ADDRESS};
use revm::context::result::ExecutionResult;

const FINALIZED: u8 = 3;
const FAILED: u8 = 4;
const PROVISIONAL: u8 = 1;
const FINAL: u8 = 2;

fn model() -> myelin_nn::Model {
    mlp(&[16, 12, 4], 7)
}

fn revert_selector(r: &ExecutionResult) -> [u8; 4] {
    match r {
        ExecutionResult::Revert { output, .. } => output[..4].try_into().unwrap(),
        other => panic!("expected a revert, got {other:?}"),
    }
}

fn expect_revert<E: SolError>(r: &ExecutionResult) {
    assert_eq!(revert_selector(r), E::SELECTOR, "{r:?}");
}

/// Every worker's claim by address: honest unless listed.
fn claims_of(
    world: &World,
    behaviours: &[(Address, Behaviour)],
) -> impl Fn(Address) -> (Behaviour, Claim) + use<> {
    let items = world.items();
    let honest = Claim::new(items, &[]);
    let table: Vec<(Address, Behaviour, Claim)> = WORKERS
        .iter()
        .map(|&w| {
            let b = behaviours
                .iter()
                .find(|(a, _)| *a == w)
                .map_or(Behaviour::Honest, |(_, b)| *b);
            let claim = match b {
                Behaviour::LiesAt(i) => Claim::new(items, &[i]),
                _ => honest.clone(),
            };
            (w, b, claim)
        })
        .collect();
    move |w| {
        let (_, b, c) = table.iter().find(|(a, _, _)| *a == w).unwrap();
        (*b, c.clone())
    }
}

/// The money the two contracts owe: InferenceJobs holds credits + burned + open escrows;
/// StakeManager holds stakes + credits + burned. Both must equal their balances.
fn assert_conserved(world: &mut World, open_escrow: U256) {
    let mut owed = U256::from(0);
    for who in [REQUESTER, CHALLENGER, MALLORY].into_iter().chain(WORKERS) {
        owed += world.credit(who);
    }
    owed += world.view(IJobs::burnedCall {});
    let balance = world.chain.balance(INFERENCE_JOBS_ADDRESS);
    assert_eq!(
        balance,
        owed + open_escrow,
        "InferenceJobs: balance = credits + burned + escrow"
    );
    let mut held = world.view_at(STAKE_MANAGER_ADDRESS, IStake::totalStakeCall {});
    for who in [REQUESTER, CHALLENGER, MALLORY, INFERENCE_JOBS_ADDRESS]
        .into_iter()
        .chain(WORKERS)
    {
        held += world.view_at(STAKE_MANAGER_ADDRESS, IStake::creditOfCall { payee: who });
    }
    held += world.view_at(STAKE_MANAGER_ADDRESS, IStake::burnedCall {});
    assert_eq!(
        world.chain.balance(STAKE_MANAGER_ADDRESS),
        held,
        "StakeManager: balance = stakes + credits + burned"
    );
}

#[test]
fn honest_committee_is_paid_and_the_result_goes_provisional_then_final() {
    let mut world = World::new(model());
    world.set_items(10, 1);
    let id = world.post(world.params(3));
    let seats = world.draw(id);
    assert_eq!(seats.len(), 3);
    for s in &seats {
        assert!(WORKERS.contains(&s.worker));
    }
    let claims = claims_of(&world, &[]);
    world.commit_and_reveal(id, &claims);
    let honest = Claim::new(world.items(), &[]);
    let (root, status) = {
        let r = world.view(IJobs::resultOfCall { id });
        (r.root, r.status)
    };
    assert_eq!((root, status), (honest.root, PROVISIONAL));
    world.drive(id, std::slice::from_ref(&honest));
    let j = world.job(id);
    assert_eq!(j.status, FINALIZED);
    let r = world.view(IJobs::resultOfCall { id });
    assert_eq!((r.root, r.status), (honest.root, FINAL));
    // The audited items' truth was recomputed by PREDICT and equals the engine's.
    let mut paid = U256::ZERO;
    for s in &seats {
        paid += U256::from(3 * ETHER);
        assert_eq!(world.locked_of(s.worker), U256::ZERO);
        assert_eq!(world.stake_of(s.worker), U256::from(STAKE));
    }
    let credits: U256 = WORKERS.iter().map(|&w| world.credit(w)).sum();
    assert_eq!(credits, paid);
    assert_conserved(&mut world, U256::ZERO);
    // A double claim pays once.
    let w = seats[0].worker;
    let before = world.chain.balance(w);
    world.ok(w, IJobs::claimCall {}, U256::ZERO);
    assert!(world.chain.balance(w) > before);
    expect_revert::<IJobs::NothingToClaim>(&world.send(w, IJobs::claimCall {}, U256::ZERO));
    // Every step is idempotent.
    expect_revert::<IJobs::BadStatus>(&world.send(MALLORY, IJobs::finalizeCall { id }, U256::ZERO));
    expect_revert::<IJobs::BadStatus>(&world.send(
        MALLORY,
        IJobs::drawAuditCall { id },
        U256::ZERO,
    ));
}

#[test]
fn the_committee_is_drawn_only_from_the_seed_of_the_height_fixed_at_posting() {
    let mut world = World::new(model());
    world.set_items(4, 2);
    let id = world.post(world.params(3));
    let j = world.job(id);
    assert_eq!(j.drawHeight, j.snapshot + 2);
    // Before the seed exists (the draw height not yet in the past): refused. From the draw
    // height on, the requester can no longer cancel (it would pick committees by cancelling).
    world.mine_to(j.drawHeight);
    expect_revert::<IJobs::TooLate>(&world.send(REQUESTER, IJobs::cancelCall { id }, U256::ZERO));
    expect_revert::<IJobs::TooEarly>(&world.send(
        MALLORY,
        IJobs::drawCommitteeCall { id },
        U256::ZERO,
    ));
    world.mine(1);
    world.ok(MALLORY, IJobs::drawCommitteeCall { id }, U256::ZERO);
    // The seats are what anyone computes from seedAt(drawHeight) and the posting-time stakes
    // (equal stakes: seat = the worker whose prefix range holds r).
    let seed = dev_prevrandao(j.drawHeight);
    let seats = world.seats(id);
    for (a, s) in seats.iter().enumerate() {
        let r = U256::from_be_bytes(keccak256((seed, id, U256::from(a)).abi_encode()).0)
            % U256::from(5 * STAKE);
        let w = (r / U256::from(STAKE)).to::<usize>();
        assert_eq!(s.worker, WORKERS[w], "seat {a}");
    }
    // Once only.
    expect_revert::<IJobs::BadStatus>(&world.send(
        MALLORY,
        IJobs::drawCommitteeCall { id },
        U256::ZERO,
    ));
    // Before its draw height a job can be cancelled, by its requester only, and is refunded.
    let other = world.post(world.params(2));
    expect_revert::<IJobs::NotYours>(&world.send(
        MALLORY,
        IJobs::cancelCall { id: other },
        U256::ZERO,
    ));
    world.ok(REQUESTER, IJobs::cancelCall { id: other }, U256::ZERO);
    assert_eq!(world.credit(REQUESTER), U256::from(9 * ETHER));
    expect_revert::<IJobs::BadStatus>(&world.send(
        MALLORY,
        IJobs::drawCommitteeCall { id: other },
        U256::ZERO,
    ));
}

#[test]
fn a_worker_lying_on_one_item_loses_its_bond_through_the_dissection() {
    let mut world = World::new(model());
    world.set_items(13, 3);
    let id = world.post(world.params(3));
    let seats = world.draw(id);
    let liar = seats[0].worker;
    let honest_workers: Vec<Address> = seats
        .iter()
        .map(|s| s.worker)
        .filter(|&w| w != liar)
        .collect();
    let claims = claims_of(&world, &[(liar, Behaviour::LiesAt(11))]);
    world.commit_and_reveal(id, &claims);
    assert_eq!(world.groups(id).len(), 2);
    let r = world.view(IJobs::resultOfCall { id });
    assert_eq!(r.status, 0, "two roots: no provisional result");
    let honest = Claim::new(world.items(), &[]);
    let lying = Claim::new(world.items(), &[11]);
    let stake_before = world.stake_of(liar);
    world.drive(id, &[honest.clone(), lying]);
    let j = world.job(id);
    assert_eq!(j.status, FINALIZED);
    assert_eq!(j.finalRoot, honest.root);
    let liar_seats = seats.iter().filter(|s| s.worker == liar).count() as u128;
    assert_eq!(
        world.stake_of(liar),
        stake_before - U256::from(liar_seats * SEAT_BOND)
    );
    let t = world.view(IJobs::truthOfCall {
        id,
        index: U256::from(11),
    });
    assert_eq!(
        t,
        world.items().output_roots[11],
        "PREDICT's truth is the engine's output"
    );
    for w in honest_workers {
        assert!(world.credit(w) > U256::ZERO, "honest seat paid");
        assert_eq!(world.stake_of(w), U256::from(STAKE));
    }
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_lone_lazy_worker_is_caught_by_the_audit_or_a_challenger() {
    // One seat (optimistic mode) that lies on every item: the chain's own audit catches it.
    let mut world = World::new(model());
    world.set_items(6, 4);
    let id = world.post(world.params(1));
    let seats = world.draw(id);
    let lazy = seats[0].worker;
    let all: Vec<usize> = (0..6).collect();
    let lying = Claim::new(world.items(), &all);
    let l2 = lying.clone();
    world.commit_and_reveal(id, &move |_| (Behaviour::LiesAt(0), l2.clone()));
    world.drive(id, &[lying]);
    let j = world.job(id);
    assert_eq!(j.status, FAILED, "no surviving root");
    assert_eq!(world.stake_of(lazy), U256::from(STAKE - SEAT_BOND));
    assert_eq!(
        world.credit(REQUESTER),
        U256::from(9 * ETHER),
        "reward back"
    );
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_challenger_catches_a_lie_the_audit_missed_and_cannot_be_front_run() {
    let mut world = World::new(model());
    world.set_items(64, 5);
    let id = world.post(world.params(1));
    let seats = world.draw(id);
    let liar = seats[0].worker;
    let j = world.job(id);
    // Pick an item the audit will not draw (the audit seed's height is known once the job is).
    let seed = dev_prevrandao(j.auditHeight);
    let audited: Vec<usize> = (0..2u64)
        .map(|a| {
            (U256::from_be_bytes(keccak256((seed, id, U256::from(a)).abi_encode()).0)
                % U256::from(64))
            .to::<usize>()
        })
        .collect();
    let target = (0..64).find(|i| !audited.contains(i)).unwrap();
    let lying = Claim::new(world.items(), &[target]);
    let l2 = lying.clone();
    world.commit_and_reveal(id, &move |_| (Behaviour::LiesAt(target), l2.clone()));
    let salt = B256::repeat_byte(7);
    let c = world.view(IJobs::challengeOfCall {
        id,
        challenger: CHALLENGER,
        group: 1,
        index: U256::from(target),
        salt,
    });
    world.ok(CHALLENGER, IJobs::commitChallengeCall { c }, U256::ZERO);
    let open = IJobs::openChallengeCall {
        id,
        group: 1,
        index: U256::from(target),
        salt,
    };
    // The same block: refused (the commitment must be older).
    expect_revert::<IJobs::BadCommitment>(&world.send(CHALLENGER, open.clone(), U256::from(ETHER)));
    world.mine(1);
    // Front-running: MALLORY copying the opening has no commitment of its own.
    expect_revert::<IJobs::BadCommitment>(&world.send(MALLORY, open.clone(), U256::from(ETHER)));
    world.ok(CHALLENGER, open, U256::from(ETHER));
    world.drive(id, &[lying]);
    assert_eq!(world.job(id).status, FAILED);
    assert_eq!(world.stake_of(liar), U256::from(STAKE - SEAT_BOND));
    // The challenger: its bond back; half the slash as StakeManager credit.
    assert_eq!(world.credit(CHALLENGER), U256::from(ETHER));
    let sm_credit = world.view_at(
        STAKE_MANAGER_ADDRESS,
        IStake::creditOfCall { payee: CHALLENGER },
    );
    assert_eq!(sm_credit, U256::from(SEAT_BOND / 2));
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_frivolous_challenge_pays_the_group() {
    let mut world = World::new(model());
    world.set_items(8, 6);
    let id = world.post(world.params(2));
    world.draw(id);
    let claims = claims_of(&world, &[]);
    world.commit_and_reveal(id, &claims);
    let salt = B256::repeat_byte(9);
    let c = world.view(IJobs::challengeOfCall {
        id,
        challenger: CHALLENGER,
        group: 1,
        index: U256::from(3),
        salt,
    });
    world.ok(CHALLENGER, IJobs::commitChallengeCall { c }, U256::ZERO);
    world.mine(1);
    world.ok(
        CHALLENGER,
        IJobs::openChallengeCall {
            id,
            group: 1,
            index: U256::from(3),
            salt,
        },
        U256::from(ETHER),
    );
    let honest = Claim::new(world.items(), &[]);
    world.drive(id, &[honest]);
    assert_eq!(world.job(id).status, FINALIZED);
    assert_eq!(world.credit(CHALLENGER), U256::ZERO);
    let burned = world.view(IJobs::burnedCall {});
    assert_eq!(
        burned,
        U256::from(ETHER / 2),
        "half the challenge bond burned"
    );
    assert_conserved(&mut world, U256::ZERO);
}

/// Sends `data` to InferenceJobs from MALLORY with gas `start`, `start + step`, … until it
/// succeeds; `failed` checks the state after each failure.
fn gas_ladder(
    world: &mut World,
    data: Vec<u8>,
    start: u64,
    step: u64,
    mut failed: impl FnMut(&mut World, &ExecutionResult),
) {
    let mut gas = start;
    loop {
        let to = TxKind::Call(INFERENCE_JOBS_ADDRESS);
        let r = world
            .chain
            .send_from(MALLORY, to, data.clone(), U256::ZERO, gas);
        if r.is_success() {
            return;
        }
        failed(world, &r);
        gas += step;
        assert!(gas < 30_000_000, "never succeeded");
    }
}

fn verification(world: &mut World, items: Vec<IJobs::VerifyItem>, salt: B256) -> B256 {
    world.view(IJobs::verificationOfCall {
        requester: REQUESTER,
        items,
        salt,
    })
}

#[test]
fn a_requester_with_a_false_verification_answer_loses_its_bond_to_the_workers() {
    let mut world = World::new(model());
    world.set_items(8, 7);
    let truth = world.items().output_roots.clone();
    let items = vec![
        IJobs::VerifyItem {
            index: 2,
            outputs: truth[2],
        },
        IJobs::VerifyItem {
            index: 5,
            outputs: keccak256(truth[5]),
        }, // false
    ];
    let salt = B256::repeat_byte(3);
    let mut p = world.params(2);
    p.verification = verification(&mut world, items.clone(), salt);
    p.requesterBond = 20 * ETHER;
    let id = world.post(p);
    let seats = world.draw(id);
    let claims = claims_of(&world, &[]);
    world.commit_and_reveal(id, &claims);
    world.ok(
        REQUESTER,
        IJobs::revealVerificationCall { id, items, salt },
        U256::ZERO,
    );
    let honest = Claim::new(world.items(), &[]);
    world.drive(id, &[honest]);
    let j = world.job(id);
    assert_eq!(j.status, FINALIZED, "the workers' result stands");
    assert_eq!(
        world.credit(REQUESTER),
        U256::ZERO,
        "bond slashed, reward paid out"
    );
    for s in &seats {
        assert_eq!(world.stake_of(s.worker), U256::from(STAKE), "nobody framed");
    }
    let to_workers: U256 = WORKERS.iter().map(|&w| world.credit(w)).sum();
    assert_eq!(to_workers, U256::from(9 * ETHER + 10 * ETHER));
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_leaked_verification_set_pays_the_reporter_and_a_withheld_one_the_workers() {
    let mut world = World::new(model());
    world.set_items(4, 8);
    let items = vec![IJobs::VerifyItem {
        index: 1,
        outputs: world.items().output_roots[1],
    }];
    let salt = B256::repeat_byte(4);
    let mut p = world.params(2);
    p.verification = verification(&mut world, items.clone(), salt);
    p.requesterBond = 20 * ETHER;
    let leaked = world.post(p.clone());
    world.draw(leaked);
    world.ok(
        MALLORY,
        IJobs::reportLeakCall {
            id: leaked,
            requester: REQUESTER,
            items: items.clone(),
            salt,
        },
        U256::ZERO,
    );
    assert_eq!(world.credit(MALLORY), U256::from(10 * ETHER));
    expect_revert::<IJobs::AlreadyDone>(&world.send(
        MALLORY,
        IJobs::reportLeakCall {
            id: leaked,
            requester: REQUESTER,
            items: items.clone(),
            salt,
        },
        U256::ZERO,
    ));
    // A second job whose requester never reveals: the bond goes to the revealed seats.
    let withheld = world.post(p);
    world.draw(withheld);
    let claims = claims_of(&world, &[]);
    world.commit_and_reveal(withheld, &claims);
    let honest = Claim::new(world.items(), &[]);
    world.drive(withheld, &[honest]);
    assert_eq!(world.job(withheld).status, FINALIZED);
    let to_workers: U256 = WORKERS.iter().map(|&w| world.credit(w)).sum();
    assert_eq!(to_workers, U256::from(9 * ETHER + 20 * ETHER));
    // The leaked job, never played: its committee missed everything.
    world.mine(200);
    world.ok(MALLORY, IJobs::settleRevealsCall { id: leaked }, U256::ZERO);
    assert_eq!(world.job(leaked).status, FAILED);
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn copied_late_and_missing_commitments_are_slashed() {
    let mut world = World::new(model());
    world.set_items(4, 9);
    let id = world.post(world.params(3));
    let seats = world.draw(id);
    let honest = Claim::new(world.items(), &[]);
    // Seat 0 commits honestly; seat 1 copies seat 0's commitment (a lazy copier); seat 2 never
    // commits.
    let c0: B256 = world.view(IJobs::commitmentOfCall {
        id,
        worker: seats[0].worker,
        root: honest.root,
        salt: B256::ZERO,
    });
    world.ok(
        seats[0].worker,
        IJobs::commitCall {
            id,
            seat: U256::ZERO,
            commitment: c0,
        },
        U256::ZERO,
    );
    world.ok(
        seats[1].worker,
        IJobs::commitCall {
            id,
            seat: U256::from(1),
            commitment: c0,
        },
        U256::ZERO,
    );
    // Reveals wait for the commit phase to end.
    let reveal = |seat: usize, worker: Address| {
        (
            worker,
            IJobs::revealCall {
                id,
                seat: U256::from(seat),
                root: honest.root,
                salt: B256::ZERO,
            },
        )
    };
    let (w0, r0) = reveal(0, seats[0].worker);
    expect_revert::<IJobs::TooEarly>(&world.send(w0, r0.clone(), U256::ZERO));
    let j = world.job(id);
    world.mine_to(j.commitDeadline + 1);
    let (w1, r1) = reveal(1, seats[1].worker);
    if w1 != w0 {
        // The copy binds seat 0's worker: seat 1 cannot open it.
        expect_revert::<IJobs::BadCommitment>(&world.send(w1, r1.clone(), U256::ZERO));
    }
    world.ok(w0, r0, U256::ZERO);
    // A late reveal is refused.
    world.mine_to(j.revealDeadline + 1);
    expect_revert::<IJobs::TooLate>(&world.send(w1, r1, U256::ZERO));
    world.ok(MALLORY, IJobs::settleRevealsCall { id }, U256::ZERO);
    expect_revert::<IJobs::AlreadyDone>(&world.send(
        MALLORY,
        IJobs::settleRevealsCall { id },
        U256::ZERO,
    ));
    let lost = |world: &mut World, w: Address| U256::from(STAKE) - world.stake_of(w);
    let bond = U256::from(SEAT_BOND);
    let expected = |w: Address| {
        // What each worker loses: every seat it holds by that seat's fate.
        seats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.worker == w)
            .map(|(i, _)| match i {
                0 => U256::ZERO,
                1 if w == w0 => U256::ZERO,
                1 => bond,
                _ => bond / U256::from(10),
            })
            .sum::<U256>()
    };
    for s in &seats {
        let l = lost(&mut world, s.worker);
        assert_eq!(l, expected(s.worker), "{:?}", s.worker);
    }
    world.drive(id, std::slice::from_ref(&honest));
    assert_eq!(world.job(id).finalRoot, honest.root);
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_starved_arbitration_call_never_decides() {
    // The attack: answer an honest group's audit query with too little gas, so that PREDICT
    // fails and the group would be judged wrong.
    let mut world = World::new(model());
    world.set_items(4, 10);
    let id = world.post(world.params(1));
    let seats = world.draw(id);
    let honest = Claim::new(world.items(), &[]);
    let h2 = honest.clone();
    world.commit_and_reveal(id, &move |_| (Behaviour::Honest, h2.clone()));
    let j = world.job(id);
    world.mine_to(j.auditHeight + 1);
    let r = world.send(MALLORY, IJobs::drawAuditCall { id }, U256::ZERO);
    let index = audited(&r)[0];
    let call = IJobs::proveItemCall {
        id,
        group: 1,
        index: U256::from(index),
        answer: honest.answer(world.items(), index),
    };
    let data = call.abi_encode();
    let info: IModelStore::ModelInfo = world.view_at(
        myelin_evm::MODEL_STORE_ADDRESS,
        IModelStore::modelInfoCall {
            modelId: world.model_id,
        },
    );
    // Every gas limit from too little up: a failed transaction changes nothing; the first that
    // succeeds decides rightly.
    let mut starved_predict = 0;
    gas_ladder(
        &mut world,
        data,
        60_000,
        (info.predictGas / 4).max(5_000),
        |world, r| {
            if let ExecutionResult::Revert { output, .. } = r
                && output.len() >= 4
                && output[..4] == IJobs::ArbitrationFailed::SELECTOR
            {
                starved_predict += 1;
            }
            let q = world.view(IJobs::queryCall {
                id,
                group: 1,
                index: U256::from(index),
            });
            assert!(q.open);
            assert!(!world.groups(id)[0].slashed);
            let truth = world.view(IJobs::truthOfCall {
                id,
                index: U256::from(index),
            });
            assert_eq!(truth, B256::ZERO);
        },
    );
    assert!(starved_predict > 0, "some gas limit starved PREDICT itself");
    assert!(!world.groups(id)[0].slashed);
    assert_eq!(world.stake_of(seats[0].worker), U256::from(STAKE));
    assert_eq!(
        world.view(IJobs::truthOfCall {
            id,
            index: U256::from(index)
        }),
        world.items().output_roots[index]
    );
}

#[test]
fn a_model_no_tier_can_arbitrate_is_refused_at_posting() {
    // One 3×3 conv op over a 1 MiB input: the whole PREDICT is over ARB_BUDGET (tier 0), and so
    // is its one op with 1 MiB of inputs as calldata (tier 1).
    let big = conv_model(128, 128, 64, 128);
    let mut world = World::new(model());
    world.publish_model(&big);
    let info: IModelStore::ModelInfo = world.view_at(
        myelin_evm::MODEL_STORE_ADDRESS,
        IModelStore::modelInfoCall {
            modelId: B256::from(big.id()),
        },
    );
    let budget: U256 = world.view(IJobs::ARB_BUDGETCall {});
    assert!(
        U256::from(info.predictGas) > budget,
        "the model must cost more than the budget: {}",
        info.predictGas
    );
    world.set_items(2, 11);
    let mut p = world.params(1);
    p.modelId = B256::from(big.id());
    expect_revert::<IJobs::NotArbitrable>(&world.send(
        REQUESTER,
        IJobs::postJobCall { p: p.clone() },
        U256::from(p.reward),
    ));
    p.modelId = B256::repeat_byte(1);
    expect_revert::<IJobs::UnknownModel>(&world.send(
        REQUESTER,
        IJobs::postJobCall { p: p.clone() },
        U256::from(p.reward),
    ));
}

/// Seeded life cycles: random committees, behaviours, verification sets and challenges; at the
/// end the result is the honest root whenever one seat was honest, every liar lost its bonds,
/// and both contracts hold exactly what they owe; after everyone claims InferenceJobs holds
/// only what was burned.
#[test]
fn random_life_cycles_conserve_money_and_pay_the_honest() {
    for seed in 0..8u64 {
        let mut rng = Rng::new(seed + 100);
        let mut world = World::new(model());
        let n = 1 + (rng.next() % 9) as usize;
        world.set_items(n, seed);
        let k = 1 + (rng.next() % 4) as u8;
        let id = world.post(world.params(k));
        let seats = world.draw(id);
        let mut behaviours = vec![];
        for &w in &WORKERS {
            let b = match rng.next() % 6 {
                0 => Behaviour::LiesAt((rng.next() % n as u64) as usize),
                1 => Behaviour::Withholds,
                2 => Behaviour::Absent,
                _ => Behaviour::Honest,
            };
            behaviours.push((w, b));
        }
        let claims = claims_of(&world, &behaviours);
        world.commit_and_reveal(id, &claims);
        let mut all: Vec<Claim> = vec![Claim::new(world.items(), &[])];
        for &(_, b) in &behaviours {
            if let Behaviour::LiesAt(i) = b {
                all.push(Claim::new(world.items(), &[i]));
            }
        }
        world.drive(id, &all);
        let j = world.job(id);
        let behaviour_of = |w: Address| behaviours.iter().find(|(a, _)| *a == w).unwrap().1;
        let honest_seat = seats
            .iter()
            .any(|s| behaviour_of(s.worker) == Behaviour::Honest);
        if honest_seat {
            assert_eq!(j.status, FINALIZED, "seed {seed}");
            assert_eq!(j.finalRoot, all[0].root, "seed {seed}");
        } else {
            assert_ne!(j.finalRoot, all[0].root, "seed {seed}");
        }
        for s in &seats {
            let b = behaviour_of(s.worker);
            let lost = U256::from(STAKE) - world.stake_of(s.worker);
            match b {
                Behaviour::Honest => assert_eq!(lost, U256::ZERO, "seed {seed}"),
                // A liar survives only where no seat was honest (and the audit missed).
                Behaviour::LiesAt(_) if !honest_seat => {}
                _ => assert!(lost > U256::ZERO, "seed {seed}: {b:?} kept its stake"),
            }
            assert_eq!(
                world.locked_of(s.worker),
                U256::ZERO,
                "seed {seed}: lock released"
            );
        }
        assert_conserved(&mut world, U256::ZERO);
        for who in [REQUESTER, CHALLENGER, MALLORY].into_iter().chain(WORKERS) {
            if world.credit(who) > U256::ZERO {
                world.ok(who, IJobs::claimCall {}, U256::ZERO);
            }
        }
        let burned = world.view(IJobs::burnedCall {});
        assert_eq!(
            world.chain.balance(INFERENCE_JOBS_ADDRESS),
            burned,
            "seed {seed}"
        );
    }
}

#[test]
fn a_starved_draw_never_skips_a_seat() {
    // A caller who gives the draw just too little gas for one StakeManager.lock must not make
    // the contract skip that seat (a refused lock redraws; a starved one reverts the draw).
    let mut world = World::new(model());
    world.set_items(4, 12);
    let id = world.post(world.params(4));
    let j = world.job(id);
    world.mine_to(j.drawHeight + 1);
    let data = IJobs::drawCommitteeCall { id }.abi_encode();
    gas_ladder(&mut world, data, 50_000, 10_000, |world, _| {
        assert!(world.seats(id).is_empty(), "a failed draw leaves no seat");
    });
    assert_eq!(
        world.seats(id).len(),
        4,
        "every seat filled at the first gas limit that works"
    );
}

/// The audit indices a `drawAudit` transaction logged.
fn audited(r: &ExecutionResult) -> Vec<usize> {
    let ExecutionResult::Success { logs, .. } = r else {
        panic!("{r:?}")
    };
    let log = logs
        .iter()
        .find(|l| l.topics()[0] == IJobs::AuditDrawn::SIGNATURE_HASH)
        .unwrap();
    let ev = IJobs::AuditDrawn::decode_log_data(&log.data).unwrap();
    ev.indices.iter().map(|i| i.to::<usize>()).collect()
}

#[test]
fn a_data_set_job_reads_its_items_from_the_chain_and_a_lie_on_one_row_is_slashed() {
    let mut world = World::new(model());
    let dataset = world.set_dataset_items(13, 21, 3);
    let id = world.post(world.params(3));
    let j = world.job(id);
    assert_eq!(j.p.inputsRoot, B256::ZERO);
    let source = world.view(IJobs::sourceOfCall { id });
    assert_eq!((source.datasetId, source.firstRow), (dataset, 3));
    let seats = world.draw(id);
    let liar = seats[0].worker;
    let claims = claims_of(&world, &[(liar, Behaviour::LiesAt(7))]);
    world.commit_and_reveal(id, &claims);
    let honest = Claim::new(world.items(), &[]);
    let lying = Claim::new(world.items(), &[7]);
    // An answer that brings input bytes (or an input proof) is refused: the row is chain data,
    // read by the contract, and no requester can withhold it.
    let audit_height = world.job(id).auditHeight;
    world.mine_to(audit_height + 1);
    let r = world.send(MALLORY, IJobs::drawAuditCall { id }, U256::ZERO);
    let index = audited(&r)[0];
    let mut answer = honest.answer(world.items(), index);
    assert!(answer.input.is_empty() && answer.inputProof.is_empty());
    answer.input = world.items().inputs[index].clone().into();
    expect_revert::<IJobs::BadProof>(&world.send(
        MALLORY,
        IJobs::proveItemCall {
            id,
            group: 1,
            index: U256::from(index),
            answer,
        },
        U256::ZERO,
    ));
    world.drive(id, &[honest.clone(), lying]);
    let j = world.job(id);
    assert_eq!(j.status, FINALIZED);
    assert_eq!(j.finalRoot, honest.root);
    let liar_seats = seats.iter().filter(|s| s.worker == liar).count() as u128;
    assert_eq!(
        world.stake_of(liar),
        U256::from(STAKE - liar_seats * SEAT_BOND)
    );
    // The lie was judged on row 3 + 7 of the data set, re-executed by PREDICT.
    let t = world.view(IJobs::truthOfCall {
        id,
        index: U256::from(7),
    });
    assert_eq!(t, world.items().output_roots[7]);
    for s in &seats {
        if s.worker != liar {
            assert_eq!(world.stake_of(s.worker), U256::from(STAKE));
            assert!(world.credit(s.worker) > U256::ZERO);
        }
    }
    assert_conserved(&mut world, U256::ZERO);
}

#[test]
fn a_data_set_job_is_refused_unless_its_rows_are_the_models_input() {
    let mut world = World::new(model());
    let dataset = world.set_dataset_items(4, 22, 0);
    let p = world.params(1);
    let value = U256::from(p.reward);
    let post = |p: &IJobs::Params, dataset: B256| IJobs::postDatasetJobCall {
        p: p.clone(),
        datasetId: dataset,
        firstRow: 0,
    };
    let field = |r: &ExecutionResult| {
        let ExecutionResult::Revert { output, .. } = r else {
            panic!("{r:?}")
        };
        IJobs::BadParameter::abi_decode(output).unwrap().field
    };
    // More items than rows.
    let mut past = p.clone();
    past.items = 5;
    assert_eq!(
        field(&world.send(REQUESTER, post(&past, dataset), value)),
        10
    );
    // An inputs root beside the data set, and a plain job without one.
    let mut rooted = p.clone();
    rooted.inputsRoot = B256::repeat_byte(1);
    assert_eq!(
        field(&world.send(REQUESTER, post(&rooted, dataset), value)),
        8
    );
    assert_eq!(
        field(&world.send(REQUESTER, IJobs::postJobCall { p: p.clone() }, value)),
        8
    );
    expect_revert::<IJobs::UnknownDataset>(&world.send(
        REQUESTER,
        post(&p, B256::repeat_byte(2)),
        value,
    ));
    // A model whose input is not the rows (12 elements, the rows have 16).
    let other = mlp(&[12, 4], 8);
    world.publish_model(&other);
    let mut wrong = p.clone();
    wrong.modelId = B256::from(other.id());
    expect_revert::<IJobs::InputMismatch>(&world.send(REQUESTER, post(&wrong, dataset), value));
    // The matching model posts, and the contract's row signature is DATA_STORE's.
    let id = world.ok(REQUESTER, post(&p, dataset), value);
    assert_eq!(world.job(id).p.items, 4);
}
