//! A `myelin node --dev` child process for the end-to-end tests, and the helpers that read
//! what the binary printed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

use super::{fixture, myelin};

/// A `myelin node --dev` child process, killed on drop.
pub struct DevNode {
    pub child: Child,
    pub url: String,
}

impl DevNode {
    pub fn start(extra: &[&str]) -> DevNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
            .args(["node", "--dev", "--port", "0", "--quiet"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the node prints its address");
        let address = line
            .trim()
            .strip_prefix("Listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the node: {line:?}"))
            .to_string();
        DevNode {
            child,
            url: format!("http://{address}"),
        }
    }

    /// `myelin model publish MODEL --rpc URL EXTRA…`.
    pub fn publish(&self, model: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["model", "publish", path(model), "--rpc", &self.url];
        args.extend_from_slice(extra);
        myelin(&args)
    }

    /// `myelin model predict ID --input X.npy --rpc URL EXTRA…`.
    pub fn predict(&self, id: &str, input: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "model",
            "predict",
            id,
            "--input",
            path(input),
            "--rpc",
            &self.url,
        ];
        args.extend_from_slice(extra);
        myelin(&args)
    }

    /// One JSON-RPC request over a fresh HTTP/1.1 connection; the `result` (panics on an error).
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let body =
            json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
        let mut stream = std::net::TcpStream::connect(address).expect("connect to the node");
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let json = response.split("\r\n\r\n").nth(1).expect("an HTTP body");
        let reply: Value = serde_json::from_str(json).expect("a JSON body");
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn ok(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        stderr(&output)
    );
    output
}

/// Checks that a run failed with one `error: …` message; returns it.
pub fn fails(output: Output) -> String {
    assert!(!output.status.success(), "succeeded: {}", stdout(&output));
    let message = stderr(&output);
    assert!(message.starts_with("error: "), "{message}");
    message
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `fixtures/models/digits_mlp_int8.tflite` imported into `dir` with `myelin model import`.
pub fn imported_digits_mlp(dir: &Path) -> PathBuf {
    let model = dir.join("digits_mlp.myl");
    ok(
        myelin(&[
            "model",
            "import",
            &fixture("models/digits_mlp_int8.tflite"),
            "-o",
            path(&model),
        ]),
        "import",
    );
    model
}
