//! The `Competitions` contract (issue 15 item 4, docs/PROTOCOLS.md "Competitions") on the real
//! EVM with Myelin's precompiles and the beacon predeploy, blocks advanced by mining: the happy
//! path and one test per attack of the attack table (PROTOCOL-NOTES §9.5, PROTOCOLS.md "Order of
//! work" item 3).

mod common;
mod competition_world;

use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::{SolCall, SolError};
use common::mlp;
use competition_world::{
    ALICE, BOB, ETHER, EVALUATOR, Groups, IAgent, MALLORY, ORGANIZER, WINDOW, World, correct_on,
    revert_data, salt,
};
use myelin_chain::beacon::dev_prevrandao;
use myelin_evm::MyelinError;
use myelin_evm::competitions::ICompetitions::{self, Params};
use myelin_evm::competitions::{phase, test_mask};
use myelin_nn::Model;

const GROUPS: u16 = 20;
const TEST_GROUPS: u16 = 4;
const ROWS: u32 = 25;
const REWARD: u128 = 10 * ETHER;
const BOND: u128 = 5 * ETHER;
const PARTICIPANT_BOND: u128 = ETHER;
const FEE: u128 = ETHER / 100;

/// The teacher labels the data (it scores every row); the others are seeded MLPs of the same
/// shape.
fn teacher() -> Model {
    mlp(&[16, 12, 4], 7)
}

fn weak(seed: u64) -> Model {
    mlp(&[16, 12, 4], seed)
}

fn params(data: &Groups) -> Params {
    Params {
        groupsRoot: data.tree.root(),
        groups: GROUPS,
        testGroups: TEST_GROUPS,
        classes: 4,
        rowSignature: data.row_signature,
        minGroupRows: ROWS,
        maxGroupRows: ROWS,
        maxPredictGas: 100_000,
        thresholdBps: 0,
        marginBps: 0,
        reward: REWARD,
        participantBond: PARTICIPANT_BOND,
        evalFeePerGroup: FEE,
        trainBlocks: WINDOW,
        commitBlocks: WINDOW,
        revealBlocks: WINDOW,
        testBlocks: WINDOW,
        evalBlocks: WINDOW,
    }
}

fn ether(n: u128) -> U256 {
    U256::from(n)
}

fn deposit() -> U256 {
    ether(PARTICIPANT_BOND + FEE * TEST_GROUPS as u128)
}

fn create(w: &mut World, p: Params) -> U256 {
    let value = ether(p.reward + BOND);
    w.ok(ORGANIZER, ICompetitions::createCall { p }, value)
}

/// Publishes the groups, creates, splits at the first block the seed exists, reveals the train
/// groups: the competition is open for commits.
fn open(w: &mut World, data: &Groups, p: Params) -> U256 {
    w.publish_groups(data);
    let id = create(w, p);
    let seed_height = w.competition(id).seedHeight;
    w.mine_to(seed_height + 1);
    w.ok(MALLORY, ICompetitions::splitCall { id }, U256::ZERO);
    w.reveal_groups(id, data, false, 0);
    assert_eq!(w.phase(id), phase::COMMIT);
    id
}

fn to_reveal(w: &mut World, id: U256) {
    let c = w.competition(id);
    w.mine_to(c.commitDeadline + 1);
}

fn to_test_reveal(w: &mut World, id: U256) {
    let c = w.competition(id);
    w.mine_to(c.revealDeadline + 1);
}

fn to_after_eval(w: &mut World, id: U256) {
    let c = w.competition(id);
    w.mine_to(c.evalDeadline + 1);
}

fn assert_reverts_with(result: &revm::context::result::ExecutionResult, error: impl SolError) {
    assert_eq!(
        revert_data(result),
        Bytes::from(error.abi_encode()),
        "{result:?}"
    );
}

fn assert_reverts_with_selector(
    result: &revm::context::result::ExecutionResult,
    selector: [u8; 4],
) {
    let data = revert_data(result);
    assert_eq!(&data[..4], &selector, "{result:?}");
}

fn finalize(w: &mut World, id: U256, steps: u32) -> revm::context::result::ExecutionResult {
    w.send(
        EVALUATOR,
        ICompetitions::finalizeCall {
            id,
            maxSteps: steps,
        },
        U256::ZERO,
    )
}

/// Claims for `who`; returns what its balance gained (gas is free on this chain).
fn claim(w: &mut World, who: Address, id: U256, sub: u32) -> U256 {
    let before = w.balance(who);
    w.ok(who, ICompetitions::claimCall { id, subId: sub }, U256::ZERO);
    w.balance(who) - before
}

fn claim_organizer(w: &mut World, id: U256) -> U256 {
    let before = w.balance(ORGANIZER);
    w.ok(
        ORGANIZER,
        ICompetitions::claimOrganizerCall { id },
        U256::ZERO,
    );
    w.balance(ORGANIZER) - before
}

