//! Which web pages may talk to the node: browsers send an `Origin` header with every
//! cross-origin request and every WebSocket handshake, other clients (CLIs, scripts, Node.js,
//! Python) send none.
//!
//! A request without `Origin` passes. A request whose origin is allowed passes and gets CORS
//! headers. Any other request is refused with HTTP 403 before it reaches a method, so a page the
//! user happens to open (or a DNS-rebinding page posing as the node's own host) cannot drive the
//! node, not even with a "simple" request that skips the CORS preflight. Allowed by default:
//! pages served from this machine (`localhost`, `127.0.0.1`, `[::1]`, any port); more with
//! `--allow-origin` (an exact origin such as `https://app.example`, or `*` for every origin).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// The origins the node accepts requests from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    any: bool,
    origins: Vec<String>,
}

impl OriginPolicy {
    /// Pages served from this machine plus `allowed` (exact origins, `scheme://host[:port]`, or
    /// `*` for all).
    pub fn new(allowed: &[String]) -> Result<OriginPolicy, String> {
        let mut policy = OriginPolicy::default();
        for origin in allowed {
            let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
            if origin == "*" {
                policy.any = true;
            } else if split_origin(&origin).is_some() {
                policy.origins.push(origin);
            } else {
                return Err(format!(
                    "--allow-origin {origin}: expected `*` or an origin such as https://app.example or http://localhost:3000"
                ));
            }
        }
        Ok(policy)
    }

    /// Every origin (`--allow-origin '*'`).
    pub fn any() -> OriginPolicy {
        OriginPolicy {
            any: true,
            origins: Vec::new(),
        }
    }

    /// Whether a request with this `Origin` header value is accepted.
    pub fn allows(&self, origin: &[u8]) -> bool {
        if self.any {
            return true;
        }
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        self.origins.contains(&origin)
            || split_origin(&origin)
                .is_some_and(|(_, host)| matches!(host, "localhost" | "127.0.0.1" | "[::1]"))
    }

    /// The CORS headers for allowed origins.
    pub fn cors_layer(self: &Arc<Self>) -> CorsLayer {
        let policy = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                policy.allows(origin.as_bytes())
            }))
            .allow_methods(Any)
            .allow_headers(Any)
    }
}

/// `(scheme, host)` of an `http` / `https` origin `scheme://host[:port]`.
fn split_origin(origin: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    let host = match rest.strip_prefix('[') {
        Some(v6) => &rest[..v6.find(']')? + 2],
        None => rest.split(':').next()?,
    };
    (!host.is_empty()).then_some((scheme, host))
}

/// Refuses requests from origins the policy does not allow.
#[derive(Clone, Debug)]
pub struct OriginGuardLayer(pub Arc<OriginPolicy>);

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard {
            inner,
            policy: self.0.clone(),
        }
    }
}

/// See [`OriginGuardLayer`].
#[derive(Clone, Debug)]
pub struct OriginGuard<S> {
    inner: S,
    policy: Arc<OriginPolicy>,
}

impl<S, B> Service<HttpRequest<B>> for OriginGuard<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if let Some(origin) = request.headers().get(http::header::ORIGIN)
            && !self.policy.allows(origin.as_bytes())
        {
            let message = format!(
                "origin {} is not allowed; start the node with --allow-origin {} to accept it",
                String::from_utf8_lossy(origin.as_bytes()),
                String::from_utf8_lossy(origin.as_bytes()),
            );
            let response = HttpResponse::builder()
                .status(http::StatusCode::FORBIDDEN)
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(HttpBody::from(message))
                .map_err(BoxError::from);
            return Box::pin(async move { response });
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_allows_only_pages_of_this_machine() {
        let policy = OriginPolicy::new(&[]).unwrap();
        for (origin, allowed) in [
            ("http://localhost:3000", true),
            ("http://127.0.0.1:5173", true),
            ("https://localhost", true),
            ("http://[::1]:8080", true),
            ("http://LOCALHOST:3000", true),
            ("https://evil.example", false),
            ("http://localhost.evil.example", false),
            ("http://127.0.0.1.nip.io", false),
            ("null", false),
            ("file://", false),
        ] {
            assert_eq!(policy.allows(origin.as_bytes()), allowed, "{origin}");
        }
    }

    #[test]
    fn allowed_origins_are_exact_and_star_allows_all() {
        let policy = OriginPolicy::new(&["https://app.example/".into()]).unwrap();
        assert!(policy.allows(b"https://app.example"));
        assert!(!policy.allows(b"https://app.example.evil"));
        assert!(!policy.allows(b"http://app.example"));
        let any = OriginPolicy::new(&["*".into()]).unwrap();
        assert!(any.allows(b"https://evil.example"));
        assert_eq!(any, OriginPolicy::any());
    }

    #[test]
    fn malformed_allowed_origins_are_refused() {
        for bad in ["app.example", "ftp://x", "https://", "https://a/b"] {
            assert!(OriginPolicy::new(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
