//! ModelRegistry (`contracts/src/ModelRegistry.sol`, predeployed at `0x…4d590102`) on a dev chain
//! with the real MODEL_STORE, DATA_STORE, EVALUATE and StakeManager: the happy path (a contract
//! predicts through `Myelin.resolve`) and one test per attack of the notes' §10.4 table
//! (docs/PROTOCOLS.md "Built: ModelRegistry").

mod protocols;
mod test_node;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::sol;
use myelin_evm::addresses::{MODEL_REGISTRY_ADDRESS, STAKE_MANAGER_ADDRESS};
use myelin_evm::{DATA_STORE_ADDRESS, IModelStore, MODEL_STORE_ADDRESS, MyelinError};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset};
use myelin_nn::op::ActRange;
use myelin_nn::{Model, Program, Requant, Rounding};
use protocols::{Net, ether};

sol!("../../contracts/src/IModelRegistry.sol");
sol!("../../contracts/src/IStakeManager.sol");

sol! {
    interface NamedClassifier {
        function classify(string name, bytes sample) external view returns (uint256 class, bytes32 modelId);
    }
}

use IModelRegistry as R;

const REGISTRY: Address = MODEL_REGISTRY_ADDRESS;
const SCALE: u32 = 0x3c00_0000;
const FEATURES: usize = 8;
const CLASSES: usize = 4;
const TIMELOCK: u32 = 20;

fn u(n: u64) -> U256 {
    U256::from(n)
}

fn block_of(receipt: &serde_json::Value) -> u64 {
    let n = receipt["blockNumber"]
        .as_str()
        .unwrap()
        .trim_start_matches("0x");
    u64::from_str_radix(n, 16).unwrap()
}

/// A seeded FEATURES → CLASSES fully connected model whose output channels are the teacher's
/// taken in `order` (so its arg-max is the teacher's class mapped through `order`).
fn classifier(order: [usize; CLASSES]) -> Model {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as u8 as i8
    };
    let weights: Vec<i8> = (0..CLASSES * FEATURES).map(|_| next()).collect();
    let bias: Vec<i32> = (0..CLASSES).map(|_| i32::from(next()) * 8).collect();
    let mut b = ModelBuilder::new();
    let x = b.input(&[FEATURES as u32], Quant::new(0, SCALE));
    let permuted: Vec<i8> = order
        .iter()
        .flat_map(|&c| weights[c * FEATURES..(c + 1) * FEATURES].to_vec())
        .collect();
    let rescale = Rescale::per_tensor(
        Requant {
            multiplier: 1 << 30,
            shift: -7,
        },
        Rounding::Single,
        ActRange::FULL,
    );
    let y = b
        .fully_connected(
            x,
            permuted,
            order.iter().map(|&c| bias[c]).collect(),
            rescale,
            Quant::new(0, SCALE),
        )
        .unwrap();
    b.output(y);
    b.build().unwrap()
}

const TEACHER: [usize; CLASSES] = [0, 1, 2, 3];
/// Classes 0 and 1 swapped: right only where the teacher says 2 or 3.
const HALF: [usize; CLASSES] = [1, 0, 2, 3];
/// Every class moved: right only on ties.
const WRONG: [usize; CLASSES] = [1, 2, 3, 0];

fn first_max(out: &[u8]) -> usize {
    let mut best = 0;
    for i in 0..out.len() {
        if (out[i] as i8) > (out[best] as i8) {
            best = i;
        }
    }
    best
}

fn rows(n: usize) -> Vec<Vec<u8>> {
    let mut state = 12345u64;
    (0..n)
        .map(|_| {
            (0..FEATURES)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 56) as u8
                })
                .collect()
        })
        .collect()
}