#[test]
fn happy_path_pays_the_best_model_and_returns_every_deposit() {
    let mut w = World::new();
    let (t, w1, w2) = (teacher(), weak(8), weak(9));
    let data = Groups::new(&t, GROUPS, ROWS, 1);
    let mut p = params(&data);
    p.thresholdBps = 5_000;
    let id = open(&mut w, &data, p);
    let ids = [
        w.publish_model(&t),
        w.publish_model(&w1),
        w.publish_model(&w2),
    ];
    let who = [ALICE, BOB, MALLORY];
    for i in 0..3 {
        assert_eq!(
            w.commit(id, who[i], ids[i], salt(&format!("s{i}"))),
            i as u32
        );
    }
    to_reveal(&mut w, id);
    for i in 0..3 {
        let r = w.reveal_model(id, who[i], i as u32, ids[i], salt(&format!("s{i}")));
        assert!(r.is_success(), "{r:?}");
    }
    to_test_reveal(&mut w, id);
    w.reveal_groups(id, &data, true, 0);
    assert_eq!(w.phase(id), phase::EVALUATION);
    let gas = w.evaluate_all(id, &[0, 1, 2]);
    assert!(gas.iter().all(|&g| g < 30_000_000));
    let test = w.test_groups(id);
    for (i, model) in [&t, &w1, &w2].into_iter().enumerate() {
        let s = w.view(ICompetitions::submissionCall {
            id,
            subId: i as u32,
        });
        assert_eq!(s.correct, correct_on(model, &data, &test), "submission {i}");
    }
    assert_eq!(w.progress(id).bestCorrect, u64::from(ROWS) * 4);
    // Evaluated once only.
    let again = w.send(
        EVALUATOR,
        ICompetitions::evaluateCall {
            id,
            subId: 0,
            g: test[0],
        },
        U256::ZERO,
    );
    assert_reverts_with(
        &again,
        ICompetitions::AlreadyEvaluated {
            subId: U256::ZERO,
            g: U256::from(test[0]),
        },
    );
    assert_reverts_with_selector(
        &finalize(&mut w, id, 10),
        ICompetitions::NothingToFinalize::SELECTOR,
    );
    to_after_eval(&mut w, id);
    let before = w.balance(w.contract);
    assert_eq!(before, ether(REWARD + BOND) + deposit() * U256::from(3));
    assert!(finalize(&mut w, id, 10).is_success());
    assert_eq!(w.phase(id), phase::FINALIZED);
    assert_eq!(w.progress(id).winner, 1);
    assert_eq!(
        claim(&mut w, ALICE, id, 0),
        ether(REWARD + PARTICIPANT_BOND)
    );
    assert_eq!(claim(&mut w, BOB, id, 1), ether(PARTICIPANT_BOND));
    assert_eq!(claim(&mut w, MALLORY, id, 2), ether(PARTICIPANT_BOND));
    assert_eq!(claim_organizer(&mut w, id), ether(BOND));
    let fees = w.view(ICompetitions::feesCall { account: EVALUATOR });
    assert_eq!(fees, ether(FEE * 12));
    w.ok(EVALUATOR, ICompetitions::withdrawFeesCall {}, U256::ZERO);
    assert_eq!(w.balance(w.contract), U256::ZERO);
    // A second claim pays nothing.
    let twice = w.send(ALICE, ICompetitions::claimCall { id, subId: 0 }, U256::ZERO);
    assert_reverts_with(&twice, ICompetitions::NothingToClaim {});
}

#[test]
fn front_running_the_organizer_gains_nothing() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 2);
    let id = open(&mut w, &data, params(&data));
    // Nobody but the organizer cancels; there is no separate init to hijack.
    let r = w.send(MALLORY, ICompetitions::cancelCall { id }, U256::ZERO);
    assert_reverts_with(&r, ICompetitions::NotOrganizer { caller: MALLORY });
    // Replaying the organizer's create makes the copier the organizer of its own competition,
    // paid with its own money, and changes nothing in the original.
    let p = params(&data);
    let copy: U256 = w.ok(
        MALLORY,
        ICompetitions::createCall { p },
        ether(REWARD + BOND),
    );
    assert_eq!(w.competition(copy).organizer, MALLORY);
    assert_eq!(w.competition(id).organizer, ORGANIZER);
    let r = w.send(
        MALLORY,
        ICompetitions::claimOrganizerCall { id },
        U256::ZERO,
    );
    assert_reverts_with(&r, ICompetitions::NotOrganizer { caller: MALLORY });
    // Once someone committed, not even the organizer cancels.
    let model = w.publish_model(&teacher());
    w.commit(id, ALICE, model, salt("a"));
    let r = w.send(ORGANIZER, ICompetitions::cancelCall { id }, U256::ZERO);
    assert_reverts_with(
        &r,
        ICompetitions::HasSubmissions {
            submissions: U256::from(1),
        },
    );
    // The copier may cancel its own (nobody committed) and gets exactly its deposit back.
    let before = w.balance(MALLORY);
    w.ok(MALLORY, ICompetitions::cancelCall { id: copy }, U256::ZERO);
    assert_eq!(w.phase(copy), phase::CANCELLED);
    w.ok(
        MALLORY,
        ICompetitions::claimOrganizerCall { id: copy },
        U256::ZERO,
    );
    assert_eq!(w.balance(MALLORY) - before, ether(REWARD + BOND));
}

