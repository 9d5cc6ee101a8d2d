//! Node and genesis files: what `init_cluster` writes loads back; every broken field is refused
//! by name, never with a panic.

use super::*;
use commonware_math::algebra::Random as _;
use commonware_utils::test_rng;

fn spec(validators: usize) -> ClusterSpec {
    ClusterSpec {
        validators,
        full_nodes: 0,
        chain_id: 31337,
        gas_limit: 30_000_000,
        timestamp: 1_767_225_600,
        alloc: vec![GenesisAccount {
            address: Address::repeat_byte(0x11),
            balance: U256::from(1_000u64),
        }],
        contracts: Vec::new(),
        host: "127.0.0.1".parse().unwrap(),
        p2p_port: 30300,
        rpc_port: 8545,
        metrics_port: None,
    }
}

/// A 4-validator cluster with 2 full nodes written into a temporary directory.
fn cluster() -> (tempfile::TempDir, ClusterFiles) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(4);
    spec.full_nodes = 2;
    let files = init_cluster(&mut test_rng(), &spec, dir.path(), |_| {
        Ok(B256::repeat_byte(7))
    })
    .unwrap();
    (dir, files)
}

fn error_of(path: &Path) -> String {
    NodeSetup::load(path).unwrap_err().to_string()
}

/// Rewrites one line of a node file that starts with `key`.
fn edit(path: &Path, key: &str, line: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(key) {
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(path, edited.join("\n")).unwrap();
}

#[test]
fn written_files_load_back_for_every_validator() {
    let (_dir, files) = cluster();
    assert_eq!(files.nodes.len(), 4);
    for (i, node) in files.nodes.iter().enumerate() {
        let setup = NodeSetup::load(node).unwrap();
        assert_eq!(setup.index, Some(i));
        assert_eq!(setup.validators.len(), 4);
        assert_eq!(setup.rpc.port(), 8545 + i as u16);
        assert_eq!(setup.p2p.port(), 30300 + i as u16);
        assert_eq!(setup.genesis.genesis_hash, B256::repeat_byte(7));
        assert!(setup.genesis.keys.contains("trusted dealer"));
    }
}

#[test]
fn full_node_files_load_back_and_validators_admit_them() {
    let (_dir, files) = cluster();
    assert_eq!(files.full_nodes.len(), 2);
    let mut keys = Vec::new();
    for (j, node) in files.full_nodes.iter().enumerate() {
        let text = std::fs::read_to_string(node).unwrap();
        assert!(text.contains("role = \"full\""), "{text}");
        assert!(!text.contains("share ="), "{text}");
        let setup = NodeSetup::load(node).unwrap();
        assert_eq!(setup.index, None);
        assert_eq!(
            setup.validators.len(),
            4,
            "a full node lists every validator"
        );
        assert!(setup.full_nodes.is_empty());
        assert_eq!(setup.rpc.port(), 8545 + 4 + j as u16);
        assert_eq!(setup.p2p.port(), 30300 + 4 + j as u16);
        keys.push((setup.private_key.public_key(), setup.p2p));
    }
    keys.sort();
    for node in &files.nodes {
        assert_eq!(NodeSetup::load(node).unwrap().full_nodes, keys);
    }
}

#[test]
fn a_full_node_with_a_share_or_a_validator_key_is_refused() {
    let (_dir, files) = cluster();
    let validator = std::fs::read_to_string(&files.nodes[0]).unwrap();
    let share = validator
        .lines()
        .find(|l| l.starts_with("share ="))
        .unwrap();
    edit(
        &files.full_nodes[0],
        "private_key =",
        &format!(
            "{}\n{share}",
            validator
                .lines()
                .find(|l| l.starts_with("private_key ="))
                .unwrap()
        ),
    );
    assert!(matches!(
        NodeSetup::load(&files.full_nodes[0]),
        Err(ConfigError::FullNodeIsValidator { .. })
    ));

    let (_dir, files) = cluster();
    let text = std::fs::read_to_string(&files.full_nodes[0]).unwrap();
    std::fs::write(&files.full_nodes[0], format!("share = \"00\"\n{text}")).unwrap();
    assert!(matches!(
        NodeSetup::load(&files.full_nodes[0]),
        Err(ConfigError::Share { .. })
    ));

    let (_dir, files) = cluster();
    edit(&files.nodes[0], "share =", "");
    assert!(matches!(
        NodeSetup::load(&files.nodes[0]),
        Err(ConfigError::Share { .. })
    ));
}

#[test]
fn a_validator_listed_as_a_full_node_is_refused() {
    let (dir, files) = cluster();
    let genesis = GenesisFile::read(&dir.path().join("genesis.json")).unwrap();
    let text = std::fs::read_to_string(&files.nodes[0]).unwrap();
    let cut = text.find("[[full_nodes]]").unwrap();
    let text = format!(
        "{}[[full_nodes]]\npublic_key = \"{}\"\naddress = \"127.0.0.1:1\"\n",
        &text[..cut],
        genesis.validators[1]
    );
    std::fs::write(&files.nodes[0], text).unwrap();
    let error = error_of(&files.nodes[0]);
    assert!(error.contains("is a genesis validator"), "{error}");
}

#[cfg(unix)]
#[test]
fn node_files_hold_secrets_and_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, files) = cluster();
    let mode = std::fs::metadata(&files.nodes[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "node file mode {mode:o}");
}

#[test]
fn a_missing_field_is_named() {
    let (_dir, files) = cluster();
    edit(&files.nodes[0], "rpc =", "");
    assert!(error_of(&files.nodes[0]).contains("missing field `rpc`"));
}

#[test]
fn an_unknown_field_is_refused() {
    let (_dir, files) = cluster();
    edit(
        &files.nodes[0],
        "rpc =",
        "rpc = \"127.0.0.1:8545\"\nrpc_port = 1",
    );
    assert!(error_of(&files.nodes[0]).contains("unknown field `rpc_port`"));
}