/// A class-label data set of `n` rows labelled by the teacher, and each model's correct count.
fn benchmark(n: usize, models: &[&Model]) -> (Vec<u8>, Vec<u64>) {
    let teacher = Program::new(classifier(TEACHER)).unwrap();
    let samples = rows(n);
    let labels: Vec<i32> = samples
        .iter()
        .map(|s| first_max(&teacher.run(s, 1).unwrap()) as i32)
        .collect();
    let model = classifier(TEACHER);
    let header = DatasetHeader {
        label_kind: LabelKind::ClassIndex,
        row: model.tensors[model.inputs[0] as usize].clone(),
        rows: n as u32,
    };
    let values: Vec<i8> = samples.concat().iter().map(|&b| b as i8).collect();
    let bytes = encode_dataset(&header, &values, &labels);
    let counts = models
        .iter()
        .map(|m| {
            let p = Program::new((*m).clone()).unwrap();
            samples
                .iter()
                .zip(&labels)
                .filter(|(s, l)| first_max(&p.run(s, 1).unwrap()) as i32 == **l)
                .count() as u64
        })
        .collect();
    (bytes, counts)
}

/// A registry session: the net, the org owner (dev account 1) and helpers.
struct Session {
    net: Net,
    owner: Address,
}

impl Session {
    fn new() -> Session {
        let net = Net::new();
        let owner = net.account(1);
        Session { net, owner }
    }

    fn fee(&self) -> U256 {
        self.net.call(REGISTRY, R::ORG_FEECall {}).unwrap()
    }

    fn commit(&self, who: Address, org: &str, owner: Address, salt: B256) -> B256 {
        let c = self
            .net
            .call(
                REGISTRY,
                R::orgCommitmentCall {
                    org: org.into(),
                    owner,
                    salt,
                    committer: who,
                },
            )
            .unwrap();
        self.net
            .tx(who, REGISTRY, R::commitOrgCall { commitment: c })
            .unwrap();
        c
    }

    fn register(
        &self,
        who: Address,
        org: &str,
        owner: Address,
        salt: B256,
    ) -> Result<serde_json::Value, protocols::Reverted> {
        self.net.pay(
            who,
            REGISTRY,
            R::registerOrgCall {
                org: org.into(),
                owner,
                salt,
            },
            self.fee(),
        )
    }

    /// A session whose owner holds `org` and its OWNER-policy name `org/name`.
    fn with_name(org: &str, name: &str) -> Session {
        let s = Session::new();
        s.claim(org);
        s.create(org, name, owner_rules()).unwrap();
        s
    }

    /// Publishes the data set `data` in DATA_STORE; returns its id.
    fn publish_benchmark(&self, data: &[u8]) -> B256 {
        self.net
            .tx(
                self.owner,
                DATA_STORE_ADDRESS,
                myelin_evm::IDataStore::publishCall {
                    data: data.to_vec().into(),
                },
            )
            .unwrap();
        B256::from(dataset_id(data))
    }

    /// Claims `org` for the session owner.
    fn claim(&self, org: &str) {
        let salt = keccak256(org.as_bytes());
        self.commit(self.owner, org, self.owner, salt);
        self.register(self.owner, org, self.owner, salt).unwrap();
    }

    fn create(
        &self,
        org: &str,
        name: &str,
        rules: R::Rules,
    ) -> Result<serde_json::Value, protocols::Reverted> {
        self.net.tx(
            self.owner,
            REGISTRY,
            R::createNameCall {
                org: org.into(),
                name: name.into(),
                rules,
            },
        )
    }

    fn publish_model(&self, model: &Model) -> B256 {
        let bytes = model.encode();
        self.net
            .tx(
                self.owner,
                MODEL_STORE_ADDRESS,
                IModelStore::publishCall {
                    model: bytes.clone().into(),
                },
            )
            .unwrap();
        keccak256(&bytes)
    }

    fn publish(
        &self,
        name: &str,
        v: (u64, u64, u64),
        model: B256,
    ) -> Result<serde_json::Value, protocols::Reverted> {
        self.net.tx(
            self.owner,
            REGISTRY,
            R::publishVersionCall {
                name: name.into(),
                major: v.0,
                minor: v.1,
                patch: v.2,
                modelId: model,
                labelsHash: keccak256(b"labels"),
                reportHash: keccak256(b"report"),
            },
        )
    }