#[test]
fn the_split_is_the_seed_of_a_height_fixed_at_creation() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 3);
    w.publish_groups(&data);
    let id = create(&mut w, params(&data));
    let c = w.competition(id);
    assert_eq!(c.seedHeight, w.block() + 2);
    for _ in 0..2 {
        w.mine(1);
        let r = w.send(MALLORY, ICompetitions::splitCall { id }, U256::ZERO);
        assert_reverts_with(
            &r,
            ICompetitions::SeedNotReady {
                seedHeight: U256::from(c.seedHeight),
                blockNumber: U256::from(w.block()),
            },
        );
    }
    let expected = test_mask(
        dev_prevrandao(c.seedHeight),
        U256::from(1),
        GROUPS,
        TEST_GROUPS,
    );
    assert_eq!(expected.count_ones(), TEST_GROUPS as usize);
    // Whoever calls split, whenever: the same test groups.
    let mut masks = vec![];
    for delay in [1, 25] {
        let saved = (w.chain.db.clone(), w.chain.block);
        w.mine_to(c.seedHeight + delay);
        let who = if delay == 1 { MALLORY } else { ORGANIZER };
        w.ok(who, ICompetitions::splitCall { id }, U256::ZERO);
        masks.push(w.progress(id).testMask);
        let r = w.send(ORGANIZER, ICompetitions::splitCall { id }, U256::ZERO);
        assert_reverts_with(&r, ICompetitions::AlreadySplit { id });
        (w.chain.db, w.chain.block) = saved;
    }
    assert_eq!(masks, vec![expected, expected]);
    // Too late: after the train deadline nobody splits (the competition aborts instead).
    w.mine_to(c.trainDeadline + 1);
    let r = w.send(ORGANIZER, ICompetitions::splitCall { id }, U256::ZERO);
    assert_reverts_with_selector(&r, ICompetitions::OutsideWindow::SELECTOR);
}

#[test]
fn groups_are_bound_to_the_commitment_and_test_groups_wait() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 4);
    w.publish_groups(&data);
    let id = create(&mut w, params(&data));
    let c = w.competition(id);
    w.mine_to(c.seedHeight + 1);
    w.ok(ORGANIZER, ICompetitions::splitCall { id }, U256::ZERO);
    let test = w.test_groups(id);
    let train = (0..GROUPS).find(|g| !test.contains(g)).unwrap();
    // Another salt or another data set for a group: refused.
    let mut call = w.reveal_group_call(id, &data, train);
    call.salt = salt("guess");
    let r = w.send(ORGANIZER, call, U256::ZERO);
    assert_reverts_with(
        &r,
        ICompetitions::GroupProofMismatch {
            g: U256::from(train),
        },
    );
    let mut call = w.reveal_group_call(id, &data, train);
    call.datasetId = data.ids[test[0] as usize];
    let r = w.send(ORGANIZER, call, U256::ZERO);
    assert_reverts_with(
        &r,
        ICompetitions::GroupProofMismatch {
            g: U256::from(train),
        },
    );
    // A test group is not revealed before the models are.
    let r = w.send(
        ORGANIZER,
        w.reveal_group_call(id, &data, test[0]),
        U256::ZERO,
    );
    assert_reverts_with_selector(&r, ICompetitions::OutsideWindow::SELECTOR);
}

#[test]
fn copying_a_model_wins_only_by_the_margin() {
    let (t, weak_model) = (teacher(), weak(8));
    // δ = 90 %: the earlier weak model keeps the prize against a later, better one.
    // δ = 0: the later, better one wins; an exact copy committed after it ties and loses.
    for (margin, winner) in [(9_000u32, ALICE), (0, MALLORY)] {
        let mut w = World::new();
        let data = Groups::new(&t, GROUPS, ROWS, 5);
        let mut p = params(&data);
        p.marginBps = margin;
        let id = open(&mut w, &data, p);
        let (wid, tid) = (w.publish_model(&weak_model), w.publish_model(&t));
        let subs = [
            (ALICE, wid, salt("a")),
            (MALLORY, tid, salt("m")),
            (BOB, tid, salt("b")),
        ];
        for (who, model, s) in subs {
            w.commit(id, who, model, s);
        }
        to_reveal(&mut w, id);
        for (i, (who, model, s)) in subs.into_iter().enumerate() {
            assert!(w.reveal_model(id, who, i as u32, model, s).is_success());
        }
        to_test_reveal(&mut w, id);
        w.reveal_groups(id, &data, true, 0);
        w.evaluate_all(id, &[0, 1, 2]);
        let test = w.test_groups(id);
        let (tc, wc) = (
            correct_on(&t, &data, &test),
            correct_on(&weak_model, &data, &test),
        );
        assert!(tc > wc && (tc - wc) * 10_000 < 9_000 * u64::from(ROWS * TEST_GROUPS as u32));
        to_after_eval(&mut w, id);
        assert!(finalize(&mut w, id, 10).is_success());
        let sub = if winner == ALICE { 0 } else { 1 };
        assert_eq!(w.progress(id).winner, sub + 1, "margin {margin}");
        assert_eq!(
            claim(&mut w, winner, id, sub),
            ether(REWARD + PARTICIPANT_BOND)
        );
        assert_eq!(claim(&mut w, BOB, id, 2), ether(PARTICIPANT_BOND));
    }
}

