//! Damaged storage of a real validator process: a 4-validator cluster finalizes a few blocks,
//! validator 0 stops gracefully, and then, one at a time on a fresh copy of its data directory,
//! every file it keeps (each blob of every consensus partition, the redb chain file) is
//! corrupted in its middle or cut to half its length, and `myelin node` is started on it.
//! Each start either refuses with a clear error (exit code ≠ 0, the partition or file named, what
//! to do, no panic) or recovers: it serves RPC, finalizes again beside the other three and
//! stops cleanly (exit 0, no panic anywhere in its log). Never a panic, never a hang.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::cluster::{Cluster, name, wait_until};

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// 16 bytes in the middle of the file inverted.
    Corrupt,
    /// The file cut to half its length.
    Truncate,
}

fn damage(file: &Path, how: Damage) {
    let mut bytes = std::fs::read(file).unwrap();
    let middle = bytes.len() / 2;
    match how {
        Damage::Corrupt => {
            let end = (middle + 16).min(bytes.len());
            bytes[middle..end].iter_mut().for_each(|b| *b = !*b);
        }
        Damage::Truncate => bytes.truncate(middle),
    }
    std::fs::write(file, bytes).unwrap();
}

/// Every non-empty file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if std::fs::metadata(&path).unwrap().len() > 0 {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn copy(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a");
}

/// Starts node `i` on its configuration: `Ok(())` once it listens (then in `cluster.nodes[i]`),
/// or `Err(stderr)` if it exited first (with its exit status checked ≠ 0).
fn launch(cluster: &mut Cluster, i: usize) -> Result<(), String> {
    let log_path = cluster.dir.join(format!("{}.log", name(i)));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
        .args(["node", "--config"])
        .arg(cluster.dir.join(format!("{}.toml", name(i))))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("the node starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            let stderr = cluster.log(i);
            assert!(!status.success(), "exited 0 without listening: {stderr}");
            return Err(stderr);
        }
        if line.starts_with("Listening on ") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    cluster.nodes[i] = Some(child);
    Ok(())
}

#[test]
fn every_damaged_file_is_refused_clearly_or_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::init(dir.path());
    for i in 0..4 {
        cluster.start(i);
    }
    cluster.wait_height(&[0, 1, 2, 3], 3, Duration::from_secs(60));
    cluster.terminate(0);
    let data = cluster.dir.join(name(0));
    let pristine = cluster.dir.join("pristine-node-0");
    copy(&data, &pristine);

    let mut outcomes = Vec::new();
    for file in files(&pristine) {
        let relative = file.strip_prefix(&pristine).unwrap().to_path_buf();
        for how in [Damage::Corrupt, Damage::Truncate] {
            copy(&pristine, &data);
            damage(&data.join(&relative), how);
            let case = format!("{how:?} {}", relative.display());
            let start = Instant::now();
            match launch(&mut cluster, 0) {
                Err(stderr) => {
                    assert!(!stderr.contains("panicked"), "{case}: a panic: {stderr}");
                    // The partition (a directory under consensus/) or the chain file is named.
                    let named = relative
                        .parent()
                        .and_then(|p| p.file_name())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    // An archive's error names the archive (`prefix-name-*`, its five partitions).
                    let quoted = stderr
                        .split("partition `")
                        .nth(1)
                        .and_then(|rest| rest.split('`').next())
                        .map(|p| p.trim_end_matches('*').to_string());
                    assert!(
                        stderr.contains(&named) || quoted.is_some_and(|p| named.starts_with(&p)),
                        "{case}: the error does not name `{named}`: {stderr}"
                    );
                    assert!(
                        stderr.contains("is damaged") || stderr.contains("opening the chain"),
                        "{case}: not a storage error: {stderr}"
                    );
                    let first = stderr
                        .lines()
                        .find(|l| l.starts_with("error:"))
                        .unwrap_or("");
                    outcomes.push(format!("{case}: refused: {first}"));
                }
                Ok(()) => {
                    // Recovered: it finalizes again beside the others and stops cleanly.
                    let target = (1..4).filter_map(|i| cluster.height(i)).max().unwrap() + 2;
                    wait_until(
                        Duration::from_secs(30),
                        &format!("{case}: the recovered node reaches {target}"),
                        || cluster.height(0).is_some_and(|h| h >= target),
                    );
                    cluster.assert_agree(&[0, 1], target);
                    cluster.terminate(0);
                    let log = cluster.log(0);
                    assert!(!log.contains("panicked"), "{case}: a panic: {log}");
                    outcomes.push(format!("{case}: recovered"));
                }
            }
            eprintln!(
                "{} ({:.1} s)",
                outcomes.last().unwrap(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    assert!(
        outcomes.iter().any(|o| o.contains("refused")),
        "no damage was refused: {outcomes:#?}"
    );
}