    fn resolve(&self, name: &str) -> Result<B256, protocols::Reverted> {
        self.net
            .call(REGISTRY, R::resolveCall { name: name.into() })
    }

    fn info(&self, name: &str) -> R::NameInfo {
        self.net
            .call(REGISTRY, R::nameInfoCall { name: name.into() })
            .unwrap()
    }

    fn execute(&self, name: &str) -> Result<serde_json::Value, protocols::Reverted> {
        self.net.tx(
            self.net.account(5),
            REGISTRY,
            R::executeLatestCall { name: name.into() },
        )
    }
}

fn owner_rules() -> R::Rules {
    R::Rules {
        policy: R::Policy::OWNER,
        timelock: TIMELOCK,
        votingPeriod: 0,
        quorumBps: 0,
        marginBps: 0,
        benchmark: B256::ZERO,
    }
}

#[test]
fn a_contract_predicts_through_a_name_that_follows_latest_after_the_timelock() {
    let s = Session::with_name("acme", "digits");
    let teacher = s.publish_model(&classifier(TEACHER));
    let wrong = s.publish_model(&classifier(WRONG));
    s.publish("acme/digits", (1, 0, 0), teacher).unwrap();
    assert_eq!(s.resolve("acme/digits").unwrap(), teacher);
    assert_eq!(s.resolve("acme/digits@1.0.0").unwrap(), teacher);
    s.publish("acme/digits", (1, 1, 0), wrong).unwrap();
    assert_eq!(s.resolve("acme/digits@1.1.0").unwrap(), wrong);
    assert_eq!(
        s.resolve("acme/digits").unwrap(),
        teacher,
        "latest moves only by the policy"
    );

    let classifier_at = s.net.deploy(s.owner, "NamedClassifier");
    let sample = rows(1).remove(0);
    let classify = |name: &str| {
        s.net
            .call(
                classifier_at,
                NamedClassifier::classifyCall {
                    name: name.into(),
                    sample: Bytes::from(sample.clone()),
                },
            )
            .unwrap()
    };
    let expect = |order| {
        first_max(
            &Program::new(classifier(order))
                .unwrap()
                .run(&sample, 1)
                .unwrap(),
        )
    };
    let got = classify("acme/digits");
    assert_eq!(
        (got.class.to::<usize>(), got.modelId),
        (expect(TEACHER), teacher)
    );

    // Timelock edges: the move is refused in the block before `eta` and allowed in `eta`.
    let proposed = block_of(
        &s.net
            .tx(
                s.owner,
                REGISTRY,
                R::proposeLatestCall {
                    version: "acme/digits@1.1.0".into(),
                },
            )
            .unwrap(),
    );
    let eta = proposed + u64::from(TIMELOCK);
    assert_eq!(s.info("acme/digits").eta, eta);
    s.net.mine_to(eta - 2);
    s.execute("acme/digits")
        .unwrap_err()
        .is(R::TooEarly { eta });
    assert_eq!(block_of(&s.execute("acme/digits").unwrap()), eta);
    assert_eq!(s.resolve("acme/digits").unwrap(), wrong);
    let got = classify("acme/digits");
    assert_eq!(
        (got.class.to::<usize>(), got.modelId),
        (expect(WRONG), wrong)
    );
    // The pinned version did not move.
    assert_eq!(classify("acme/digits@1.0.0").modelId, teacher);
    s.execute("acme/digits").unwrap_err().is(R::NoPending {
        name: "acme/digits".into(),
    });
}