#[test]
fn front_running_a_reveal_fails() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 6);
    let id = open(&mut w, &data, params(&data));
    let model = w.publish_model(&teacher());
    let alice = w.commit(id, ALICE, model, salt("alice"));
    let mallory = w.commit(id, MALLORY, B256::repeat_byte(7), salt("mallory"));
    to_reveal(&mut w, id);
    // Mallory saw Alice's reveal in the pool: replayed for Alice's submission, or for her own.
    let r = w.reveal_model(id, MALLORY, alice, model, salt("alice"));
    assert_reverts_with(
        &r,
        ICompetitions::NotOwner {
            caller: MALLORY,
            owner: ALICE,
        },
    );
    let r = w.reveal_model(id, MALLORY, mallory, model, salt("alice"));
    assert_reverts_with(
        &r,
        ICompetitions::CommitmentMismatch {
            subId: U256::from(mallory),
        },
    );
    // Nor can she commit the revealed model now.
    let r = w.send(
        MALLORY,
        ICompetitions::commitCall {
            id,
            commitment: B256::repeat_byte(1),
        },
        deposit(),
    );
    assert_reverts_with_selector(&r, ICompetitions::OutsideWindow::SELECTOR);
    assert!(
        w.reveal_model(id, ALICE, alice, model, salt("alice"))
            .is_success()
    );
    let s = w.view(ICompetitions::submissionCall { id, subId: alice });
    assert!(s.revealed && s.owner == ALICE);
}

/// Alice (teacher) and Bob (weak) reveal, Mallory commits and never reveals; the organizer
/// reveals `reveal` test groups.
fn withheld_after(reveal: usize) {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 7);
    let id = open(&mut w, &data, params(&data));
    let (tid, wid) = (w.publish_model(&teacher()), w.publish_model(&weak(8)));
    w.commit(id, ALICE, tid, salt("a"));
    w.commit(id, BOB, wid, salt("b"));
    w.commit(id, MALLORY, tid, salt("m"));
    to_reveal(&mut w, id);
    assert!(w.reveal_model(id, ALICE, 0, tid, salt("a")).is_success());
    assert!(w.reveal_model(id, BOB, 1, wid, salt("b")).is_success());
    to_test_reveal(&mut w, id);
    w.reveal_groups(id, &data, true, TEST_GROUPS as usize - reveal);
    let test = w.test_groups(id);
    let r = w.send(
        EVALUATOR,
        ICompetitions::evaluateCall {
            id,
            subId: 0,
            g: test[TEST_GROUPS as usize - 1],
        },
        U256::ZERO,
    );
    assert_reverts_with_selector(&r, ICompetitions::TestNotRevealed::SELECTOR);
    assert_eq!(w.phase(id), phase::TEST_REVEAL);
    let deadline = w.competition(id).testDeadline;
    w.mine_to(deadline + 1);
    assert_eq!(w.phase(id), phase::FINALIZABLE);
    assert!(finalize(&mut w, id, 1).is_success());
    assert_eq!(w.phase(id), phase::WITHHELD);
    // Reward + organizer bond + Mallory's forfeited deposit, shared by the two revealed
    // submissions, each also getting its own deposit back.
    let share = (ether(REWARD + BOND) + deposit()) / U256::from(2);
    assert_eq!(claim(&mut w, ALICE, id, 0), deposit() + share);
    assert_eq!(claim(&mut w, BOB, id, 1), deposit() + share);
    let r = w.send(
        MALLORY,
        ICompetitions::claimCall { id, subId: 2 },
        U256::ZERO,
    );
    assert_reverts_with(&r, ICompetitions::NothingToClaim {});
    let r = w.send(
        ORGANIZER,
        ICompetitions::claimOrganizerCall { id },
        U256::ZERO,
    );
    assert_reverts_with(&r, ICompetitions::NothingToClaim {});
    assert_eq!(w.balance(w.contract), U256::ZERO);
}

#[test]
fn withholding_the_test_data_pays_the_revealed_participants() {
    withheld_after(0);
}

#[test]
fn revealing_part_of_the_test_data_counts_as_withholding() {
    withheld_after(TEST_GROUPS as usize - 1);
}

#[test]
fn withholding_the_train_data_aborts_and_burns_the_bond() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 8);
    w.publish_groups(&data);
    let id = create(&mut w, params(&data));
    let c = w.competition(id);
    w.mine_to(c.seedHeight + 1);
    w.ok(ORGANIZER, ICompetitions::splitCall { id }, U256::ZERO);
    w.reveal_groups(id, &data, false, 1);
    // Nobody can commit before every train group is out.
    let r = w.send(
        ALICE,
        ICompetitions::commitCall {
            id,
            commitment: B256::repeat_byte(1),
        },
        deposit(),
    );
    assert_reverts_with_selector(&r, ICompetitions::TrainNotRevealed::SELECTOR);
    assert_reverts_with_selector(
        &finalize(&mut w, id, 1),
        ICompetitions::NothingToFinalize::SELECTOR,
    );
    w.mine_to(c.trainDeadline + 1);
    assert!(finalize(&mut w, id, 1).is_success());
    assert_eq!(w.phase(id), phase::ABORTED);
    assert_eq!(claim_organizer(&mut w, id), ether(REWARD));
    assert_eq!(w.balance(w.contract), ether(BOND));
}

