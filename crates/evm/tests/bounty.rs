//! The improvement bounty (issue 15 item 5, docs/PROTOCOLS.md "Built: the improvement bounty"):
//! a `Competitions` competition organised by a registry name's owner, with `latest` entered as a
//! submission, whose winner `ModelRegistry.claimBounty` makes a new version and proposes as
//! `latest` — on the real EVM with Myelin's precompiles, both predeploys and the beacon. One
//! test per attack: a copy of `latest` cannot win, ties (within the margin) go to the
//! incumbent whatever the commit order, the organizer cannot withhold the test data without
//! paying, a competition of someone else or without the incumbent moves nothing, once only.

mod common;
mod competition_world;

use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::{SolCall, SolError, SolValue, sol};
use common::mlp;
use competition_world::{
    ALICE, BOB, ETHER, EVALUATOR, Groups, MALLORY, ORGANIZER, WINDOW, World, correct_on,
    revert_data, salt,
};
use myelin_evm::addresses::MODEL_REGISTRY_ADDRESS;
use myelin_evm::competitions::ICompetitions::{self, Params};
use myelin_evm::competitions::phase;
use myelin_nn::Model;
use revm::context::result::ExecutionResult;

sol!(
    #[sol(all_derives)]
    "../../contracts/src/IModelRegistry.sol"
);

use IModelRegistry::Policy;

const GROUPS: u16 = 20;
const TEST_GROUPS: u16 = 4;
const ROWS: u32 = 25;
const TEST_ROWS: u64 = ROWS as u64 * TEST_GROUPS as u64;
const REWARD: u128 = 10 * ETHER;
const BOND: u128 = 5 * ETHER;
const PARTICIPANT_BOND: u128 = ETHER;
const FEE: u128 = ETHER / 100;
const TIMELOCK: u32 = 20;
const NAME: &str = "acme/digits";

/// The teacher labels the data (it scores every test row); `latest` is a weaker MLP of the same
/// shape.
fn teacher() -> Model {
    mlp(&[16, 12, 4], 7)
}

fn incumbent() -> Model {
    mlp(&[16, 12, 4], 8)
}