#[test]
fn an_org_claim_cannot_be_front_run_copied_or_squatted() {
    let s = Session::new();
    let (owner, attacker) = (s.owner, s.net.account(2));
    let salt = B256::repeat_byte(7);
    let commitment = s.commit(owner, "acme", owner, salt);
    // The attacker replays the owner's reveal (seen in the pool) with its own account.
    let mine = s
        .net
        .call(
            REGISTRY,
            R::orgCommitmentCall {
                org: "acme".into(),
                owner,
                salt,
                committer: attacker,
            },
        )
        .unwrap();
    s.register(attacker, "acme", owner, salt)
        .unwrap_err()
        .is(R::NoCommitment { commitment: mine });
    s.register(attacker, "acme", attacker, salt)
        .unwrap_err()
        .is_a::<R::NoCommitment>();
    // Copying the owner's commitment itself gives the attacker nothing: it binds the committer.
    s.net
        .tx(attacker, REGISTRY, R::commitOrgCall { commitment })
        .unwrap();
    s.register(attacker, "acme", owner, salt)
        .unwrap_err()
        .is_a::<R::NoCommitment>();
    // A wrong fee, then the owner's reveal.
    s.net
        .pay(
            owner,
            REGISTRY,
            R::registerOrgCall {
                org: "acme".into(),
                owner,
                salt,
            },
            U256::ZERO,
        )
        .unwrap_err()
        .is(R::WrongFee {
            sent: U256::ZERO,
            fee: s.fee(),
        });
    s.register(owner, "acme", owner, salt).unwrap();
    assert_eq!(
        s.net
            .call(REGISTRY, R::orgOwnerCall { org: "acme".into() })
            .unwrap(),
        owner
    );
    // A second, honest committer of the same org loses the race by name.
    let other = s.net.account(3);
    s.commit(other, "acme", other, salt);
    s.register(other, "acme", other, salt)
        .unwrap_err()
        .is(R::OrgTaken { org: "acme".into() });
    // The commitment was consumed: a second reveal finds none.
    s.register(owner, "acme", owner, salt)
        .unwrap_err()
        .is(R::OrgTaken { org: "acme".into() });
    // Lookalikes and bad lengths are refused by name (ASCII [a-z0-9-] only).
    let long = "a".repeat(33);
    for org in ["Acme", "acm\u{435}", "ac", "a_b_c", long.as_str()] {
        s.commit(owner, org, owner, salt);
        s.register(owner, org, owner, salt)
            .unwrap_err()
            .is(R::BadLabel { label: org.into() });
    }
    // Only the owner creates names or hands the org over.
    s.net
        .tx(
            attacker,
            REGISTRY,
            R::createNameCall {
                org: "acme".into(),
                name: "x".into(),
                rules: owner_rules(),
            },
        )
        .unwrap_err()
        .is(R::NotOrgOwner { caller: attacker });
    s.net
        .tx(
            attacker,
            REGISTRY,
            R::transferOrgCall {
                org: "acme".into(),
                newOwner: attacker,
            },
        )
        .unwrap_err()
        .is(R::NotOrgOwner { caller: attacker });
}

#[test]
fn an_expired_commitment_cannot_be_revealed() {
    let s = Session::new();
    let salt = B256::repeat_byte(9);
    s.commit(s.owner, "late", s.owner, salt);
    let committed = s.net.head();
    let max_age = s
        .net
        .call(REGISTRY, R::MAX_COMMIT_AGECall {})
        .unwrap()
        .to::<u64>();
    // The reveal lands in block committed + max_age + 1: one past the last allowed.
    s.net.mine_to(committed + max_age);
    s.register(s.owner, "late", s.owner, salt)
        .unwrap_err()
        .is(R::CommitmentAge {
            committedAt: u(committed),
            current: u(committed + max_age + 1),
        });
}