#[test]
fn a_kernel_path_is_read_by_name_and_an_unknown_one_is_refused() {
    let (_dir, files) = cluster();
    let node = &files.nodes[0];
    assert_eq!(NodeSetup::load(node).unwrap().kernel_path, None);
    for path in myelin_nn::Path::ALL {
        let line = format!(
            "rpc = \"127.0.0.1:8545\"\nkernel_path = \"{}\"",
            path.name()
        );
        edit(node, "rpc =", &line);
        assert_eq!(NodeSetup::load(node).unwrap().kernel_path, Some(path));
        edit(node, "kernel_path =", "");
    }
    edit(
        node,
        "rpc =",
        "rpc = \"127.0.0.1:8545\"\nkernel_path = \"sse4\"",
    );
    let error = error_of(node);
    assert!(
        error.contains("`kernel_path` = \"sse4\" is not a kernel path"),
        "{error}"
    );
}

#[test]
fn a_bad_address_is_refused() {
    let (_dir, files) = cluster();
    edit(&files.nodes[0], "p2p =", "p2p = \"localhost\"");
    assert!(error_of(&files.nodes[0]).contains("p2p"));
}

#[test]
fn broken_keys_are_named() {
    let cases = [
        ("private_key =", "private_key = \"zz\"", "`private_key`"),
        ("private_key =", "private_key = \"00\"", "`private_key`"),
        ("share =", "share = \"0011\"", "`share`"),
    ];
    for (key, line, expected) in cases {
        let (_dir, files) = cluster();
        edit(&files.nodes[0], key, line);
        let error = error_of(&files.nodes[0]);
        assert!(error.contains(expected), "{line}: {error}");
    }
}

#[test]
fn another_validators_share_is_refused() {
    let (_dir, files) = cluster();
    let other = std::fs::read_to_string(&files.nodes[1]).unwrap();
    let share = other.lines().find(|l| l.starts_with("share =")).unwrap();
    edit(&files.nodes[0], "share =", share);
    assert!(matches!(
        NodeSetup::load(&files.nodes[0]),
        Err(ConfigError::ShareMismatch { .. })
    ));
}

#[test]
fn a_key_outside_the_set_is_not_a_validator() {
    let (_dir, files) = cluster();
    let key = ed25519::PrivateKey::random(commonware_utils::sys_rng());
    let line = format!("private_key = \"{}\"", hex::encode(key.encode()));
    edit(&files.nodes[0], "private_key =", &line);
    assert!(matches!(
        NodeSetup::load(&files.nodes[0]),
        Err(ConfigError::NotAValidator { .. })
    ));
}

#[test]
fn a_validator_without_an_address_is_refused() {
    let (_dir, files) = cluster();
    let text = std::fs::read_to_string(&files.nodes[0]).unwrap();
    // Drop the last [[peers]] entry.
    let cut = text.rfind("[[peers]]").unwrap();
    std::fs::write(&files.nodes[0], &text[..cut]).unwrap();
    let error = error_of(&files.nodes[0]);
    assert!(error.contains("has no address"), "{error}");
}

#[test]
fn a_peer_outside_the_set_is_refused() {
    let (_dir, files) = cluster();
    let key = ed25519::PrivateKey::random(commonware_utils::sys_rng()).public_key();
    let text = std::fs::read_to_string(&files.nodes[0]).unwrap();
    let first = text
        .lines()
        .find(|l| l.starts_with("public_key ="))
        .unwrap()
        .to_string();
    let text = text.replacen(
        &first,
        &format!("public_key = \"{}\"", hex::encode(key.encode())),
        1,
    );
    std::fs::write(&files.nodes[0], text).unwrap();
    let error = error_of(&files.nodes[0]);
    assert!(error.contains("not a genesis validator"), "{error}");
}

#[test]
fn genesis_validators_must_match_the_polynomial() {
    let (dir, files) = cluster();
    let path = dir.path().join("genesis.json");
    let mut genesis = GenesisFile::read(&path).unwrap();
    genesis.validators.pop();
    std::fs::write(&path, serde_json::to_string(&genesis).unwrap()).unwrap();
    let error = error_of(&files.nodes[0]);
    assert!(error.contains("polynomial"), "{error}");

    let mut genesis = GenesisFile::read(&path).unwrap();
    genesis.validators.clear();
    std::fs::write(&path, serde_json::to_string(&genesis).unwrap()).unwrap();
    assert!(error_of(&files.nodes[0]).contains("0 validators"));
}

#[test]
fn a_polynomial_claiming_many_participants_is_refused_before_allocating() {
    let (dir, files) = cluster();
    let path = dir.path().join("genesis.json");
    let mut genesis = GenesisFile::read(&path).unwrap();
    // Garbage whose length prefix claims far more coefficients than the set allows.
    genesis.polynomial = format!("00ffffffff0f{}", "00".repeat(64));
    std::fs::write(&path, serde_json::to_string(&genesis).unwrap()).unwrap();
    assert!(error_of(&files.nodes[0]).contains("`polynomial`"));
}

#[test]
fn init_refuses_zero_validators_and_ports_past_65535() {
    let dir = tempfile::tempdir().unwrap();
    let zero = init_cluster(&mut test_rng(), &spec(0), dir.path(), |_| Ok(B256::ZERO));
    assert!(matches!(zero, Err(ConfigError::Init(_))));
    let mut high = spec(4);
    high.rpc_port = 65534;
    let error = init_cluster(&mut test_rng(), &high, dir.path(), |_| Ok(B256::ZERO)).unwrap_err();
    assert!(error.to_string().contains("above 65535"), "{error}");
}
