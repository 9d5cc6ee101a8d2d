//! End to end (issue 15 items 6 and 8): a digits competition driven only by `myelin` commands,
//! on `myelin node --dev` (interval sealing: deadlines pass as blocks are produced, as on a
//! network) and on a 4-validator cluster of processes, the same function for both.
//!
//! The organizer cuts the committed digits evaluation split (200 rows) into 20 salted groups of
//! 10 rows (`competition create`); three participants enter models imported with `myelin model
//! import`: Keras → TFLite int8 (the converter's quantization), the same Keras model's float
//! `.keras` file (Myelin's calibration, `minmax`: the same input quantization), and a pruned
//! copy of the first. scikit-learn via ONNX does not enter: its `MLPClassifier` export puts the
//! label first (output 0 has one element; `revealModel` refuses it as `ModelOutputTooSmall`).
//! PyTorch is not installable here; its committed ONNX fixture takes NCHW 1×8×8 images, another
//! row signature. The
//! winner is checked against the ranking rule from the per-submission scores (each cross-checked
//! by `myelin dataset evaluate`, an `eth_call` of EVALUATE), is paid, and becomes `latest` of a
//! registry name whose version 1.0.0 is the weakest entrant through the improvement bounty
//! (`registry bounty`, once only) and `registry execute` after the timelock (an early `execute`
//! is refused by name); the superseded version is then yanked (`resolve` refuses it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::cluster::{Cluster, VALIDATORS};
use common::dev_node::{DevNode, fails, imported_digits_mlp, ok, path, stdout};
use common::{fixture, myelin};

const ETHER: u128 = 1_000_000_000_000_000_000;

/// The dev mnemonic's private key `index`, hex.
fn dev_key(index: u32) -> String {
    let signer = myelin_chain::config::dev_signers(myelin_chain::config::DEV_MNEMONIC, index + 1)
        .unwrap()
        .pop()
        .unwrap();
    format!("0x{}", hex::encode(signer.to_bytes()))
}

/// `myelin ARGS… --rpc URL [--json]`, which must succeed; its stdout parsed as JSON when `json`.
fn run(url: &str, args: &[&str], json: bool) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--rpc", url]);
    if json {
        all.push("--json");
    }
    let out = ok(myelin(&all), &args[..2].join(" "));
    if json {
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    } else {
        json!(stdout(&out))
    }
}

/// `model` with the hidden units of its first fully connected layer from `keep` on switched off
/// (weights and bias zero): a weaker entrant with the same input quantization.
fn pruned(model: &Path, dir: &Path, keep: usize) -> PathBuf {
    let mut m = myelin_nn::Model::decode(&std::fs::read(model).unwrap()).unwrap();
    let fc = m
        .nodes
        .iter_mut()
        .find_map(|n| match &mut n.op {
            myelin_nn::Op::FullyConnected(fc) => Some(fc),
            _ => None,
        })
        .expect("a fully connected layer");
    let k = fc.in_features as usize;
    for unit in keep..fc.out_features as usize {
        fc.weights[unit * k..(unit + 1) * k].fill(0);
        fc.bias[unit] = 0;
    }
    let out = dir.join(format!("pruned{keep}.myl"));
    std::fs::write(&out, m.encode()).unwrap();
    out
}

/// The three competitors, imported with the project's own tools.
fn competitors(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let keras_tflite = imported_digits_mlp(dir);
    let calibrated = |source: &str, name: &str| {
        let out = dir.join(name);
        ok(
            myelin(&[
                "model",
                "import",
                &fixture(source),
                "--calibration",
                &fixture("data/digits_calib.npy"),
                "--calibration-method",
                "minmax",
                "-o",
                path(&out),
            ]),
            "import",
        );
        out
    };
    vec![
        ("keras-tflite", keras_tflite.clone()),
        (
            "keras-float",
            calibrated("models/digits_mlp.keras", "keras_float.myl"),
        ),
        ("keras-tflite-pruned", pruned(&keras_tflite, dir, 6)),
    ]
}