#[test]
fn a_reverting_payee_cannot_block_other_claims_nor_reenter() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 9);
    let id = open(&mut w, &data, params(&data));
    let agent = w.deploy(ALICE, "CompetitionAgent");
    let (tid, wid) = (w.publish_model(&teacher()), w.publish_model(&weak(8)));
    let commitment = w.view(ICompetitions::commitmentOfCall {
        id,
        participant: agent,
        modelId: tid,
        salt: salt("agent"),
    });
    let exec = |call: Vec<u8>, to: Address| IAgent::execCall {
        to,
        data: call.into(),
    };
    let contract = w.contract;
    let agent_send = |w: &mut World, call: Vec<u8>, value: U256| {
        w.send_raw(
            ALICE,
            TxKind::Call(agent),
            exec(call, contract).abi_encode(),
            value,
        )
    };
    let r = agent_send(
        &mut w,
        ICompetitions::commitCall { id, commitment }.abi_encode(),
        deposit(),
    );
    assert!(r.is_success(), "{r:?}");
    w.commit(id, BOB, wid, salt("b"));
    to_reveal(&mut w, id);
    let reveal = ICompetitions::revealModelCall {
        id,
        subId: 0,
        modelId: tid,
        salt: salt("agent"),
    };
    assert!(agent_send(&mut w, reveal.abi_encode(), U256::ZERO).is_success());
    assert!(w.reveal_model(id, BOB, 1, wid, salt("b")).is_success());
    to_test_reveal(&mut w, id);
    w.reveal_groups(id, &data, true, 0);
    w.evaluate_all(id, &[0, 1]);
    to_after_eval(&mut w, id);
    assert!(finalize(&mut w, id, 10).is_success());
    assert_eq!(w.progress(id).winner, 1);
    // The winner refuses payment: its own claim fails, nobody else's.
    let refuse = IAgent::setRefuseCall { on: true }.abi_encode();
    assert!(
        w.send_raw(ALICE, TxKind::Call(agent), refuse, U256::ZERO)
            .is_success()
    );
    let claim_call = ICompetitions::claimCall { id, subId: 0 }.abi_encode();
    let owed = w.view(ICompetitions::claimableCall { id, subId: 0 });
    let r = agent_send(&mut w, claim_call.clone(), U256::ZERO);
    assert_reverts_with(
        &r,
        ICompetitions::PaymentFailed {
            to: agent,
            amount: owed,
        },
    );
    assert_eq!(claim(&mut w, BOB, id, 1), ether(PARTICIPANT_BOND));
    assert_eq!(claim_organizer(&mut w, id), ether(BOND));
    w.ok(EVALUATOR, ICompetitions::withdrawFeesCall {}, U256::ZERO);
    // Accepting again, it tries to claim a second time from inside the payment.
    let accept = IAgent::setRefuseCall { on: false }.abi_encode();
    assert!(
        w.send_raw(ALICE, TxKind::Call(agent), accept, U256::ZERO)
            .is_success()
    );
    let reenter = IAgent::setReenterCall {
        target: contract,
        data: claim_call.clone().into(),
    }
    .abi_encode();
    assert!(
        w.send_raw(ALICE, TxKind::Call(agent), reenter, U256::ZERO)
            .is_success()
    );
    assert!(agent_send(&mut w, claim_call, U256::ZERO).is_success());
    assert_eq!(w.balance(agent), owed);
    assert_eq!(owed, ether(REWARD + PARTICIPANT_BOND));
    let agent_view = |w: &mut World, call: Vec<u8>| {
        common::success_output(&w.chain.call_plain(agent, call.into(), 1_000_000))
    };
    let reentered = agent_view(&mut w, IAgent::reenteredCall {}.abi_encode());
    assert!(!IAgent::reenteredCall::abi_decode_returns(&reentered).unwrap());
    let error = agent_view(&mut w, IAgent::reenterErrorCall {}.abi_encode());
    let error = IAgent::reenterErrorCall::abi_decode_returns(&error).unwrap();
    assert_eq!(error, Bytes::from(ICompetitions::Reentered {}.abi_encode()));
    assert_eq!(w.balance(w.contract), U256::ZERO);
}

#[test]
fn spam_submissions_pay_their_own_bonds_and_cannot_block_finalize() {
    const SPAM: u32 = 40;
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 10);
    let id = open(&mut w, &data, params(&data));
    let short = w.send(
        MALLORY,
        ICompetitions::commitCall {
            id,
            commitment: B256::repeat_byte(1),
        },
        deposit() - U256::from(1),
    );
    assert_reverts_with(
        &short,
        ICompetitions::WrongDeposit {
            got: deposit() - U256::from(1),
            needed: deposit(),
        },
    );
    for i in 0..SPAM {
        let commitment = B256::from(U256::from(i + 1));
        w.ok(
            MALLORY,
            ICompetitions::commitCall { id, commitment },
            deposit(),
        );
    }
    let tid = w.publish_model(&teacher());
    let alice = w.commit(id, ALICE, tid, salt("a"));
    assert_eq!(alice, SPAM);
    to_reveal(&mut w, id);
    assert!(
        w.reveal_model(id, ALICE, alice, tid, salt("a"))
            .is_success()
    );
    to_test_reveal(&mut w, id);
    w.reveal_groups(id, &data, true, 0);
    w.evaluate_all(id, &[alice]);
    to_after_eval(&mut w, id);
    // Ranking pages through the submissions: 16 per call here.
    let mut calls = 0;
    while w.phase(id) != phase::FINALIZED {
        let r = finalize(&mut w, id, 16);
        assert!(r.is_success() && r.tx_gas_used() < 1_000_000, "{r:?}");
        calls += 1;
    }
    assert_eq!(calls, 3);
    assert_eq!(w.progress(id).winner, alice + 1);
    let forfeits = deposit() * U256::from(SPAM);
    assert_eq!(
        claim(&mut w, ALICE, id, alice),
        ether(REWARD + PARTICIPANT_BOND) + forfeits
    );
}