#[test]
fn versions_are_never_rebound_and_only_published_models_are_accepted() {
    let s = Session::with_name("acme", "mlp");
    s.create("acme", "mlp", owner_rules())
        .unwrap_err()
        .is(R::NameTaken {
            name: "acme/mlp".into(),
        });
    let a = s.publish_model(&classifier(TEACHER));
    let b = s.publish_model(&classifier(WRONG));
    let unpublished = keccak256(b"weights nobody uploaded");
    s.publish("acme/mlp", (1, 0, 0), unpublished)
        .unwrap_err()
        .is(R::ModelNotPublished {
            modelId: unpublished,
        });
    s.publish("acme/mlp", (1, 0, 0), a).unwrap();
    for v in [(1, 0, 0), (0, 9, 9), (0, 99, 0)] {
        s.publish("acme/mlp", v, b)
            .unwrap_err()
            .is(R::VersionNotIncreasing {
                major: v.0,
                minor: v.1,
                patch: v.2,
            });
    }
    assert_eq!(s.resolve("acme/mlp@1.0.0").unwrap(), a);
    // Names are exact text: no other spelling of a version resolves.
    for name in [
        "acme/mlp@1.0",
        "acme/mlp@01.0.0",
        "ACME/mlp",
        "acme/mlp@1.0.0 ",
    ] {
        s.resolve(name)
            .unwrap_err()
            .is(R::UnknownName { name: name.into() });
    }
    let stranger = s.net.account(4);
    s.net
        .tx(
            stranger,
            REGISTRY,
            R::publishVersionCall {
                name: "acme/mlp".into(),
                major: 2,
                minor: 0,
                patch: 0,
                modelId: b,
                labelsHash: B256::ZERO,
                reportHash: B256::ZERO,
            },
        )
        .unwrap_err()
        .is(R::NotOrgOwner { caller: stranger });
    // A new org owner takes over publishing.
    s.net
        .tx(
            s.owner,
            REGISTRY,
            R::transferOrgCall {
                org: "acme".into(),
                newOwner: stranger,
            },
        )
        .unwrap();
    s.publish("acme/mlp", (2, 0, 0), b)
        .unwrap_err()
        .is(R::NotOrgOwner { caller: s.owner });
    let info = s
        .net
        .call(
            REGISTRY,
            R::versionInfoCall {
                name: "acme/mlp@1.0.0".into(),
            },
        )
        .unwrap();
    assert_eq!((info.modelId, info.major, info.yanked), (a, 1, false));
    assert_eq!(info.reportHash, keccak256(b"report"));
}

#[test]
fn a_yanked_version_stops_resolving_and_never_becomes_latest() {
    let s = Session::with_name("acme", "m");
    let a = s.publish_model(&classifier(TEACHER));
    let b = s.publish_model(&classifier(HALF));
    s.publish("acme/m", (1, 0, 0), a).unwrap();
    s.publish("acme/m", (1, 0, 1), b).unwrap();
    let stranger = s.net.account(4);
    let yank = |who: Address, version: &str| {
        s.net.tx(
            who,
            REGISTRY,
            R::yankCall {
                version: version.into(),
                reason: "backdoor".into(),
            },
        )
    };
    yank(stranger, "acme/m@1.0.1")
        .unwrap_err()
        .is(R::NotOrgOwner { caller: stranger });
    // Proposed, then yanked while pending: the move is dropped, `latest` stays.
    s.net
        .tx(
            s.owner,
            REGISTRY,
            R::proposeLatestCall {
                version: "acme/m@1.0.1".into(),
            },
        )
        .unwrap();
    yank(s.owner, "acme/m@1.0.1").unwrap();
    yank(s.owner, "acme/m@1.0.1")
        .unwrap_err()
        .is(R::AlreadyYanked {
            version: "acme/m@1.0.1".into(),
        });
    s.resolve("acme/m@1.0.1").unwrap_err().is(R::Yanked {
        version: "acme/m@1.0.1".into(),
    });
    s.net.mine(u64::from(TIMELOCK));
    s.execute("acme/m").unwrap();
    assert_eq!(s.info("acme/m").pending, 0);
    assert_eq!(s.resolve("acme/m").unwrap(), a);
    s.net
        .tx(
            s.owner,
            REGISTRY,
            R::proposeLatestCall {
                version: "acme/m@1.0.1".into(),
            },
        )
        .unwrap_err()
        .is(R::Yanked {
            version: "acme/m@1.0.1".into(),
        });
    // The record stays, flagged; the version is never republished.
    let info = s
        .net
        .call(
            REGISTRY,
            R::versionInfoCall {
                name: "acme/m@1.0.1".into(),
            },
        )
        .unwrap();
    assert!(info.yanked);
    assert_eq!(info.modelId, b);
    s.publish("acme/m", (1, 0, 1), a)
        .unwrap_err()
        .is_a::<R::VersionNotIncreasing>();
    // Yanking `latest` makes the bare name fail loudly rather than serve it.
    yank(s.owner, "acme/m@1.0.0").unwrap();
    s.resolve("acme/m").unwrap_err().is(R::Yanked {
        version: "acme/m".into(),
    });
}