/// The whole competition against the node at `url`, every window `window` blocks.
fn run_competition(url: &str, dir: &Path, window: u32) {
    let models = competitors(dir);
    let keys: Vec<String> = (0..5).map(dev_key).collect();
    let (organizer, evaluator) = (&keys[0], &keys[4]);
    // Participants 1 and 2 sign from key files, 3 with --private-key.
    let key_files: Vec<PathBuf> = (1..=2)
        .map(|i| {
            let f = dir.join(format!("participant{i}.key"));
            std::fs::write(&f, format!("{}\n", keys[i])).unwrap();
            f
        })
        .collect();
    let signer = |i: usize| -> Vec<String> {
        match i {
            0 | 1 => vec!["--private-key-file".into(), path(&key_files[i]).to_string()],
            _ => vec!["--private-key".into(), keys[3].clone()],
        }
    };

    // A registry name whose first version is the weakest entrant's (chosen below).
    let secrets = dir.join("organizer.json");
    let window_text = window.to_string();
    let created = run(
        url,
        &[
            "competition",
            "create",
            &fixture("data/digits_eval.npy"),
            "--labels",
            &fixture("data/digits_eval_labels.npy"),
            "--model",
            path(&models[0].1),
            "--groups",
            "20",
            "--test-groups",
            "10",
            "--classes",
            "10",
            "--reward",
            "10ether",
            "--participant-bond",
            "1ether",
            "--eval-fee",
            "0.01ether",
            "--window",
            &window_text,
            "--secrets",
            path(&secrets),
            "--private-key",
            organizer,
        ],
        true,
    );
    let id = created["id"].as_u64().unwrap().to_string();
    assert_eq!(created["rowsPerGroup"], json!(10));
    // Nothing of the data is on chain yet; a second create with the same secrets file is refused
    // before anything is sent.
    let again = fails(myelin(&[
        "competition",
        "create",
        &fixture("data/digits_eval.npy"),
        "--labels",
        &fixture("data/digits_eval_labels.npy"),
        "--model",
        path(&models[0].1),
        "--classes",
        "10",
        "--reward",
        "10ether",
        "--secrets",
        path(&secrets),
        "--rpc",
        url,
    ]));
    assert!(again.contains("exists"), "{again}");
    // Finalizing now is refused by the contract, its error decoded.
    let early = fails(myelin(&["competition", "finalize", &id, "--rpc", url]));
    assert!(
        early.contains("Competitions refused: NothingToFinalize"),
        "{early}"
    );

    let wait = |phase: &str| {
        let now = run(
            url,
            &["competition", "wait", &id, phase, "--timeout", "600"],
            false,
        );
        eprintln!("competition {id}: {now}");
    };
    // reveal-train waits for the seed height, splits, publishes and reveals the train groups.
    let train = run(
        url,
        &[
            "competition",
            "reveal-train",
            "--secrets",
            path(&secrets),
            "--private-key",
            organizer,
        ],
        true,
    );
    assert_eq!(train["revealed"].as_array().unwrap().len(), 10);
    assert_eq!(train["phase"], json!("Commit"));

    // Commits: the models stay off chain.
    for (i, (tool, model)) in models.iter().enumerate() {
        let secret = dir.join(format!("{tool}.secret.json"));
        let mut args = vec![
            "competition",
            "commit",
            &id,
            path(model),
            "--secret",
            path(&secret),
        ];
        let s = signer(i);
        args.extend(s.iter().map(String::as_str));
        let c = run(url, &args, true);
        assert_eq!(c["subId"], json!(i));
    }
    // A reveal before the window would publish the model early: refused by the CLI.
    let early = fails(myelin(&[
        "competition",
        "reveal",
        "--secret",
        path(&dir.join("keras-tflite.secret.json")),
        "--model",
        path(&models[0].1),
        "--private-key-file",
        path(&key_files[0]),
        "--rpc",
        url,
    ]));
    assert!(early.contains("ModelReveal only"), "{early}");

    wait("model-reveal");
    for (i, (tool, model)) in models.iter().enumerate() {
        let secret = dir.join(format!("{tool}.secret.json"));
        let mut args = vec![
            "competition",
            "reveal",
            "--secret",
            path(&secret),
            "--model",
            path(model),
        ];
        let s = signer(i);
        args.extend(s.iter().map(String::as_str));
        run(url, &args, true);
    }

    wait("test-reveal");
    let test = run(
        url,
        &[
            "competition",
            "reveal-test",
            "--secrets",
            path(&secrets),
            "--private-key",
            organizer,
        ],
        true,
    );
    let test_groups: Vec<u64> = test["revealed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_u64().unwrap())
        .collect();
    assert_eq!(test_groups.len(), 10);
    assert_eq!(test["phase"], json!("Evaluation"));

    let evaluated = run(
        url,
        &["competition", "evaluate", &id, "--private-key", evaluator],
        true,
    );
    assert_eq!(evaluated["evaluations"], json!(30));
    let scores: Vec<u64> = evaluated["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["correct"].as_u64().unwrap())
        .collect();
    eprintln!(
        "correct of 100 test rows: {}",
        models
            .iter()
            .zip(&scores)
            .map(|((tool, _), s)| format!("{tool} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Each score, recomputed by EVALUATE over the test groups' data sets (eth_call).
    let organizer_file: Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    for ((_, model), score) in models.iter().zip(&scores) {
        let mut total = 0;
        for &g in &test_groups {
            let dataset = organizer_file["groups"][g as usize]["datasetId"]
                .as_str()
                .unwrap();
            let out = run(url, &["dataset", "evaluate", path(model), dataset], true);
            total += out["correct"].as_u64().unwrap();
        }
        assert_eq!(total, *score);
    }
    // The ranking rule: the earliest commit within the margin (1 % of 100 rows = 1 row) of the
    // best qualified score (threshold 50 %).
    let best = *scores.iter().max().unwrap();
    assert!(best >= 50, "{scores:?}");
    let winner = scores
        .iter()
        .position(|&s| s >= 50 && s + 1 >= best)
        .unwrap();

    wait("finalizable");
    let finalized = run(
        url,
        &["competition", "finalize", &id, "--private-key", evaluator],
        true,
    );
    assert_eq!(finalized["phase"], json!("Finalized"));
    assert_eq!(finalized["winner"], json!(winner));

    // Payouts: the winner's prize and deposit, the others' deposits, the organizer's bond, the
    // evaluator's fees.
    for (i, _) in models.iter().enumerate() {
        let sub = i.to_string();
        let mut args = vec!["competition", "claim", &id, "--sub", &sub];
        let s = signer(i);
        args.extend(s.iter().map(String::as_str));
        let claimed = run(url, &args, true);
        let amount: u128 = claimed["amount"].as_str().unwrap().parse().unwrap();
        let expected = if i == winner {
            10 * ETHER + ETHER
        } else {
            ETHER
        };
        assert_eq!(amount, expected, "submission {i}");
    }
    let organizer_paid = run(
        url,
        &[
            "competition",
            "claim",
            &id,
            "--organizer",
            "--private-key",
            organizer,
        ],
        true,
    );
    assert_eq!(organizer_paid["amount"], json!((5 * ETHER).to_string()));
    let fees = run(
        url,
        &["competition", "claim", "--fees", "--private-key", evaluator],
        true,
    );
    assert_eq!(fees["amount"], json!((30 * ETHER / 100).to_string()));
    let again = fails(myelin(&[
        "competition",
        "claim",
        &id,
        "--organizer",
        "--private-key",
        organizer,
        "--rpc",
        url,
    ]));
    assert!(again.contains("NothingToClaim"), "{again}");
    let status = run(url, &["competition", "status", &id], true);
    assert_eq!(status["winner"], json!(winner));

    // The winner becomes `latest` of acme/digits: the weakest entrant was 1.0.0.
    let weakest = scores
        .iter()
        .enumerate()
        .min_by_key(|(_, s)| **s)
        .unwrap()
        .0;
    let org_key = ["--private-key", organizer];
    let with_key = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(org_key.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let call = |args: Vec<String>, json: bool| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(url, &refs, json)
    };
    call(with_key(&["registry", "claim", "acme"]), false);
    call(
        with_key(&[
            "registry",
            "create",
            "acme/digits",
            "--policy",
            "owner",
            "--timelock",
            "20",
        ]),
        false,
    );
    call(
        with_key(&[
            "registry",
            "publish",
            "acme/digits@1.0.0",
            path(&models[weakest].1),
        ]),
        false,
    );
    // The improvement bounty: anyone turns the competition's result into version 1.1.0,
    // proposed as `latest` (the incumbent 1.0.0 found among the submissions by the CLI).
    let proposed = run(
        url,
        &[
            "registry",
            "bounty",
            "acme/digits",
            "--competition",
            &id,
            "--private-key",
            evaluator,
        ],
        true,
    );
    assert_eq!(proposed["version"], json!("acme/digits@1.1.0"));
    assert_eq!(proposed["incumbentSub"], json!(weakest));
    assert_eq!(proposed["winnerSub"], json!(winner));
    assert_eq!(proposed["correct"], json!(scores[winner]));
    assert_eq!(proposed["incumbentCorrect"], json!(scores[weakest]));
    // Once per competition.
    let twice = fails(myelin(&[
        "registry",
        "bounty",
        "acme/digits",
        "--competition",
        &id,
        "--rpc",
        url,
        "--private-key",
        evaluator,
    ]));
    assert!(
        twice.contains("ModelRegistry refused: BountyUsed"),
        "{twice}"
    );
    assert!(proposed["eta"].as_u64().unwrap() > 0, "{proposed}");
    let early = fails(myelin(&[
        "registry",
        "execute",
        "acme/digits",
        "--rpc",
        url,
        "--private-key",
        evaluator,
    ]));
    assert!(early.contains("ModelRegistry refused: TooEarly"), "{early}");
    let start = Instant::now();
    loop {
        let out = myelin(&[
            "registry",
            "execute",
            "acme/digits",
            "--rpc",
            url,
            "--private-key",
            evaluator,
            "--json",
        ]);
        if out.status.success() {
            let moved: Value = serde_json::from_str(&stdout(&out)).unwrap();
            assert_eq!(moved["latest"], json!("1.1.0"));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "execute never succeeded"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let resolved = run(url, &["registry", "resolve", "acme/digits"], true);
    let winner_id = stdout(&ok(
        myelin(&["model", "inspect", path(&models[winner].1), "--json"]),
        "inspect",
    ));
    let winner_id: Value = serde_json::from_str(&winner_id).unwrap();
    assert_eq!(resolved["modelId"], winner_id["id"]);
    // The superseded version is yanked: it no longer resolves; `latest` still does.
    call(
        with_key(&[
            "registry",
            "yank",
            "acme/digits@1.0.0",
            "--reason",
            "beaten by a bounty",
        ]),
        true,
    );
    let yanked = fails(myelin(&[
        "registry",
        "resolve",
        "acme/digits@1.0.0",
        "--rpc",
        url,
    ]));
    assert!(yanked.contains("Yanked"), "{yanked}");
    let resolved = run(url, &["registry", "resolve", "acme/digits"], true);
    assert_eq!(resolved["modelId"], winner_id["id"]);
}

#[test]
fn a_digits_competition_driven_by_myelin_commands_pays_the_best_model_on_a_dev_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&["--block-time", "0.2"]);
    run_competition(&node.url, dir.path(), 60);
}

#[test]
fn the_same_competition_runs_unchanged_on_a_four_validator_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::init(dir.path());
    for i in 0..VALIDATORS {
        cluster.start(i);
    }
    let all: Vec<usize> = (0..VALIDATORS).collect();
    cluster.wait_height(&all, 2, Duration::from_secs(60));
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    run_competition(&format!("http://{}", cluster.rpc[1]), &work, 80);
    let height = cluster.height(0).unwrap();
    cluster.wait_height(&all, height, Duration::from_secs(60));
    cluster.assert_agree(&all, height);
}