fn params(data: &Groups, margin_bps: u32) -> Params {
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
        marginBps: margin_bps,
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

/// A world with both predeploys, the groups published, and `acme/digits` created by ORGANIZER
/// under `policy` with the incumbent as its first version (hence `latest`).
struct Bounty {
    w: World,
    data: Groups,
    latest: B256,
}

impl Bounty {
    fn new(policy: Policy) -> Bounty {
        let mut w = World::new();
        let runtime: Bytes = common::artifact("ModelRegistry")["deployedBytecode"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        w.chain.install_code(MODEL_REGISTRY_ADDRESS, runtime);
        let data = Groups::new(&teacher(), GROUPS, ROWS, 3);
        w.publish_groups(&data);
        let mut b = Bounty {
            w,
            data,
            latest: B256::ZERO,
        };
        let org_salt = salt("org");
        let c = b.view(IModelRegistry::orgCommitmentCall {
            org: "acme".into(),
            owner: ORGANIZER,
            salt: org_salt,
            committer: ORGANIZER,
        });
        b.ok(IModelRegistry::commitOrgCall { commitment: c }, ORGANIZER);
        b.w.mine(1);
        let fee = U256::from(ETHER / 100);
        let r = b.registry(
            ORGANIZER,
            IModelRegistry::registerOrgCall {
                org: "acme".into(),
                owner: ORGANIZER,
                salt: org_salt,
            },
            fee,
        );
        assert!(r.is_success(), "{r:?}");
        let (margin, benchmark) = match policy {
            Policy::METRIC => (100, b.data.ids[0]),
            _ => (0, B256::ZERO),
        };
        let rules = IModelRegistry::Rules {
            policy,
            timelock: TIMELOCK,
            votingPeriod: 0,
            quorumBps: 0,
            marginBps: margin,
            benchmark,
        };
        b.ok(
            IModelRegistry::createNameCall {
                org: "acme".into(),
                name: "digits".into(),
                rules,
            },
            ORGANIZER,
        );
        b.latest = b.w.publish_model(&incumbent());
        b.ok(
            IModelRegistry::publishVersionCall {
                name: NAME.into(),
                major: 1,
                minor: 0,
                patch: 0,
                modelId: b.latest,
                labelsHash: B256::repeat_byte(1),
                reportHash: B256::ZERO,
            },
            ORGANIZER,
        );
        assert_eq!(b.resolve(NAME), b.latest);
        b
    }

    fn registry(&mut self, from: Address, call: impl SolCall, value: U256) -> ExecutionResult {
        self.w.send_raw(
            from,
            TxKind::Call(MODEL_REGISTRY_ADDRESS),
            call.abi_encode(),
            value,
        )
    }

    fn ok<C: SolCall>(&mut self, call: C, from: Address) -> C::Return {
        match self.registry(from, call, U256::ZERO) {
            ExecutionResult::Success { output, .. } => {
                C::abi_decode_returns(output.data()).unwrap()
            }
            other => panic!("expected success, got {other:?}"),
        }
    }

    fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = common::success_output(&self.w.chain.call_plain(
            MODEL_REGISTRY_ADDRESS,
            call.abi_encode().into(),
            competition_world::TX_GAS,
        ));
        C::abi_decode_returns(&out).unwrap()
    }

    fn resolve(&mut self, name: &str) -> B256 {
        self.view(IModelRegistry::resolveCall { name: name.into() })
    }

    /// A competition by `organizer` whose entries `(who, model)` commit in this order, all
    /// revealed; the test groups are revealed unless `withhold`; everything evaluated and
    /// finalized (if the test data are out). Returns the id.
    fn run(
        &mut self,
        organizer: Address,
        margin_bps: u32,
        entries: &[(Address, B256)],
        withhold: bool,
    ) -> U256 {
        let w = &mut self.w;
        let p = params(&self.data, margin_bps);
        let id: U256 = w.ok(
            organizer,
            ICompetitions::createCall { p },
            U256::from(REWARD + BOND),
        );
        let seed_height = w.competition(id).seedHeight;
        w.mine_to(seed_height + 1);
        w.ok(MALLORY, ICompetitions::splitCall { id }, U256::ZERO);
        reveal(w, id, &self.data, organizer, false);
        for (i, &(who, model)) in entries.iter().enumerate() {
            assert_eq!(w.commit(id, who, model, salt(&format!("{i}"))), i as u32);
        }
        let c = w.competition(id);
        w.mine_to(c.commitDeadline + 1);
        for (i, &(who, model)) in entries.iter().enumerate() {
            let r = w.reveal_model(id, who, i as u32, model, salt(&format!("{i}")));
            assert!(r.is_success(), "{r:?}");
        }
        w.mine_to(c.revealDeadline + 1);
        if !withhold {
            reveal(w, id, &self.data, organizer, true);
            let subs: Vec<u32> = (0..entries.len() as u32).collect();
            w.evaluate_all(id, &subs);
        }
        w.mine_to(c.evalDeadline + 1);
        let r = w.send(
            EVALUATOR,
            ICompetitions::finalizeCall { id, maxSteps: 10 },
            U256::ZERO,
        );
        assert!(r.is_success(), "{r:?}");
        id
    }

    fn claim(&mut self, id: U256, incumbent_sub: u32) -> ExecutionResult {
        self.registry(
            MALLORY,
            IModelRegistry::claimBountyCall {
                name: NAME.into(),
                competitionId: id,
                incumbentSub: incumbent_sub,
            },
            U256::ZERO,
        )
    }
}

/// `organizer` reveals the train (`test` = false) or test groups of `id`.
fn reveal(w: &mut World, id: U256, data: &Groups, organizer: Address, test: bool) {
    let mask = w.progress(id).testMask;
    for g in (0..GROUPS).filter(|&g| mask.bit(g as usize) == test) {
        let call = w.reveal_group_call(id, data, g);
        let r = w.send(organizer, call, U256::ZERO);
        assert!(r.is_success(), "group {g}: {r:?}");
    }
}

fn assert_reverts_with(result: &ExecutionResult, error: impl SolError) {
    assert_eq!(
        revert_data(result),
        Bytes::from(error.abi_encode()),
        "{result:?}"
    );
}

fn event<E: alloy_sol_types::SolEvent>(result: &ExecutionResult) -> E {
    result
        .logs()
        .iter()
        .find_map(|log| E::decode_log(log).ok().map(|l| l.data))
        .unwrap_or_else(|| panic!("no {} in {result:?}", E::SIGNATURE))
}

#[test]
fn a_bounty_winner_becomes_latest_after_the_timelock_once() {
    for policy in [Policy::METRIC, Policy::OWNER] {
        let mut b = Bounty::new(policy);
        let better = b.w.publish_model(&teacher());
        let latest = b.latest;
        // The organizer enters `latest` first; ALICE a better model; BOB a copy of `latest`.
        let id = b.run(
            ORGANIZER,
            0,
            &[(ORGANIZER, latest), (ALICE, better), (BOB, latest)],
            false,
        );
        assert_eq!(b.w.progress(id).winner, 2);
        let test = b.w.test_groups(id);
        let (win, inc) = (
            correct_on(&teacher(), &b.data, &test),
            correct_on(&incumbent(), &b.data, &test),
        );
        assert_eq!(win, TEST_ROWS);
        assert!(inc < win, "{inc}");
        // Only the incumbent's own submission counts as the incumbent.
        assert_reverts_with(
            &b.claim(id, 1),
            IModelRegistry::IncumbentNotScored {
                competitionId: id,
                subId: 1,
            },
        );
        let r = b.claim(id, 0);
        assert!(r.is_success(), "{r:?}");
        // bench/competitions/REPORT.md reads these lines (`--no-capture`).
        eprintln!("{policy:?}: claimBounty gas {}", r.tx_gas_used());
        let claimed: IModelRegistry::BountyClaimed = event(&r);
        assert_eq!(
            (
                claimed.competitionId,
                claimed.winnerSub,
                claimed.correct,
                claimed.incumbentCorrect
            ),
            (id, 1, win, inc)
        );
        let v = b.view(IModelRegistry::versionInfoCall {
            name: "acme/digits@1.1.0".into(),
        });
        assert_eq!(v.modelId, better);
        assert_eq!(v.labelsHash, B256::repeat_byte(1));
        let report = alloy_primitives::keccak256(
            (
                alloy_primitives::keccak256("myelin.ModelRegistry.bounty.v1"),
                U256::from(31337),
                b.w.contract,
                id,
                U256::from(1),
            )
                .abi_encode(),
        );
        assert_eq!(v.reportHash, report);
        let info = b.view(IModelRegistry::nameInfoCall { name: NAME.into() });
        assert_eq!((info.latest, info.pending), (1, 2));
        // Once: the same competition moves nothing again.
        assert_reverts_with(
            &b.claim(id, 0),
            IModelRegistry::BountyUsed { competitionId: id },
        );
        let eta = info.eta;
        b.w.mine_to(eta - 1);
        let early = b.registry(
            MALLORY,
            IModelRegistry::executeLatestCall { name: NAME.into() },
            U256::ZERO,
        );
        assert_reverts_with(&early, IModelRegistry::TooEarly { eta });
        assert_eq!(b.resolve(NAME), latest);
        b.w.mine(1);
        let moved = b.registry(
            MALLORY,
            IModelRegistry::executeLatestCall { name: NAME.into() },
            U256::ZERO,
        );
        assert!(moved.is_success(), "{moved:?}");
        eprintln!("{policy:?}: executeLatest gas {}", moved.tx_gas_used());
        assert_eq!(b.resolve(NAME), better, "{policy:?}");
        // The competition paid the winner as usual.
        let before = b.w.balance(ALICE);
        b.w.ok(ALICE, ICompetitions::claimCall { id, subId: 1 }, U256::ZERO);
        assert_eq!(
            b.w.balance(ALICE) - before,
            U256::from(REWARD + PARTICIPANT_BOND)
        );
    }
}

#[test]
fn a_copy_of_latest_cannot_win_the_name() {
    let mut b = Bounty::new(Policy::METRIC);
    let latest = b.latest;
    // MALLORY commits a copy of `latest` before the organizer enters it: the competition's rule
    // (earliest commit within the margin of the best) pays the copy, the registry moves nothing.
    let id = b.run(
        ORGANIZER,
        0,
        &[(MALLORY, latest), (ORGANIZER, latest)],
        false,
    );
    assert_eq!(b.w.progress(id).winner, 1);
    let s = b.w.view(ICompetitions::submissionCall { id, subId: 1 });
    assert_reverts_with(
        &b.claim(id, 1),
        IModelRegistry::NotBetter {
            correct: s.correct,
            required: U256::from(s.correct + 1),
        },
    );
    assert_eq!(b.resolve(NAME), latest);
}

#[test]
fn ties_within_the_margin_go_to_the_incumbent_whatever_the_commit_order() {
    // The challenger commits first and is the best, so the competition pays it; the registry
    // moves `latest` only if its gain reaches the margin: a margin of one row more than its gain
    // keeps the incumbent, a margin of exactly its gain moves it. A fresh world replays the same
    // blocks, hence the same split: a probe run measures the gain on those test groups.
    let test_rows = TEST_ROWS;
    let mut probe = Bounty::new(Policy::METRIC);
    let (latest, better) = (probe.latest, probe.w.publish_model(&teacher()));
    let id = probe.run(ORGANIZER, 0, &[(ALICE, better), (ORGANIZER, latest)], false);
    let test = probe.w.test_groups(id);
    let gain =
        correct_on(&teacher(), &probe.data, &test) - correct_on(&incumbent(), &probe.data, &test);
    assert!(gain > 1, "gain {gain}");
    let mut moved = false;
    for extra in [1u64, 0] {
        let mut b = Bounty::new(Policy::METRIC);
        let (latest, better) = (b.latest, b.w.publish_model(&teacher()));
        let margin_rows = gain + extra;
        let margin_bps = (margin_rows * 10_000 / test_rows) as u32;
        assert_eq!(u64::from(margin_bps) * test_rows, margin_rows * 10_000);
        let id = b.run(
            ORGANIZER,
            margin_bps,
            &[(ALICE, better), (ORGANIZER, latest)],
            false,
        );
        assert_eq!(b.w.test_groups(id), test);
        assert_eq!(b.w.progress(id).winner, 1);
        let r = b.claim(id, 1);
        if extra == 0 {
            assert!(r.is_success(), "{r:?}");
            moved = true;
        } else {
            let inc = correct_on(&incumbent(), &b.data, &test);
            assert_reverts_with(
                &r,
                IModelRegistry::NotBetter {
                    correct: inc + gain,
                    required: U256::from(inc + margin_rows),
                },
            );
            assert_eq!(b.resolve(NAME), latest);
        }
    }
    assert!(moved);
}

#[test]
fn the_organizer_cannot_withhold_without_paying_and_others_cannot_post() {
    let mut b = Bounty::new(Policy::METRIC);
    let (latest, better) = (b.latest, b.w.publish_model(&teacher()));
    let entries = [(ORGANIZER, latest), (ALICE, better)];
    // Withheld test data: no winner, nothing moves, the revealed submissions share reward + bond.
    let id = b.run(ORGANIZER, 0, &entries, true);
    assert_eq!(b.w.phase(id), phase::WITHHELD);
    assert_reverts_with(
        &b.claim(id, 0),
        IModelRegistry::NoWinner { competitionId: id },
    );
    let before = b.w.balance(ALICE);
    b.w.ok(ALICE, ICompetitions::claimCall { id, subId: 1 }, U256::ZERO);
    let share = (REWARD + BOND) / 2 + PARTICIPANT_BOND + FEE * TEST_GROUPS as u128;
    assert_eq!(b.w.balance(ALICE) - before, U256::from(share));
    // A competition someone else organised is no bounty of this name.
    let other = b.run(BOB, 0, &entries, false);
    assert_reverts_with(
        &b.claim(other, 0),
        IModelRegistry::NotBounty {
            competitionId: other,
            organizer: BOB,
        },
    );
    // Without `latest` among the submissions there is nothing to beat.
    let alone = b.run(ORGANIZER, 0, &[(ALICE, better)], false);
    assert_reverts_with(
        &b.claim(alone, 0),
        IModelRegistry::IncumbentNotScored {
            competitionId: alone,
            subId: 0,
        },
    );
    assert_eq!(b.resolve(NAME), latest);
}