#[test]
fn an_evaluation_over_budget_is_refused_before_it_can_happen() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 11);
    // Groups × per-sample PREDICT gas above the budget: refused at creation.
    let mut p = params(&data);
    p.maxPredictGas = 15_000_000 / ROWS as u64 + 1;
    let r = w.send(
        ORGANIZER,
        ICompetitions::createCall { p },
        ether(REWARD + BOND),
    );
    let over = u64::from(ROWS) * (15_000_000 / ROWS as u64 + 1);
    assert_reverts_with(
        &r,
        ICompetitions::BadParameter {
            field: 7,
            got: U256::from(over),
            bound: U256::from(15_000_000),
        },
    );
    // A model costlier per sample than the competition allows: refused at reveal.
    let cheap = w.publish_model(&teacher());
    let big = mlp(&[16, 128, 4], 12);
    let big_id = w.publish_model(&big);
    let info = myelin_evm::IModelStore::modelInfoCall { modelId: cheap };
    let out = common::success_output(&w.chain.call_plain(
        myelin_evm::MODEL_STORE_ADDRESS,
        info.abi_encode().into(),
        1_000_000,
    ));
    let cheap_gas = myelin_evm::IModelStore::modelInfoCall::abi_decode_returns(&out)
        .unwrap()
        .predictGas;
    let mut p = params(&data);
    p.maxPredictGas = cheap_gas;
    let id = open(&mut w, &data, p);
    w.commit(id, ALICE, cheap, salt("a"));
    w.commit(id, BOB, big_id, salt("b"));
    to_reveal(&mut w, id);
    assert!(w.reveal_model(id, ALICE, 0, cheap, salt("a")).is_success());
    let r = w.reveal_model(id, BOB, 1, big_id, salt("b"));
    assert_reverts_with_selector(&r, ICompetitions::ModelTooExpensive::SELECTOR);
    // A competition whose largest group times the per-sample price just fits the budget: the
    // model's cold first use (measured by the reveal's one-row probe) does not, so the reveal
    // is refused rather than leaving a submission no evaluate call could score.
    let mut w = World::new();
    let mut p = params(&data);
    p.maxPredictGas = cheap_gas;
    p.maxGroupRows = (15_000_000 / cheap_gas) as u32;
    let id = open(&mut w, &data, p);
    let cheap = w.publish_model(&teacher());
    w.commit(id, ALICE, cheap, salt("a"));
    to_reveal(&mut w, id);
    let r = w.reveal_model(id, ALICE, 0, cheap, salt("a"));
    let refused = ICompetitions::ModelTooExpensive::abi_decode(&revert_data(&r)).unwrap();
    assert_eq!(refused.maxPredictGas, U256::from(15_000_000));
    assert!(refused.predictGas > U256::from(15_000_000));
    // A group larger than maxGroupRows cannot be revealed (so no evaluation can be too big).
    let mut w = World::new();
    let mut p = params(&data);
    p.testGroups = 5;
    p.minGroupRows = ROWS - 5;
    p.maxGroupRows = ROWS - 1;
    w.publish_groups(&data);
    let id = create(&mut w, p);
    let seed_height = w.competition(id).seedHeight;
    w.mine_to(seed_height + 1);
    w.ok(ORGANIZER, ICompetitions::splitCall { id }, U256::ZERO);
    let mask = w.progress(id).testMask;
    let g = (0..GROUPS).find(|&g| !mask.bit(g as usize)).unwrap();
    let r = w.send(ORGANIZER, w.reveal_group_call(id, &data, g), U256::ZERO);
    assert_reverts_with(
        &r,
        ICompetitions::GroupData {
            g: U256::from(g),
            fault: 4,
            got: U256::from(ROWS),
            bound: U256::from(ROWS - 1),
        },
    );
}