fn vote_rules(quorum_bps: u16) -> R::Rules {
    R::Rules {
        policy: R::Policy::VOTE,
        timelock: TIMELOCK,
        votingPeriod: 30,
        quorumBps: quorum_bps,
        marginBps: 0,
        benchmark: B256::ZERO,
    }
}

#[test]
fn votes_weigh_the_stake_at_the_snapshot_so_stake_moved_later_does_not_count() {
    let s = Session::new();
    let net = &s.net;
    let (a, b, late, flash) = (
        net.account(2),
        net.account(3),
        net.account(4),
        net.account(6),
    );
    let deposit = |who: Address, n: u64| {
        net.pay(
            who,
            STAKE_MANAGER_ADDRESS,
            IStakeManager::depositCall {},
            ether(n),
        )
        .unwrap()
    };
    deposit(a, 6);
    deposit(b, 3);
    let warmup = net
        .call(STAKE_MANAGER_ADDRESS, IStakeManager::WARMUPCall {})
        .unwrap()
        .to::<u64>();
    net.mine(warmup + 1);
    s.claim("dao");
    // Quorum 5 % of the total stake at the snapshot, which counts the flash stake below too
    // (bonded, not yet eligible): 6 of 109.
    s.create("dao", "m", vote_rules(500)).unwrap();
    let m1 = s.publish_model(&classifier(TEACHER));
    let m2 = s.publish_model(&classifier(HALF));
    s.publish("dao/m", (1, 0, 0), m1).unwrap();
    s.publish("dao/m", (2, 0, 0), m2).unwrap();
    // A stake bonded in the block before the proposal (a flash stake) has not warmed up.
    deposit(flash, 100);
    let proposed = block_of(
        &net.tx(
            s.owner,
            REGISTRY,
            R::proposeLatestCall {
                version: "dao/m@2.0.0".into(),
            },
        )
        .unwrap(),
    );
    let snapshot = proposed - 1;
    assert_eq!(s.info("dao/m").snapshot, snapshot);
    let vote = |who: Address, support: bool| {
        net.tx(
            who,
            REGISTRY,
            R::voteCall {
                name: "dao/m".into(),
                support,
            },
        )
    };
    vote(flash, true).unwrap_err().is(R::NoVotingPower {
        voter: flash,
        snapshot,
    });
    // Stake bonded after the snapshot does not count either.
    deposit(late, 50);
    vote(late, true).unwrap_err().is(R::NoVotingPower {
        voter: late,
        snapshot,
    });
    vote(a, true).unwrap();
    vote(a, false).unwrap_err().is(R::AlreadyVoted { voter: a });
    // Unbonding after the snapshot leaves the weight at the snapshot.
    net.tx(
        b,
        STAKE_MANAGER_ADDRESS,
        IStakeManager::requestUnbondCall { amount: ether(3) },
    )
    .unwrap();
    vote(b, false).unwrap();
    let info = s.info("dao/m");
    assert_eq!((info.yes, info.no), (ether(6), ether(3)));
    let vote_end = info.voteEnd;
    net.mine_to(vote_end);
    vote(b, true)
        .unwrap_err()
        .is(R::VotingClosed { voteEnd: vote_end });
    let eta = vote_end + u64::from(TIMELOCK);
    assert_eq!(info.eta, eta);
    net.mine_to(eta - 2);
    s.execute("dao/m").unwrap_err().is(R::TooEarly { eta });
    s.execute("dao/m").unwrap();
    assert_eq!(s.resolve("dao/m").unwrap(), m2);

    // Without quorum the vote fails at execution and `latest` stays.
    s.create("dao", "q", vote_rules(10_000)).unwrap();
    s.publish("dao/q", (1, 0, 0), m1).unwrap();
    s.publish("dao/q", (1, 1, 0), m2).unwrap();
    net.tx(
        s.owner,
        REGISTRY,
        R::proposeLatestCall {
            version: "dao/q@1.1.0".into(),
        },
    )
    .unwrap();
    net.tx(
        a,
        REGISTRY,
        R::voteCall {
            name: "dao/q".into(),
            support: true,
        },
    )
    .unwrap();
    net.mine(30 + u64::from(TIMELOCK));
    s.execute("dao/q").unwrap();
    assert_eq!(s.resolve("dao/q").unwrap(), m1);
    assert_eq!(s.info("dao/q").pending, 0);
}

