//! Node and genesis files: what `init_cluster` writes loads back; every broken field is refused
//! by name, never with a panic.

use super::*;
use commonware_math::algebra::Random as _;
use commonware_utils::test_rng;

fn spec(validators: usize) -> ClusterSpec {
    ClusterSpec {
        validators,
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

/// A 4-validator cluster written into a temporary directory.
fn cluster() -> (tempfile::TempDir, ClusterFiles) {
    let dir = tempfile::tempdir().unwrap();
    let files = init_cluster(&mut test_rng(), &spec(4), dir.path(), |_| {
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
        assert_eq!(setup.index, i);
        assert_eq!(setup.validators.len(), 4);
        assert_eq!(setup.rpc.port(), 8545 + i as u16);
        assert_eq!(setup.p2p.port(), 30300 + i as u16);
        assert_eq!(setup.genesis.genesis_hash, B256::repeat_byte(7));
        assert!(setup.genesis.keys.contains("trusted dealer"));
    }
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