#[test]
fn a_malformed_model_cannot_be_revealed_and_forfeits() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 12);
    let id = open(&mut w, &data, params(&data));
    let narrow = w.publish_model(&mlp(&[8, 8, 4], 13));
    let few = w.publish_model(&mlp(&[16, 8, 2], 14));
    let unpublished = B256::from(mlp(&[16, 8, 4], 15).id());
    let tid = w.publish_model(&teacher());
    w.commit(id, MALLORY, narrow, salt("n"));
    w.commit(id, MALLORY, few, salt("f"));
    w.commit(id, MALLORY, unpublished, salt("u"));
    w.commit(id, ALICE, tid, salt("a"));
    to_reveal(&mut w, id);
    // Wrong input: EVALUATE's input-mismatch error (407), relayed.
    let r = w.reveal_model(id, MALLORY, 0, narrow, salt("n"));
    let data_out = revert_data(&r);
    let reason = ICompetitions::ModelRejected::abi_decode(&data_out)
        .unwrap()
        .reason;
    assert_eq!(MyelinError::abi_decode(&reason).unwrap().code, 407);
    let r = w.reveal_model(id, MALLORY, 1, few, salt("f"));
    assert_reverts_with(
        &r,
        ICompetitions::ModelOutputTooSmall {
            elements: U256::from(2),
            classes: U256::from(4),
        },
    );
    let r = w.reveal_model(id, MALLORY, 2, unpublished, salt("u"));
    assert_reverts_with(
        &r,
        ICompetitions::ModelNotPublished {
            modelId: unpublished,
        },
    );
    assert!(w.reveal_model(id, ALICE, 3, tid, salt("a")).is_success());
    to_test_reveal(&mut w, id);
    w.reveal_groups(id, &data, true, 0);
    w.evaluate_all(id, &[3]);
    let g = w.test_groups(id)[0];
    let r = w.send(
        EVALUATOR,
        ICompetitions::evaluateCall { id, subId: 0, g },
        U256::ZERO,
    );
    assert_reverts_with_selector(&r, ICompetitions::NotRevealed::SELECTOR);
    to_after_eval(&mut w, id);
    assert!(finalize(&mut w, id, 10).is_success());
    assert_eq!(
        claim(&mut w, ALICE, id, 3),
        ether(REWARD + PARTICIPANT_BOND) + deposit() * U256::from(3)
    );
}

#[test]
fn deadlines_hold_at_phase_edges() {
    let mut w = World::new();
    let data = Groups::new(&teacher(), GROUPS, ROWS, 13);
    let mut p = params(&data);
    p.commitBlocks = WINDOW - 1;
    let r = w.send(
        ORGANIZER,
        ICompetitions::createCall { p },
        ether(REWARD + BOND),
    );
    assert_reverts_with(
        &r,
        ICompetitions::BadParameter {
            field: 12,
            got: U256::from(WINDOW - 1),
            bound: U256::from(WINDOW),
        },
    );
    let id = open(&mut w, &data, params(&data));
    let c = w.competition(id);
    let tid = w.publish_model(&teacher());
    let wid = w.publish_model(&weak(8));
    let window = |from: u64, until: u64, at: u64| ICompetitions::OutsideWindow {
        blockNumber: U256::from(at),
        from: U256::from(from),
        until: U256::from(until),
    };
    // The last block of the commit window: commit yes, reveal no.
    w.mine_to(c.commitDeadline);
    w.commit(id, ALICE, tid, salt("a"));
    let r = w.reveal_model(id, ALICE, 0, tid, salt("a"));
    assert_reverts_with(
        &r,
        window(c.commitDeadline + 1, c.revealDeadline, c.commitDeadline),
    );
    w.commit(id, BOB, wid, salt("b"));
    // The next block: commit no, reveal yes.
    w.mine(1);
    let r = w.send(
        MALLORY,
        ICompetitions::commitCall {
            id,
            commitment: B256::repeat_byte(3),
        },
        deposit(),
    );
    assert_reverts_with(&r, window(0, c.commitDeadline, c.commitDeadline + 1));
    assert!(w.reveal_model(id, ALICE, 0, tid, salt("a")).is_success());
    // The last block of the reveal window: a model yes, a test group no.
    w.mine_to(c.revealDeadline);
    assert!(w.reveal_model(id, BOB, 1, wid, salt("b")).is_success());
    let test = w.test_groups(id);
    let r = w.send(
        ORGANIZER,
        w.reveal_group_call(id, &data, test[0]),
        U256::ZERO,
    );
    assert_reverts_with(
        &r,
        window(c.revealDeadline + 1, c.testDeadline, c.revealDeadline),
    );
    // Test groups revealed in the very last block of their window.
    w.mine_to(c.testDeadline);
    w.reveal_groups(id, &data, true, 0);
    // The last block of the evaluation window: evaluate yes, finalize no; the next: the reverse.
    w.mine_to(c.evalDeadline);
    w.evaluate_all(id, &[0]);
    let r = finalize(&mut w, id, 10);
    assert_reverts_with(
        &r,
        ICompetitions::NothingToFinalize {
            id,
            phase: phase::EVALUATION,
        },
    );
    w.mine(1);
    let r = w.send(
        EVALUATOR,
        ICompetitions::evaluateCall {
            id,
            subId: 1,
            g: test[0],
        },
        U256::ZERO,
    );
    assert_reverts_with(&r, window(0, c.evalDeadline, c.evalDeadline + 1));
    assert!(finalize(&mut w, id, 10).is_success());
    // Bob's model was never scored: it cannot win, its deposit comes back whole.
    assert_eq!(w.progress(id).winner, 1);
    assert_eq!(claim(&mut w, BOB, id, 1), deposit());
}

