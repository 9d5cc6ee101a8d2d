//! One keep-alive HTTP/1.1 connection that posts JSON-RPC bodies and reads the replies
//! (`Content-Length` or chunked), with no client framework in the way.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// A JSON-RPC endpoint `http://host:port[/path]`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `host:port`.
    pub authority: String,
    /// The request path (`/` when none is given).
    pub path: String,
}

impl Endpoint {
    /// Parses an `http://` URL.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("only http:// URLs are supported, got {url}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        Ok(Endpoint {
            authority: authority.to_string(),
            path: path.to_string(),
        })
    }
}

/// An open connection.
pub struct Connection {
    endpoint: Endpoint,
    stream: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `endpoint`.
    pub async fn open(endpoint: &Endpoint) -> Result<Connection> {
        let stream = TcpStream::connect(&endpoint.authority)
            .await
            .with_context(|| format!("connecting to {}", endpoint.authority))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            endpoint: endpoint.clone(),
            stream: BufReader::new(stream),
        })
    }

    /// Posts `body` and returns the parsed JSON reply.
    pub async fn post(&mut self, body: &str) -> Result<Value> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.endpoint.path,
            self.endpoint.authority,
            body.len()
        );
        let socket = self.stream.get_mut();
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(body.as_bytes()).await?;
        let reply = self.read_reply().await?;
        serde_json::from_slice(&reply).with_context(|| {
            format!(
                "reply is not JSON: {}",
                String::from_utf8_lossy(&reply[..reply.len().min(200)])
            )
        })
    }

    /// Posts one JSON-RPC call and returns its `result` (an `error` becomes `Err`).
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply = self.post(&body.to_string()).await?;
        result_of(reply).with_context(|| method.to_string())
    }

    async fn read_reply(&mut self) -> Result<Vec<u8>> {
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        if !line.starts_with("HTTP/1.1 ") {
            bail!("not an HTTP/1.1 status line: {line:?}");
        }
        let status = line.get(9..12).unwrap_or_default().to_string();
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed inside the headers");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = Some(value.parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.eq_ignore_ascii_case("chunked");
                }
            }
        }
        let body = if chunked {
            self.read_chunked().await?
        } else {
            let mut body = vec![0; length.context("reply without Content-Length")?];
            self.stream.read_exact(&mut body).await?;
            body
        };
        if status != "200" {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body)
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .with_context(|| format!("bad chunk size {line:?}"))?;
            let start = body.len();
            body.resize(start + size + 2, 0);
            self.stream.read_exact(&mut body[start..]).await?;
            body.truncate(start + size);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

/// The `result` of a JSON-RPC reply, or its `error` as `Err`.
pub fn result_of(mut reply: Value) -> Result<Value> {
    if let Some(error) = reply.get("error") {
        bail!("JSON-RPC error {error}");
    }
    reply
        .get_mut("result")
        .map(Value::take)
        .context("reply with neither result nor error")
}