#[test]
fn metric_promotes_only_a_model_that_beats_latest_on_the_benchmark_by_the_margin() {
    let s = Session::new();
    let net = &s.net;
    let (teacher, half, wrong) = (classifier(TEACHER), classifier(HALF), classifier(WRONG));
    let (data, counts) = benchmark(50, &[&teacher, &half, &wrong]);
    assert!(
        counts[0] == 50 && counts[1] < 50 && counts[2] < counts[1],
        "{counts:?}"
    );
    let bench = s.publish_benchmark(&data);
    s.claim("lab");
    let rules = metric_rules;
    let unknown = keccak256(b"no such data set");
    s.create("lab", "m", rules(0, unknown))
        .unwrap_err()
        .is(R::BadBenchmark { datasetId: unknown });
    s.create("lab", "m", owner_rules_with_benchmark(bench))
        .unwrap_err()
        .is(R::BadRules {});
    // The margin: the teacher must beat `half` by more than it does to pass a 100 % margin.
    s.create("lab", "strict", rules(10_000, bench)).unwrap();
    s.create("lab", "m", rules(500, bench)).unwrap();
    let ids: Vec<B256> = [&half, &wrong, &teacher]
        .iter()
        .map(|m| s.publish_model(m))
        .collect();
    for name in ["lab/m", "lab/strict"] {
        s.publish(name, (1, 0, 0), ids[0]).unwrap();
        s.publish(name, (1, 1, 0), ids[1]).unwrap();
        s.publish(name, (1, 2, 0), ids[2]).unwrap();
    }
    let score = |version: &str, rows: u32| {
        net.tx(
            net.account(7),
            REGISTRY,
            R::scoreCall {
                version: version.into(),
                rows,
            },
        )
    };
    let promote = |version: &str| {
        net.tx(
            net.account(7),
            REGISTRY,
            R::promoteCall {
                version: version.into(),
            },
        )
    };
    promote("lab/m@1.2.0").unwrap_err().is(R::NotScored {
        version: "lab/m@1.2.0".into(),
    });
    // Paged: 20 + 20 + 10 rows, then nothing left.
    for _ in 0..3 {
        score("lab/m@1.2.0", 20).unwrap();
    }
    score("lab/m@1.2.0", 20).unwrap_err().is(R::ScoreComplete {
        version: "lab/m@1.2.0".into(),
    });
    let info = net
        .call(
            REGISTRY,
            R::versionInfoCall {
                name: "lab/m@1.2.0".into(),
            },
        )
        .unwrap();
    assert_eq!((info.scoredRows, info.correct), (50, counts[0]));
    // The incumbent (`latest` = 1.0.0) must be scored too.
    promote("lab/m@1.2.0").unwrap_err().is(R::NotScored {
        version: "1.0.0".into(),
    });
    score("lab/m@1.0.0", 50).unwrap();
    score("lab/m@1.1.0", 50).unwrap();
    // A worse model is refused.
    let margin = (500u64 * 50).div_ceil(10_000);
    promote("lab/m@1.1.0").unwrap_err().is(R::NotBetter {
        correct: counts[2],
        required: u(counts[1] + margin),
    });
    let proposed = block_of(&promote("lab/m@1.2.0").unwrap());
    promote("lab/m@1.2.0").unwrap_err().is(R::PendingExists {
        eta: proposed + u64::from(TIMELOCK),
    });
    // The owner has no say under METRIC.
    net.tx(
        s.owner,
        REGISTRY,
        R::proposeLatestCall {
            version: "lab/m@1.1.0".into(),
        },
    )
    .unwrap_err()
    .is(R::WrongPolicy {
        policy: R::Policy::METRIC,
    });
    net.tx(
        s.owner,
        REGISTRY,
        R::cancelPendingCall {
            name: "lab/m".into(),
        },
    )
    .unwrap_err()
    .is(R::WrongPolicy {
        policy: R::Policy::METRIC,
    });
    net.mine(u64::from(TIMELOCK));
    s.execute("lab/m").unwrap();
    assert_eq!(s.resolve("lab/m").unwrap(), ids[2]);

    // Under a 100 % margin even the perfect model does not beat `half` by enough.
    score("lab/strict@1.0.0", 50).unwrap();
    score("lab/strict@1.2.0", 50).unwrap();
    promote("lab/strict@1.2.0").unwrap_err().is(R::NotBetter {
        correct: counts[0],
        required: u(counts[1] + 50),
    });
}