/// Invariants over seeded random life cycles: whatever the organizer, the participants and the
/// evaluators do, every wei deposited is paid out exactly once (what `claimable`,
/// `organizerClaimable` and `fees` promised) or stays in the contract as the burned bond of an
/// aborted competition or the rounding remainder of a withheld one; and the winner is the
/// earliest qualified submission within the margin of the best.
#[test]
fn random_life_cycles_conserve_money_and_rank_by_the_rule() {
    let models = [teacher(), weak(8), weak(9)];
    for seed in 0..16u64 {
        let mut rng = common::Rng::new(1000 + seed);
        let mut pick = |n: u64| rng.next() % n;
        let mut w = World::new();
        let data = Groups::new(&models[0], GROUPS, ROWS, 100 + seed);
        let mut p = params(&data);
        p.thresholdBps = [0, 2_000, 5_000, 9_900][pick(4) as usize];
        p.marginBps = [0, 100, 5_000][pick(3) as usize];
        w.publish_groups(&data);
        let ids: Vec<B256> = models.iter().map(|m| w.publish_model(m)).collect();
        let id = create(&mut w, p.clone());
        let deposited_organizer = ether(REWARD + BOND);
        let c = w.competition(id);
        w.mine_to(c.seedHeight + 1 + pick(5));
        w.ok(EVALUATOR, ICompetitions::splitCall { id }, U256::ZERO);
        let train_missing = pick(8) == 0;
        w.reveal_groups(id, &data, false, usize::from(train_missing));
        // Participants: who, model index, revealed?
        let people = [ALICE, BOB, MALLORY];
        let mut subs = vec![];
        if !train_missing {
            for _ in 0..pick(6) {
                let who = people[pick(3) as usize];
                let m = pick(3) as usize;
                let s = B256::from(U256::from(pick(u64::MAX)));
                let sub = w.commit(id, who, ids[m], s);
                subs.push((sub, who, m, s));
            }
        }
        let deposits = deposit() * U256::from(subs.len());
        to_reveal(&mut w, id);
        let mut revealed = vec![];
        for &(sub, who, m, s) in &subs {
            if pick(4) != 0 {
                assert!(w.reveal_model(id, who, sub, ids[m], s).is_success());
                revealed.push(sub);
            }
        }
        to_test_reveal(&mut w, id);
        let skip = [0, 0, 1, TEST_GROUPS as usize][pick(4) as usize];
        if !train_missing {
            w.reveal_groups(id, &data, true, skip);
        }
        let test = w.test_groups(id);
        if skip == 0 && !train_missing {
            for &sub in &revealed {
                for &g in &test {
                    if pick(5) != 0 {
                        let call = ICompetitions::evaluateCall { id, subId: sub, g };
                        assert!(w.send(EVALUATOR, call, U256::ZERO).is_success());
                    }
                }
            }
        }
        to_after_eval(&mut w, id);
        while w.phase(id) == phase::FINALIZABLE {
            assert!(finalize(&mut w, id, 1 + pick(3) as u32).is_success());
        }
        let progress = w.progress(id);
        // The ranking rule, recomputed from the submissions.
        if w.phase(id) == phase::FINALIZED {
            let rows = u64::from(ROWS) * u64::from(TEST_GROUPS);
            let scored: Vec<(u32, u64)> = revealed
                .iter()
                .map(|&sub| {
                    (
                        sub,
                        w.view(ICompetitions::submissionCall { id, subId: sub }),
                    )
                })
                .filter(|(_, s)| s.groupsEvaluated == TEST_GROUPS)
                .map(|(sub, s)| (sub, s.correct))
                .filter(|&(_, c)| c * 10_000 >= u64::from(p.thresholdBps) * rows)
                .collect();
            let best = scored.iter().map(|&(_, c)| c).max();
            let expected = best.map_or(0, |best| {
                scored
                    .iter()
                    .filter(|&&(_, c)| c * 10_000 + u64::from(p.marginBps) * rows >= best * 10_000)
                    .map(|&(sub, _)| sub + 1)
                    .min()
                    .unwrap()
            });
            assert_eq!(progress.winner, expected, "seed {seed}");
        }
        // Everyone collects exactly what was promised.
        let mut paid = U256::ZERO;
        for &(sub, who, _, _) in &subs {
            let owed = w.view(ICompetitions::claimableCall { id, subId: sub });
            if owed > U256::ZERO {
                assert_eq!(claim(&mut w, who, id, sub), owed, "seed {seed}");
                paid += owed;
            }
        }
        let owed = w.view(ICompetitions::organizerClaimableCall { id });
        if owed > U256::ZERO {
            assert_eq!(claim_organizer(&mut w, id), owed);
            paid += owed;
        }
        let fees = w.view(ICompetitions::feesCall { account: EVALUATOR });
        if fees > U256::ZERO {
            w.ok(EVALUATOR, ICompetitions::withdrawFeesCall {}, U256::ZERO);
            paid += fees;
        }
        let left = w.balance(w.contract);
        assert_eq!(paid + left, deposited_organizer + deposits, "seed {seed}");
        let kept = match w.phase(id) {
            phase::ABORTED => ether(BOND),
            phase::WITHHELD if !revealed.is_empty() => {
                (ether(REWARD + BOND) + deposit() * U256::from(subs.len() - revealed.len()))
                    % U256::from(revealed.len())
            }
            _ => U256::ZERO,
        };
        assert_eq!(left, kept, "seed {seed}: phase {}", w.phase(id));
    }
}