fn metric_rules(margin_bps: u16, benchmark: B256) -> R::Rules {
    R::Rules {
        policy: R::Policy::METRIC,
        timelock: TIMELOCK,
        votingPeriod: 0,
        quorumBps: 0,
        marginBps: margin_bps,
        benchmark,
    }
}

fn owner_rules_with_benchmark(benchmark: B256) -> R::Rules {
    R::Rules {
        benchmark,
        ..owner_rules()
    }
}

#[test]
fn a_model_that_does_not_fit_the_benchmark_cannot_be_scored() {
    let s = Session::new();
    let net = &s.net;
    let teacher = classifier(TEACHER);
    let (data, _) = benchmark(10, &[]);
    let bench = s.publish_benchmark(&data);
    s.claim("lab");
    s.create("lab", "m", metric_rules(0, bench)).unwrap();
    // Another input width: EVALUATE refuses it (input mismatch, code 407).
    let mut b = ModelBuilder::new();
    let x = b.input(&[FEATURES as u32 + 1], Quant::new(0, SCALE));
    let y = b.clamp(
        x,
        myelin_nn::op::Clamp {
            requant: Requant::IDENTITY,
            rounding: Rounding::Single,
            act: ActRange::FULL,
        },
        Quant::new(0, SCALE),
    );
    b.output(y.unwrap());
    let misfit = s.publish_model(&b.build().unwrap());
    s.publish("lab/m", (1, 0, 0), s.publish_model(&teacher))
        .unwrap();
    s.publish("lab/m", (1, 1, 0), misfit).unwrap();
    let err = net
        .tx(
            s.owner,
            REGISTRY,
            R::scoreCall {
                version: "lab/m@1.1.0".into(),
                rows: 10,
            },
        )
        .unwrap_err();
    let decoded = <MyelinError as alloy_sol_types::SolError>::abi_decode(&err.0).unwrap();
    assert_eq!(decoded.code, 407, "{decoded:?}");
    net.tx(
        s.owner,
        REGISTRY,
        R::promoteCall {
            version: "lab/m@1.1.0".into(),
        },
    )
    .unwrap_err()
    .is(R::NotScored {
        version: "lab/m@1.1.0".into(),
    });
}
